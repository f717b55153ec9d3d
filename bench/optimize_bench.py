"""Benchmark: `tradd optimize --method grid` against plain Backtrader `optstrategy`.

Both run as fresh processes from this one (start-up included), on the same grid
(fast 5..50/5 x slow 20..200/10, SMA cross, shipped GOOG daily bars, all cores), and
their final portfolio values must be identical. Prints a table, one column per engine
(seconds, combos/s, speed-up over optstrategy, final values differing), and the load
average before each round (the machine may be shared).
Then times 100 Bayesian trials on ~10 years of daily data (ORCL 2005-2014).

    .venv/bin/python bench/optimize_bench.py [--repeat N] [--skip-bayesian] [--tiny]

`--tiny` (what CI runs, tests/bench/test_research_benches.py): a 2x2 grid and 3 Bayesian
trials, so the script cannot rot; its figures mean nothing. A mismatch between the two
engines' final values fails the run (exit 1) in either mode.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tradd" / "sample_data"
STRATEGY = "strategies.sma_cross.SmaCross"
FAST = list(range(5, 51, 5))
SLOW = list(range(20, 201, 10))
TINY_FAST, TINY_SLOW = [5, 10], [20, 30]


@dataclass(frozen=True)
class Timing:
    """Wall seconds, and CPU seconds (user + system) of the command and every process it
    waited for: the CPU figure moves less with the load of a shared machine."""

    wall: float
    cpu: float


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str]) -> tuple[Timing, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = Timing(time.perf_counter() - start, _cpu_of_children() - cpu)
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def plain_backtrader(fast: list[int], slow: list[int]) -> tuple[Timing, dict[str, float]]:
    spec = {
        "csv": str(DATA / "GOOG.1d.csv"),
        "strategy": STRATEGY,
        "grid": {"fast": fast, "slow": slow, "threshold": [0.0]},
    }
    elapsed, out = _timed(
        # As a module from the checkout, like every bench: run as a script, bench/ would be
        # sys.path[0], where a module could hide a top-level package (tests/bench/test_layout.py).
        [sys.executable, "-m", "bench.plain_optstrategy", json.dumps(spec)]
    )
    return elapsed, json.loads(out)


def tradd_optimize(*args: str) -> Timing:
    """Seconds for one `tradd optimize` run with the shipped config and strategy."""
    tradd = str(Path(sys.executable).with_name("tradd"))
    base = [tradd, "optimize", "--config", "etc/tradd.toml", "--strategy", STRATEGY]
    return _timed([*base, *args])[0]


def tradd_grid(
    output: Path, fast: list[int], slow: list[int], *extra: str
) -> tuple[Timing, dict[str, float]]:
    """Its timing and the final value of each combination run in Backtrader (with a kernel:
    the confirmed ones)."""
    elapsed = tradd_optimize(
        *extra,
        "--symbols",
        "GOOG",
        "--method",
        "grid",
        "--param",
        f"fast={fast[0]}:{fast[-1]}:5",
        "--param",
        f"slow={slow[0]}:{slow[-1]}:10",
        "--param",
        "threshold=0.0",
        "--output",
        str(output),
    )
    finals = {}
    with (output / "results.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["state"] == "complete":
                key = f"{row['fast']},{row['slow']},{float(row['threshold'])}"
                finals[key] = float(row["final_value"])
    return elapsed, finals


def tradd_bayesian(output: Path, trials: int, end: str) -> Timing:
    return tradd_optimize(
        "--symbols",
        "ORCL",
        "--start",
        "2005-01-01",
        "--end",
        end,
        "--method",
        "bayesian",
        "--trials",
        str(trials),
        "--seed",
        "7",
        "--params-file",
        "etc/optimize/sma_cross.toml",
        "--output",
        str(output),
    )


@dataclass(frozen=True)
class Measured:
    """One column of the grid table: an engine's run of the grid."""

    name: str
    timing: Timing
    finals: dict[str, float]
    partial: bool = False
    """Reports only some combinations (a kernel's confirmed best): those must match."""


def grid_columns(tmp: Path, fast: list[int], slow: list[int]) -> list[Measured]:
    """The grid run by each engine, plain optstrategy first (the reference). Another engine
    (tradd with a kernel) is one more entry here and one more column in the table."""
    plain_t, plain = plain_backtrader(fast, slow)
    reference = {k.rsplit(",", 1)[0] + ",0.0": v for k, v in plain.items()}
    tradd_t, ours = tradd_grid(tmp / "grid", fast, slow, "--no-kernel")
    kernel_t, confirmed = tradd_grid(tmp / "kernel", fast, slow)
    return [
        Measured("plain optstrategy", plain_t, reference),
        Measured("tradd, no kernel", tradd_t, ours),
        Measured("tradd, kernel", kernel_t, confirmed, partial=True),
    ]


def differing(reference: dict[str, float], measured: Measured) -> int:
    """Combinations whose final value differs from the reference's (or is missing, unless
    the column reports only some)."""
    other = measured.finals
    extra = other.keys() - reference.keys()
    missing = 0 if measured.partial else len(reference.keys() - other.keys())
    wrong = sum(1 for k, v in reference.items() if k in other and abs(v - other[k]) > 1e-6)
    return len(extra) + missing + wrong


def grid_table(columns: list[Measured]) -> tuple[list[str], bool]:
    """The grid's figures, one column per engine; and whether every engine matched the
    reference (the first column) on every final value."""
    reference = columns[0]
    rows: list[tuple[str, list[str]]] = [
        ("combinations run in Backtrader", [str(len(c.finals)) for c in columns]),
        ("seconds, end to end", [f"{c.timing.wall:.2f}" for c in columns]),
        ("grid combinations/s", [f"{len(reference.finals) / c.timing.wall:.1f}" for c in columns]),
        ("x plain optstrategy", [f"{reference.timing.wall / c.timing.wall:.2f}x" for c in columns]),
        ("CPU seconds (all processes)", [f"{c.timing.cpu:.2f}" for c in columns]),
        (
            "x plain optstrategy, CPU",
            [f"{reference.timing.cpu / c.timing.cpu:.2f}x" for c in columns],
        ),
        ("final values differing", [str(differing(reference.finals, c)) for c in columns]),
    ]
    width = max(len(label) for label, _ in rows)
    cells = [max(len(c.name), *(len(r[1][i]) for r in rows)) for i, c in enumerate(columns)]
    names = [c.name.rjust(w) for c, w in zip(columns, cells, strict=True)]
    header = " | ".join([" " * width, *names])
    lines = [header, "-" * len(header)]
    for label, values in rows:
        padded = [v.rjust(w) for v, w in zip(values, cells, strict=True)]
        lines.append(" | ".join([label.ljust(width), *padded]))
    same = all(differing(reference.finals, c) == 0 for c in columns[1:])
    return lines, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-bayesian", action="store_true")
    parser.add_argument("--tiny", action="store_true", help="a 2x2 grid and 3 trials (CI)")
    args = parser.parse_args()
    fast, slow = (TINY_FAST, TINY_SLOW) if args.tiny else (FAST, SLOW)
    trials, end = (3, "2006-12-31") if args.tiny else (100, "2014-12-31")
    print(f"cores: {os.cpu_count()}; grid: {len(fast)}x{len(slow)} on GOOG daily")
    failed = False
    for round_ in range(args.repeat):
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            columns = grid_columns(Path(tmp), fast, slow)
        lines, same = grid_table(columns)
        print(f"[{round_ + 1}] load average before the round: {load:.2f}")
        print("\n".join(lines))
        failed = failed or not same
        print(f"[{round_ + 1}] identical final values: {'yes' if same else 'NO'}")
    if not args.skip_bayesian:
        with tempfile.TemporaryDirectory() as tmp:
            bayes_s = tradd_bayesian(Path(tmp) / "bayes", trials, end).wall
        print(f"bayesian: {trials} trials on ORCL 2005-{end[:4]} daily in {bayes_s:.2f}s")
    if failed:
        sys.exit("tradd optimize and plain optstrategy disagree")


if __name__ == "__main__":
    main()
