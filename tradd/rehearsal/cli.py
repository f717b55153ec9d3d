"""`python -m tradd.rehearsal`: run a rehearsal, print its table, exit 0 (pass) or 1.

Exit codes: 0 passed, 1 failed (the seed that reproduces it is printed), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from tradd.rehearsal.report import summary
from tradd.rehearsal.runner import Runner, describe
from tradd.rehearsal.stack import Options


def parse(argv: list[str]) -> tuple[Options, Path | None]:
    p = argparse.ArgumentParser(
        prog="python -m tradd.rehearsal",
        description="Run tradd run against tradd simgw for simulated days with seeded faults, "
        "checking the ledger against the gateway, control answers, tradability and resources.",
    )
    p.add_argument("--days", type=int, default=5, help="simulated sessions (default 5)")
    p.add_argument("--seed", type=int, default=1, help="seed of the fault schedule")
    p.add_argument("--mode", choices=("foreground", "daemon"), default="foreground",
                   help="tradd run in the foreground or detached (--daemon)")  # fmt: skip
    p.add_argument("--speed", type=float, default=300.0,
                   help="simulated seconds per real second (default 300)")  # fmt: skip
    p.add_argument("--no-faults", action="store_true", help="no faults: the soak")
    p.add_argument("--start", default="2006-02-17", help="first simulated day (sample data)")
    p.add_argument("--status-limit", type=float, default=1.0,
                   help="seconds status and flatten must answer within (default 1)")  # fmt: skip
    p.add_argument("--tradable", type=float, default=0.99,
                   help="share of open-market time each strategy must trade in")  # fmt: skip
    p.add_argument("--growth", type=float, default=0.05, help="soak: RSS growth limit")
    p.add_argument("--flood", type=int, default=300, help="idle control connections")
    p.add_argument("--recovery", type=float, default=20.0,
                   help="seconds after a fault before a strategy must trade again")  # fmt: skip
    p.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir)")
    a = p.parse_args(argv)
    if a.days < 1 or a.speed <= 0 or a.flood < 0 or a.recovery < 0:
        p.error("--days and --speed must be positive, --flood and --recovery not negative")
    try:
        start = date.fromisoformat(a.start)
    except ValueError:
        p.error(f"--start {a.start!r}: not a date (YYYY-MM-DD)")
    options = Options(
        days=a.days, seed=a.seed, mode=a.mode, speed=a.speed, faults=not a.no_faults,
        start=start, status_limit=a.status_limit, tradable_target=a.tradable,
        growth_limit=a.growth, flood=a.flood, recovery=a.recovery,
        warmup=30.0 if not a.no_faults else 2 * 23_400 / a.speed,  # the soak: two sessions
    )  # fmt: skip
    return options, a.workdir


def main(argv: list[str] | None = None) -> int:
    options, workdir = parse(sys.argv[1:] if argv is None else argv)
    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        print(f"error: --workdir {workdir}: not empty (a rehearsal starts afresh)", file=sys.stderr)
        return 2
    try:
        runner = Runner(options, workdir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    days = ", ".join(runner.days)
    print(f"rehearsal: work dir {runner.workdir}; {len(runner.outcome.events)} faults "
          f"scheduled over {options.days} sessions ({days})", flush=True)  # fmt: skip
    outcome = runner.run()
    text, passed = summary(outcome)
    (runner.workdir / "report.txt").write_text(text + "\n")
    (runner.workdir / "report.json").write_text(json.dumps(describe(outcome), indent=2) + "\n")
    print(text)
    return 0 if passed else 1
