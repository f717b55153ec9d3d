"""Benchmark: wall time of `tradd scan` over 20 symbols x the 3 shipped strategies, daily bars.

Only four real daily series ship with tradd (GOOG, ORCL, NVDA, YHOO), so the 20 symbols are
those four under five names each (`GOOG`, `GOOG2` .. `GOOG5`) in a temporary data
directory: 60 backtests of the default period (the last 365 days of data), the same work as
20 distinct tickers. `tradd scan` runs as a fresh process (start-up included) with
`--workers 2` and `--no-cache`; the bench checks scan.json has all 60 rows and no failure.
A last round without `--no-cache` times the same scan with every backtest from the cache.

    .venv/bin/python -m bench.scan_bench [--workers N] [--repeat N] [--tiny]

`--tiny` (CI: tests/bench/test_research_benches.py): the four real symbols once, one round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.daemon_bench import write_results

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tradd" / "sample_data"
REAL = ("GOOG", "ORCL", "NVDA", "YHOO")
COPIES = 5
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "scan.json"
TINY_OUTPUT = ROOT / "bench" / "results" / "tiny" / "scan.json"


def make_data_dir(target: Path, copies: int = COPIES) -> list[str]:
    """Twenty symbol files from the four real ones (`copies` of each)."""
    symbols = []
    for real in REAL:
        for copy in range(1, copies + 1):
            name = real if copy == 1 else f"{real}{copy}"
            shutil.copy(DATA / f"{real}.1d.csv", target / f"{name}.1d.csv")
            symbols.append(name)
    return symbols


def scan_once(
    data_dir: Path, output: Path, symbols: list[str], workers: int, cache: bool = False
) -> float:
    """One `tradd scan`; `cache` False (`--no-cache`): every backtest runs, as the rounds
    share a database and would otherwise all but the first come from the cache."""
    tradd = str(Path(sys.executable).with_name("tradd"))
    cmd = [tradd, "scan", "--config", "etc/tradd.toml", "--data-dir", str(data_dir),
           "--symbols", ",".join(symbols), "--strategies", "all",
           "--workers", str(workers), "--output", str(output),
           *([] if cache else ["--no-cache"])]  # fmt: skip
    env = {**os.environ, "TRADD_DATABASE__URL": f"sqlite:///{output.parent / 'runs.db'}"}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"scan failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def check(output: Path, symbols: list[str]) -> dict[str, Any]:
    document = json.loads((output / "scan.json").read_text())
    rows = document["rows"]
    failed = [r for r in rows if r.get("error")]
    strategies = len({r["strategy"] for r in rows})  # `all`: what the package holds today
    if len(rows) != len(symbols) * strategies or failed:
        expected = len(symbols) * strategies
        sys.exit(f"expected {expected} good rows, got {len(rows)} ({len(failed)} failed)")
    return {"rows": len(rows), "strategies": strategies, "period": document.get("period")}


def run(args: argparse.Namespace) -> dict[str, Any]:
    times = []
    with tempfile.TemporaryDirectory(prefix="tradd-scan-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        symbols = make_data_dir(data_dir, 1 if args.tiny else COPIES)
        for round_ in range(args.repeat):
            output = Path(tmp) / f"scan{round_}"
            times.append(scan_once(data_dir, output, symbols, args.workers))
            shape = check(output, symbols)
        warm = scan_once(data_dir, Path(tmp) / "warm", symbols, args.workers, cache=True)
        check(Path(tmp) / "warm", symbols)
    return {
        "symbols": len(symbols),
        "strategies": shape["strategies"],
        "backtests": shape["rows"],
        "period": shape["period"],
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "wall_seconds": [round(t, 2) for t in times],
        "best_wall_seconds": round(min(times), 2),
        "backtests_per_second": round(shape["rows"] / min(times), 1),
        "warm_wall_seconds": round(warm, 2),
        "warm_note": "every backtest from the cache (the same scan once more, without --no-cache)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--tiny", action="store_true", help="4 symbols, one round (CI)")
    args = parser.parse_args()
    args.output = args.output or (TINY_OUTPUT if args.tiny else DEFAULT_OUTPUT)
    if args.tiny:
        args.repeat = 1
    write_results(run(args), args.output)


if __name__ == "__main__":
    main()
