"""Benchmark: the optimizer's two-stage search (kernel screen + Backtrader confirmation).

Everything runs as fresh processes from this one (start-up included), on all cores,
after one untimed run that lets numba compile the kernels (once per checkout: the
compiled code is cached in `tradd/research/kernels/__pycache__`, about 10 s):

1. A 10,000-combination SmaCross grid (fast 5..104 x slow 110..209) on 10 years of ORCL
   daily bars (2005-2014): `tradd optimize` screens with the kernel and confirms the top
   20 in Backtrader. Against plain Backtrader `optstrategy` on the same grid, estimated
   from a measured 100-combination sub-grid (every 10th fast x every 10th slow; the full
   grid would take over an hour), and the peak memory (PSS of the whole process tree).
   The top 20's final values must equal plain Backtrader's on the same combinations.
2. The 174-combination grid of `make bench-optimize` (GOOG daily), with the kernel and
   with `--no-kernel`, against plain `optstrategy`; the best final value must agree.
3. 100 Bayesian trials on 10 years of daily bars (ORCL 2005-2014), with the kernel.

    .venv/bin/python -m bench.kernel_bench [--tiny]

`--tiny` (what CI runs, tests/bench/test_research_benches.py): 2x2 grids over two years,
a 1x1 sample, 3 Bayesian trials: the figures mean nothing, the parity checks still fail
the run (exit 1).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tradd" / "sample_data"
STRATEGY = "strategies.sma_cross.SmaCross"
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Sizes:
    fast: range
    slow: range
    sample_step: int
    small_fast: range
    small_slow: range
    trials: int
    end: str
    confirm: str = "20"
    """Tiny: fewer than its candidates, so the tiny run screens too."""


START = "2005-01-01"
FULL = Sizes(range(5, 105), range(110, 210), 10, range(5, 51, 5), range(20, 201, 10), 100,
             "2014-12-31")  # fmt: skip
TINY = Sizes(range(5, 7), range(20, 22), 2, range(5, 7), range(20, 22), 3, "2006-12-31", "2")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _pss_kb(pid: int) -> int:
    """PSS of a process and its descendants (shared pages counted once across them)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def timed(cmd: list[str]) -> tuple[float, str, float]:
    """(seconds, stdout, peak PSS in MB of the process tree) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    peak = [0]

    def watch() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _pss_kb(process.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = process.communicate()
    elapsed = time.perf_counter() - start
    watcher.join()
    if process.returncode != 0:
        sys.exit(f"command failed ({process.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return elapsed, out, peak[0] / 1024


def optimize(output: Path, *args: str) -> tuple[float, float, dict[tuple[int, int], float]]:
    """(seconds, peak MB, final value per (fast, slow) confirmed) of `tradd optimize`."""
    tradd = str(Path(sys.executable).with_name("tradd"))
    cmd = [tradd, "optimize", "--config", "etc/tradd.toml", "--strategy", STRATEGY,
           "--data-dir", str(DATA), "--output", str(output), "--param", "threshold=0.0",
           *args]  # fmt: skip
    elapsed, _, peak = timed(cmd)
    finals = {}
    with (output / "results.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["state"] == "complete":
                finals[(int(row["fast"]), int(row["slow"]))] = float(row["final_value"])
    return elapsed, peak, finals


def plain(symbol: str, fast: list[int], slow: list[int], start: str | None = None,
          end: str | None = None) -> tuple[float, dict[tuple[int, int], float]]:  # fmt: skip
    spec = {"csv": str(DATA / f"{symbol}.1d.csv"), "strategy": STRATEGY, "start": start,
            "end": end, "grid": {"fast": fast, "slow": slow, "threshold": [0.0]}}  # fmt: skip
    elapsed, out, _ = timed([sys.executable, "-m", "bench.plain_optstrategy", json.dumps(spec)])
    finals = {}
    for key, value in json.loads(out).items():
        f, s, _threshold = key.split(",")
        finals[(int(f), int(s))] = float(value)
    return elapsed, finals


def grid_arg(name: str, values: range) -> list[str]:
    return ["--param", f"{name}={values.start}:{values[-1]}:{values.step}"]


def agree(ours: dict[tuple[int, int], float], theirs: dict[tuple[int, int], float]) -> bool:
    return all(abs(v - theirs[k]) <= 1e-6 * max(1.0, abs(v)) for k, v in ours.items())


def big_grid(sizes: Sizes, tmp: Path, figures: dict[str, object]) -> bool:
    combos = len(sizes.fast) * len(sizes.slow)
    period = ["--symbols", "ORCL", "--start", START, "--end", sizes.end, "--warmup", "0"]
    grid = [*grid_arg("fast", sizes.fast), *grid_arg("slow", sizes.slow)]
    seconds, peak, ours = optimize(tmp / "big", *period, "--method", "grid", *grid,
                                   "--confirm", sizes.confirm)  # fmt: skip
    sample_fast = list(sizes.fast)[:: sizes.sample_step]
    sample_slow = list(sizes.slow)[:: sizes.sample_step]
    sample_s, _ = plain("ORCL", sample_fast, sample_slow, START, sizes.end)
    per_combo = sample_s / (len(sample_fast) * len(sample_slow))
    estimate = per_combo * combos
    _, check = plain("ORCL", sorted({f for f, _ in ours}), sorted({s for _, s in ours}),
                     START, sizes.end)  # fmt: skip
    same = agree(ours, check)
    print(f"{combos}-combination grid, ORCL {START[:4]}-{sizes.end[:4]}: tradd optimize "
          f"(kernel screen + top {len(ours)} in Backtrader) {seconds:.2f}s, "
          f"peak PSS {peak:.0f} MB")  # fmt: skip
    print(f"  plain optstrategy: {len(sample_fast) * len(sample_slow)}-combination sample "
          f"{sample_s:.2f}s -> {combos} estimated {estimate:.0f}s; "
          f"ratio {estimate / seconds:.0f}x")  # fmt: skip
    print(f"  top {len(ours)} final values equal plain Backtrader's: {'yes' if same else 'NO'}")
    figures["big_grid"] = {"combinations": combos, "seconds": round(seconds, 2),
                           "peak_pss_mb": round(peak), "plain_sample_combinations":
                           len(sample_fast) * len(sample_slow), "plain_sample_seconds":
                           round(sample_s, 2), "plain_estimated_seconds": round(estimate, 1),
                           "ratio": round(estimate / seconds, 1), "parity": same}  # fmt: skip
    return same


def small_grid(sizes: Sizes, tmp: Path, figures: dict[str, object]) -> bool:
    args = ["--symbols", "GOOG", "--method", "grid", *grid_arg("fast", sizes.small_fast),
            *grid_arg("slow", sizes.small_slow)]  # fmt: skip
    plain_s, theirs = plain("GOOG", list(sizes.small_fast), list(sizes.small_slow))
    kernel_s, _, with_kernel = optimize(tmp / "k", *args, "--confirm", sizes.confirm)
    bt_s, _, without = optimize(tmp / "bt", *args, "--no-kernel")
    same = agree(with_kernel, theirs) and agree(without, theirs)
    best = max(without.values()) == max(with_kernel.values()) if with_kernel else False
    print(f"{len(theirs)}-combination grid, GOOG: plain optstrategy {plain_s:.2f}s; "
          f"tradd --no-kernel {bt_s:.2f}s ({plain_s / bt_s:.2f}x); "
          f"tradd with kernel {kernel_s:.2f}s ({plain_s / kernel_s:.2f}x)")  # fmt: skip
    print(f"  final values equal plain Backtrader's: {'yes' if same else 'NO'}; "
          f"same best: {'yes' if best else 'NO'}")  # fmt: skip
    figures["small_grid"] = {"combinations": len(theirs), "plain_seconds": round(plain_s, 2),
                             "no_kernel_seconds": round(bt_s, 2), "kernel_seconds":
                             round(kernel_s, 2), "parity": same and best}  # fmt: skip
    return same and best


def bayesian(sizes: Sizes, tmp: Path, figures: dict[str, object]) -> None:
    """The default confirmation (20), and 5: most of the time is Backtrader's."""
    runs = {}
    for confirm in (20, 5) if sizes.confirm == "20" else (2, 1):
        seconds, _, confirmed = optimize(
            tmp / f"tpe{confirm}", "--symbols", "ORCL", "--start", START, "--end", sizes.end,
            "--method", "bayesian", "--trials", str(sizes.trials), "--seed", "7",
            "--param", "fast=5:100:1", "--param", "slow=110:250:1", "--confirm", str(confirm),
        )  # fmt: skip
        print(f"{sizes.trials} Bayesian trials, ORCL {START[:4]}-{sizes.end[:4]}, --confirm "
              f"{confirm}: {seconds:.2f}s ({len(confirmed)} confirmed in Backtrader)")  # fmt: skip
        runs[f"confirm_{confirm}_seconds"] = round(seconds, 2)
    figures["bayesian"] = {"trials": sizes.trials, **runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (CI)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    sizes = TINY if args.tiny else FULL
    output = args.output or (RESULTS / "tiny" if args.tiny else RESULTS)
    print(f"cores: {os.cpu_count()}")
    figures: dict[str, object] = {"cores": os.cpu_count(), "tiny": args.tiny}
    with tempfile.TemporaryDirectory() as tmp:
        # Untimed: numba compiles the kernels once per checkout (cached in __pycache__).
        optimize(Path(tmp) / "warm", "--symbols", "ORCL", "--method", "grid",
                 "--param", "fast=5,6", "--param", "slow=20", "--end", "2006-12-31")  # fmt: skip
        ok = big_grid(sizes, Path(tmp), figures)
        ok = small_grid(sizes, Path(tmp), figures) and ok
        bayesian(sizes, Path(tmp), figures)
    output.mkdir(parents=True, exist_ok=True)
    (output / "kernel.json").write_text(json.dumps(figures, indent=2) + "\n")
    if not ok:
        sys.exit("a kernel run's figures differ from plain Backtrader's")


if __name__ == "__main__":
    main()
