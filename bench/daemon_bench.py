"""Benchmark: the daemon (`tradd run`) with ten strategies against the IB simulator.

One run (about a minute): the simulator runs paused on a thread of this process; `tradd
run` is a real process with ten real workers (`bench.bench_strategies.BuyWhenFlat`, one per
IB clientId, on GOOG/ORCL/NVDA/YHOO, 1-minute bars, 30-bar warm-up, one SQLite file).

1. **tradctl cold start** - wall time of `.venv/bin/tradctl --socket S status` as a new
   process, ``--status-runs`` times (default 30), with ten strategies to report; target
   <= 150 ms. `python -c pass` and `python -S -c pass` are timed the same way as floors.
2. **Flatten** - every strategy holds a position (one simulated minute after start-up),
   then `flatten --all` over the control socket (the in-process client, so tradctl's
   start-up is not counted; (1) is that). A thread polls the simulator's account every
   millisecond: *flat at the simulator* is the first poll with no position left; *reply*
   is when the daemon answered (each worker confirms its own positions flat first).
   ``--rounds`` (default 3): resume all, one more minute (they buy again), flatten again.
   Target: <= 1 s.
3. **Memory** - VmRSS of the supervisor and of each worker (``/proc/<pid>/status``) once
   all ten are trading, and again after the flattens.

    .venv/bin/python -m bench.daemon_bench [--strategies 10] [--rounds 3] [--tiny]

``--tiny`` (CI: tests/bench/test_live_benches.py; about 10 s): two strategies, two
tradctl runs, two flatten rounds (so the resume between them runs too); figures that
mean nothing. Results are printed and written to bench/results/daemon.json (tiny runs:
bench/results/tiny/daemon.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import tomli_w

from tradd.control.client import Unreachable, call
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.config import SimConfig

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = ("GOOG", "ORCL", "NVDA", "YHOO")
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "daemon.json"
TINY_OUTPUT = ROOT / "bench" / "results" / "tiny" / "daemon.json"
TINY = {"strategies": 2, "status_runs": 2, "rounds": 2}


def config_document(tmp: Path, port: int, count: int) -> dict[str, Any]:
    strategies = [
        {
            "name": f"b{i}",
            "strategy": "bench.bench_strategies.BuyWhenFlat",
            "symbols": [SYMBOLS[i % 4]],
            "client_id": 21 + i,
            "bar": "1m",
            "warmup_bars": 30,
            "position_pct": 1.0,
            "params": {"size": 10 + i},
        }
        for i in range(count)
    ]
    off = {"limit": "off"}
    return {
        "state_dir": str(tmp / "state"),
        "log": {"dir": str(tmp / "logs"), "console": False},
        "database": {"url": f"sqlite:///{tmp / 'tradd.db'}"},
        "broker": {"port": port, "market_clock": "gateway", "probe_interval": 2.0},
        "worker": {"heartbeat": 0.2, "channel_dir": str(tmp / "run")},
        "supervisor": {"heartbeat_interval": 0.5, "start_timeout": 120.0},
        "control": {"socket": str(tmp / "control.sock")},
        "metrics": {"enabled": False},
        "risk": {
            "max_position_size": off,
            "max_daily_loss": {"limit_pct": "off"},
            "max_drawdown": off,
            "max_leverage": off,
            "position_limit": off,
        },
        "strategies": strategies,
    }


def wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        pause.wait(0.05)
    raise SystemExit(f"daemon bench: {what} not reached within {timeout:g}s")


def status(sock: Path) -> list[dict[str, Any]]:
    try:
        reply = call(sock, "status", {}, 10)
    except Unreachable:
        return []
    return list(reply["result"]["strategies"])


def positions(sim: BackgroundGateway) -> dict[int, float]:
    def read() -> dict[int, float]:
        return {c: p.quantity for c, p in sim.gw.state.account.positions.items() if p.quantity}

    return sim.call(read)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(daemon_pid: int, sock: Path) -> dict[str, Any]:
    workers = [rss_mib(s["pid"]) for s in status(sock) if s.get("pid")]
    return {
        "supervisor_mib": round(rss_mib(daemon_pid), 1),
        "worker_mib": {
            "min": round(min(workers), 1),
            "mean": round(statistics.mean(workers), 1),
            "max": round(max(workers), 1),
        },
        "all_mib": round(rss_mib(daemon_pid) + sum(workers), 1),
    }


def timed_runs(argv: list[str], runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{argv} failed: {done.stderr.decode()}")
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


def flatten_round(sim: BackgroundGateway, sock: Path) -> dict[str, Any]:
    flat_at: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not positions(sim):
                flat_at.append(time.perf_counter())
                return
            stop.wait(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    start = time.perf_counter()
    watcher.start()
    reply = call(sock, "flatten", {"all": True}, 120)
    replied = time.perf_counter()
    watcher.join(10)
    stop.set()
    if not reply.get("ok") or not reply["result"]["ok"] or not flat_at:
        raise SystemExit(f"flatten failed: {json.dumps(reply)[:2000]}")
    paths = {r["path"] for r in reply["result"]["strategies"].values()}
    return {
        "flat_at_simulator_ms": round((flat_at[0] - start) * 1000, 1),
        "reply_ms": round((replied - start) * 1000, 1),
        "paths": sorted(paths),
    }


def all_trading(sock: Path, count: int) -> bool:
    rows = status(sock)
    return len(rows) == count and all(
        s["state"] == "RUNNING" and s["worker"].get("ready") for s in rows
    )


def resume_all(sock: Path, count: int) -> None:
    """A worker flattened without its help is restarted first: wait for it, then resume."""
    wait(lambda: all_trading(sock, count), 120, "all strategies trading again")
    for s in status(sock):
        reply = call(sock, "resume", {"strategy": s["name"]}, 10)
        if not reply.get("ok"):
            raise SystemExit(f"resume {s['name']} failed: {reply}")


def hold_positions(sim: BackgroundGateway, sock: Path, count: int) -> None:
    sim.call(sim.gw.advance, 60)
    wait(
        lambda: (
            len(positions(sim)) == min(count, 4)
            and all((s["worker"].get("positions") or {}) for s in status(sock))
        ),
        60,
        "every strategy holding",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = SimConfig(
        data_dir=ROOT / "tradd" / "sample_data",
        port=0,
        speed=0,
        pacing=False,
        start=date(2006, 1, 10),
        symbols=SYMBOLS,
    )
    with contextlib.ExitStack() as stack:
        name = args.workdir or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="tradd-daemon-bench-")
        )
        sim = stack.enter_context(BackgroundGateway(config))
        tmp = Path(name)
        path = tmp / "tradd.toml"
        path.write_text(tomli_w.dumps(config_document(tmp, sim.port, args.strategies)))
        sock = tmp / "control.sock"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradd", "run", "--config", str(path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "daemon.err").open("w"),
        )
        try:
            wait(lambda: all_trading(sock, args.strategies), 180, "all strategies trading")
            up = time.perf_counter() - started
            results: dict[str, Any] = {"strategies": args.strategies, "startup_s": round(up, 1)}
            results["memory_ready"] = memory(proc.pid, sock)
            # The tradctl beside this interpreter: a worktree's checkout has no .venv of its own.
            beside = str(Path(sys.executable).with_name("tradctl"))
            tradctl = [beside, "--socket", str(sock), "status"]
            results["tradctl_status"] = timed_runs(tradctl, args.status_runs)
            results["python_floor"] = timed_runs([sys.executable, "-c", "pass"], args.status_runs)
            results["python_S_floor"] = timed_runs(
                [sys.executable, "-S", "-c", "pass"], args.status_runs
            )
            rounds = []
            for index in range(args.rounds):
                if index:
                    resume_all(sock, args.strategies)
                hold_positions(sim, sock, args.strategies)
                rounds.append(flatten_round(sim, sock))
            results["flatten"] = rounds
            results["memory_after"] = memory(proc.pid, sock)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategies", type=int, default=10)
    parser.add_argument("--status-runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--workdir", help="keep configs, logs and database here (debugging)")
    parser.add_argument("--tiny", action="store_true", help=f"CI, a few seconds: {TINY}")
    args = parser.parse_args()
    if args.tiny:
        vars(args).update(TINY)
    write_results(run(args), args.output or (TINY_OUTPUT if args.tiny else DEFAULT_OUTPUT))


def write_results(results: dict[str, Any], output: Path) -> None:
    """Print the results and keep them in `output` (JSON)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
