"""Benchmark: the live worker (`python -m tradd.worker`) against the IB Gateway simulator.

Two measurements, each with a fresh simulator, database and worker process (defaults take
about two minutes):

1. **Latency** - from a 5-second bar leaving the simulator to the worker's order for it
   arriving back at the simulator, over ``--signals`` (default 1,000) bars after
   ``--warmup`` (20) discarded ones. Target: p99 <= 20 ms. The worker runs
   ``bench.strategies.EveryBar`` on GOOG with 5-second strategy bars, so every bucket
   completes a bar and every bar sends one market order (buy 1, sell 1, ...). The
   simulator runs paused (speed 0) on a thread of this process and is stepped one bucket
   at a time, one step every ``--interval`` (50 ms), always after the previous bar's order
   arrived (or ``--timeout`` passed: counted missing). Both time stamps are taken on the
   simulator's own thread with ``time.perf_counter``:

   * *bar out*: ``SimGateway.advance(5)`` publishes the bucket, but sessions coalesce their
     writes into one per event-loop turn (``call_soon(_flush)``); the step awaits
     ``asyncio.sleep(0)``, which resumes after those flush callbacks, so the stamp is taken
     once the bytes are handed to the kernel. (The stamp right after ``advance`` returns is
     kept too: "publish" below is from the step's start to the write.)
   * *order in*: the dispatcher's placeOrder route is wrapped (stamp before the simulator
     parses the order); the simulator's ``log_event("simgw.order_placed")`` then names the
     order and its simulated time, which must be the bar's bucket end.

   "sim accept" (placeOrder parsed, checked, filled and its reports queued) is reported
   separately; it is simulator time, not worker time.

2. **Memory** - the worker's VmRSS and VmHWM (``/proc/<pid>/status``) with one strategy on
   three symbols (GOOG, ORCL, NVDA), 1-minute bars and the default 200-bar warm-up:
   right after it is ready, then every 100 bars up to ``--memory-bars`` (300). The
   strategy is ``EveryBar`` with ``all_symbols``: three orders and three fills every bar,
   the most ledger and Backtrader order traffic a bar can cause. Target: <= 150 MB (MiB
   here, which is stricter). The clock is stepped one bucket every
   ``--memory-interval`` (10 ms) without waiting for orders; each bar's three orders are
   matched to it afterwards, giving a three-symbol latency figure as well.

Why pace a paused clock: the worker follows the simulator's clock (``broker.market_clock =
"gateway"``): it samples reqCurrentTime every 2 s and extrapolates at the observed rate.
Stepping at a steady pace keeps that estimate within a bucket or so of the truth; a clock
that jumps a minute at a time, or stops for seconds, would make the worker's market time
run ahead of its bars, and the staleness watchdog would stop orders (stale after 30 s).

Both processes share a 2-core VM with everything else running on it, so the scheduling
noise is measured too: how late ``threading.Event().wait(0.001)`` and ``time.sleep(0.001)``
wake (about 3 context switches sit on the order path: simulator -> worker client thread ->
worker main thread -> client thread -> simulator).

    .venv/bin/python bench/worker_bench.py [--signals 1000] [--memory-bars 300]

Results are printed and written to bench/results/worker.json (``--output``); the workers'
logs stay in ``--workdir`` when one is given (default: a temporary directory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import structlog
import tomli_w

from tradd.simgw.background import BackgroundGateway
from tradd.simgw.config import SimConfig
from tradd.simgw.gateway import SimGateway
from tradd.simgw.session import ClientSession
from tradd.simgw.tape import BUCKET
from tradd.worker.channel import request

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tradd" / "sample_data"
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "worker.json"
DAY = date(2006, 1, 10)  # the simulator starts at 09:30 US/Eastern, the stocks' open
SIM_SYMBOLS = ("GOOG", "ORCL", "NVDA")
LATENCY_SYMBOLS = ("GOOG",)
MEMORY_SYMBOLS = ("GOOG", "ORCL", "NVDA")
STRATEGY = "bench.strategies.EveryBar"
NAME = "bench"
CLIENT_ID = 21
SESSION_BUCKETS = int(6.5 * 3600) // BUCKET
PLACE_ORDER = 3  # TWS message id
TARGET_P99_MS = 20.0
TARGET_RSS_MIB = 150.0
MIB = 1024.0
MEMORY_SAMPLE_EVERY = 100  # bars


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(math.ceil(p / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


@dataclass
class Distribution:
    samples: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float
    mean_ms: float

    @classmethod
    def of(cls, values: list[float]) -> Distribution | None:
        if not values:
            return None
        s = sorted(values)
        return cls(
            samples=len(s),
            p50_ms=ms(percentile(s, 50)),
            p90_ms=ms(percentile(s, 90)),
            p99_ms=ms(percentile(s, 99)),
            max_ms=ms(s[-1]),
            min_ms=ms(s[0]),
            mean_ms=ms(sum(s) / len(s)),
        )

    def line(self) -> str:
        return (
            f"p50 {self.p50_ms:.2f}  p90 {self.p90_ms:.2f}  p99 {self.p99_ms:.2f}  "
            f"max {self.max_ms:.2f} ms  (n={self.samples})"
        )


# ---- the simulator side: time stamps on its own thread --------------------------------------


@dataclass(frozen=True)
class Arrival:
    """A placeOrder from the worker, stamped on the simulator's thread."""

    received: float  # perf_counter when the dispatcher got the message
    accepted: float  # perf_counter when the simulator logged it as placed
    sim_time: int  # the simulator's clock then: the end of the last published bucket
    ref: str


@dataclass(frozen=True)
class Published:
    """One step of the paused clock, stamped on the simulator's thread."""

    boundary: int  # simulated time after the step: end of the last bucket published
    began: float
    published: float  # advance() returned: the messages are queued in the sessions
    written: float  # the sessions' coalesced writes ran: the bytes are in the kernel


class OrderTap:
    """Hooks into a running simulator; every call into it happens on the simulator's loop."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.rejected = 0
        self._received: float | None = None
        self._changed = threading.Condition()

    def install(self, gw: SimGateway) -> None:
        """Wrap the placeOrder route (arrival stamp) and `Core.log_event` (which order)."""
        route = gw.dispatch.routes[PLACE_ORDER]
        handle = route.handler

        def timed(session: ClientSession, fields: list[str]) -> None:
            self._received = time.perf_counter()
            handle(session, fields)

        gw.dispatch.routes[PLACE_ORDER] = replace(route, handler=timed)
        log_event = gw.core.log_event

        def tapped(event: str, **fields: object) -> None:
            if event == "simgw.order_placed":
                self._placed(gw.core.now(), str(fields.get("ref", "")))
            elif event == "simgw.order_rejected":
                self.rejected += 1
            log_event(event, **fields)

        gw.core.log_event = tapped  # type: ignore[method-assign]

    def _placed(self, sim_time: int, ref: str) -> None:
        accepted = time.perf_counter()
        received = accepted if self._received is None else self._received
        self._received = None
        with self._changed:
            self.arrivals.append(Arrival(received, accepted, sim_time, ref))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Until `count` orders have arrived in all (from any thread)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.arrivals) >= count, timeout)


async def step(gw: SimGateway, seconds: float) -> Published:
    """Advance the paused clock, publishing every bucket on the way; stamp when written."""
    began = time.perf_counter()
    gw.advance(seconds)
    published = time.perf_counter()
    await asyncio.sleep(0)  # resumes after the sessions' flush callbacks queued by advance
    return Published(gw.sim_time, began, published, time.perf_counter())


def sim_config() -> SimConfig:
    return SimConfig(data_dir=DATA, port=0, speed=0, pacing=False, start=DAY, symbols=SIM_SYMBOLS)


# ---- the worker process ---------------------------------------------------------------------


def write_config(workdir: Path, port: int, entry: dict[str, Any]) -> Path:
    """tradd.toml for one strategy against the simulator: defaults except what the bench
    needs (the simulator's clock, files in `workdir`, no order-rate limit)."""
    document: dict[str, Any] = {
        "state_dir": str(workdir / "state"),
        "log": {"dir": str(workdir / "logs")},
        "broker": {"port": port, "market_clock": "gateway"},
        "worker": {"channel_dir": str(workdir / "run")},
        "database": {"url": f"sqlite:///{workdir / 'tradd.db'}"},
        "risk": {"max_orders_per_minute": {"limit": "off"}},
        "strategies": [{"name": NAME, "strategy": STRATEGY, "client_id": CLIENT_ID, **entry}],
    }
    path = workdir / "tradd.toml"
    path.write_text(tomli_w.dumps(document))
    return path


@dataclass
class MemorySample:
    label: str
    bars: int
    rss_mib: float
    hwm_mib: float
    anon_mib: float
    file_mib: float
    threads: int


class WorkerProcess:
    """`python -m tradd.worker` in its own process, its command socket and its files."""

    def __init__(self, workdir: Path, port: int, entry: dict[str, Any]) -> None:
        self.workdir = workdir
        self.config = write_config(workdir, port, entry)
        self.sock = workdir / "run" / f"{NAME}.sock"
        self.log = workdir / "logs" / f"worker-{NAME}.log"
        self.stderr_path = workdir / "worker.stderr"
        self.exit_code: int | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        command = [sys.executable, "-m", "tradd.worker", "--config", str(self.config),
                   "--strategy", NAME]  # fmt: skip
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        self.started = time.perf_counter()

    def wait_ready(self, timeout: float) -> float:
        """Seconds from start until `status` says ready (connected, warmed up, reconciled)."""
        deadline = self.started + timeout
        pause = threading.Event()
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"worker exited {self.proc.returncode} before ready:\n{self.stderr()}")
            try:
                if self.sock.exists() and request(self.sock, "status", timeout=5)["result"].get(
                    "ready"
                ):
                    return time.perf_counter() - self.started
            except (OSError, KeyError, ValueError):
                pass
            pause.wait(0.05)
        self.kill()
        sys.exit(f"worker not ready after {timeout:g} s:\n{self.stderr()}")

    def memory(self, label: str, bars: int) -> MemorySample:
        status: dict[str, str] = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            status[key] = value.strip()

        def mib(key: str) -> float:
            return round(int(status.get(key, "0 kB").split()[0]) / MIB, 1)

        return MemorySample(label, bars, mib("VmRSS"), mib("VmHWM"), mib("RssAnon"),
                            mib("RssFile"), int(status.get("Threads", "0")))  # fmt: skip

    def status(self) -> dict[str, Any]:
        reply = request(self.sock, "status", timeout=10)
        result: dict[str, Any] = reply.get("result", {})
        return result

    def stop(self, timeout: float = 30.0) -> int:
        """The stop command (SIGTERM if the channel does not answer), then wait."""
        if self.proc.poll() is None:
            try:
                request(self.sock, "stop", timeout=10)
            except (OSError, ValueError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.kill()
        self.exit_code = self.proc.returncode
        return self.exit_code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stderr(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_summary(self) -> LogSummary:
        """What the worker logged: orders sent and refused, warnings and errors."""
        events: Counter[str] = Counter()
        problems: Counter[str] = Counter()
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            event = str(record.get("event", ""))
            events[event] += 1
            if record.get("level") in ("warning", "error", "critical"):
                problems[f"{record.get('level')}: {event}"] += 1
        return LogSummary(
            orders_sent=events["order sent"],
            orders_refused=events["order refused"],
            fills=events["fill"],
            problems=dict(problems.most_common(10)),
        )


@dataclass
class LogSummary:
    orders_sent: int
    orders_refused: int
    fills: int
    problems: dict[str, int]


@contextmanager
def workdir_for(base: Path | None, name: str) -> Iterator[Path]:
    """`base/name` (kept), or a temporary directory removed afterwards."""
    if base is not None:
        path = base / name
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=f"worker-bench-{name}-") as tmp:
        yield Path(tmp)


class Pacer:
    """A slot every `interval` seconds; after an overrun the schedule moves, not bunches."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = time.perf_counter()
        self.overruns = 0
        self._pause = threading.Event()

    def wait(self) -> None:
        now = time.perf_counter()
        if now < self._next:
            self._pause.wait(self._next - now)
        elif now - self._next > self.interval:
            self.overruns += 1
            self._next = now
        self._next += self.interval


# ---- latency --------------------------------------------------------------------------------


@dataclass
class LatencyRun:
    symbols: list[str]
    bar: str
    signals: int
    warmup: int
    interval_s: float
    timeout_s: float
    latency: Distribution | None  # bar written by the simulator -> placeOrder received
    sim_accept: Distribution | None  # placeOrder received -> simulator logged it placed
    publish: Distribution | None  # step began -> bar written (simulator side)
    missing: int
    missing_signals: list[int]
    unexpected: int  # orders stamped with another bucket than the bar they answered
    rejected_by_sim: int
    slowest: list[tuple[int, float]]  # (signal index after warm-up, ms)
    over_target: int
    pacing_overruns: int
    ready_s: float
    worker_log: LogSummary
    exit_code: int | None
    meets_target: bool


def latency_run(args: argparse.Namespace) -> LatencyRun:
    entry = {"symbols": list(LATENCY_SYMBOLS), "bar": "5s", "warmup_bars": 20,
             "params": {"size": 1}}  # fmt: skip
    total = args.warmup + args.signals
    tap = OrderTap()
    latencies: list[tuple[int, float]] = []
    accept: list[float] = []
    publish: list[float] = []
    missing: list[int] = []
    answered = unexpected = 0
    with workdir_for(args.workdir, "latency") as workdir, BackgroundGateway(sim_config()) as sim:
        sim.call(tap.install, sim.gw)
        worker = WorkerProcess(workdir, sim.port, entry)
        try:
            ready_s = worker.wait_ready(args.ready_timeout)
            pacer = Pacer(args.interval)
            for i in range(total):
                pacer.wait()
                before = len(tap.arrivals)
                out = sim.run(lambda: step(sim.gw, BUCKET))
                got = tap.wait_for(before + 1, args.timeout)
                answered += got
                n = i - args.warmup
                if got and tap.arrivals[before].sim_time != out.boundary:
                    unexpected += 1  # a late order of an earlier bar, or a stray
                if n < 0:
                    continue
                publish.append(out.written - out.began)
                if not got:
                    missing.append(n)
                    continue
                order = tap.arrivals[before]
                latencies.append((n, order.received - out.written))
                accept.append(order.accepted - order.received)
            tap.wait_for(len(tap.arrivals) + 1, 0.2)  # orders nobody waited for
            unexpected += len(tap.arrivals) - answered
        finally:
            worker.stop()
        worker_log = worker.log_summary()
    values = [v for _, v in latencies]
    dist = Distribution.of(values)
    slowest = sorted(latencies, key=lambda x: -x[1])[:5]
    return LatencyRun(
        symbols=list(LATENCY_SYMBOLS),
        bar="5s",
        signals=args.signals,
        warmup=args.warmup,
        interval_s=args.interval,
        timeout_s=args.timeout,
        latency=dist,
        sim_accept=Distribution.of(accept),
        publish=Distribution.of(publish),
        missing=len(missing),
        missing_signals=missing[:20],
        unexpected=unexpected,
        rejected_by_sim=tap.rejected,
        slowest=[(n, ms(v)) for n, v in slowest],
        over_target=sum(1 for v in values if v * 1e3 > TARGET_P99_MS),
        pacing_overruns=pacer.overruns,
        ready_s=round(ready_s, 2),
        worker_log=worker_log,
        exit_code=worker.exit_code,
        meets_target=dist is not None and dist.p99_ms <= TARGET_P99_MS and not missing,
    )


# ---- memory ---------------------------------------------------------------------------------


@dataclass
class MemoryRun:
    symbols: list[str]
    bar: str
    warmup_bars: int
    bars: int
    interval_s: float
    samples: list[MemorySample]
    peak_mib: float
    growth_kib_per_bar: float | None  # RSS from the first to the last 100-bar mark
    orders_expected: int
    orders_received: int
    bar_to_last_order: Distribution | None  # bar written -> the last of its three orders
    ready_s: float
    worker_log: LogSummary
    exit_code: int | None
    meets_target: bool


def memory_run(args: argparse.Namespace) -> MemoryRun:
    entry = {"symbols": list(MEMORY_SYMBOLS), "bar": "1m", "warmup_bars": 200,
             "params": {"size": 1, "all_symbols": True}}  # fmt: skip
    per_bar = 60 // BUCKET
    per_order = len(MEMORY_SYMBOLS)
    tap = OrderTap()
    bar_ends: list[Published] = []
    samples: list[MemorySample] = []
    with workdir_for(args.workdir, "memory") as workdir, BackgroundGateway(sim_config()) as sim:
        sim.call(tap.install, sim.gw)
        worker = WorkerProcess(workdir, sim.port, entry)
        try:
            ready_s = worker.wait_ready(args.ready_timeout)
            samples.append(worker.memory("ready", 0))
            pacer = Pacer(args.memory_interval)
            for i in range(1, args.memory_bars * per_bar + 1):
                pacer.wait()
                out = sim.run(lambda: step(sim.gw, BUCKET))
                if i % per_bar:
                    continue
                bar_ends.append(out)
                bars = i // per_bar
                if bars % MEMORY_SAMPLE_EVERY == 0 or bars == args.memory_bars:
                    samples.append(worker.memory(f"{bars} bars", bars))
            expected = args.memory_bars * per_order
            tap.wait_for(expected, args.timeout)
            worker.status()  # every fill booked: the worker answers after its queue drained
            samples.append(worker.memory("end", args.memory_bars))
        finally:
            worker.stop()
        worker_log = worker.log_summary()
    last_orders = []
    arrivals = sorted(tap.arrivals, key=lambda a: a.received)
    for k, bar in enumerate(bar_ends):
        until = bar_ends[k + 1].written if k + 1 < len(bar_ends) else math.inf
        group = [a for a in arrivals if bar.written <= a.received < until]
        if len(group) >= per_order:
            last_orders.append(group[per_order - 1].received - bar.written)
    marks = [s for s in samples if s.label.endswith(" bars")]
    growth = None
    if len(marks) >= 2 and marks[-1].bars > marks[0].bars:
        growth = round((marks[-1].rss_mib - marks[0].rss_mib) * MIB / (marks[-1].bars - marks[0].bars), 2)
    peak = max(s.hwm_mib for s in samples)
    return MemoryRun(
        symbols=list(MEMORY_SYMBOLS),
        bar="1m",
        warmup_bars=200,
        bars=args.memory_bars,
        interval_s=args.memory_interval,
        samples=samples,
        peak_mib=peak,
        growth_kib_per_bar=growth,
        orders_expected=args.memory_bars * per_order,
        orders_received=len(tap.arrivals),
        bar_to_last_order=Distribution.of(last_orders),
        ready_s=round(ready_s, 2),
        worker_log=worker_log,
        exit_code=worker.exit_code,
        meets_target=peak <= TARGET_RSS_MIB,
    )


# ---- scheduling noise ----------------------------------------------------------------------


@dataclass
class Noise:
    """How late a 1 ms wait wakes on this machine: the floor under any latency here."""

    what: str
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def noise(what: str, wait: Callable[[float], object], seconds: float) -> Noise:
    interval = 0.001
    late: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        wait(interval)
        late.append(time.perf_counter() - began - interval)
    late.sort()
    return Noise(what, len(late), ms(percentile(late, 50)), ms(percentile(late, 99)),
                 ms(late[-1]))  # fmt: skip


def scheduling_noise(seconds: float) -> list[Noise]:
    return [
        noise("threading.Event().wait(0.001)", threading.Event().wait, seconds),
        noise("time.sleep(0.001)", time.sleep, seconds),
    ]


# ---- report ---------------------------------------------------------------------------------


@dataclass
class Results:
    latency: LatencyRun | None
    memory: MemoryRun | None
    noise_before: list[Noise]
    noise_after: list[Noise]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    seconds: float = field(default=0.0)


def print_report(results: Results) -> None:
    load = "/".join(f"{x:.2f}" for x in results.load_before)
    print(
        f"\nworker benchmark - Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load} at start; simulator in this process, worker a subprocess"
    )
    lat = results.latency
    if lat is not None:
        print(
            f"\nLatency: bar written by the simulator -> the worker's order received by it; "
            f"{STRATEGY} on {', '.join(lat.symbols)}, {lat.bar} bars, one bucket every "
            f"{lat.interval_s * 1e3:g} ms, {lat.warmup} warm-up signals discarded"
        )
        verdict = "ok" if lat.meets_target else "MISSED"
        print(f"  bar -> order  {lat.latency.line() if lat.latency else '-'}  "
              f"target p99 <= {TARGET_P99_MS:g} ms: {verdict}")  # fmt: skip
        if lat.sim_accept:
            print(f"  sim accept    {lat.sim_accept.line()}  (simulator handling the order)")
        if lat.publish:
            print(f"  publish       {lat.publish.line()}  (simulator writing the bar)")
        print(
            f"  missing {lat.missing} (timeout {lat.timeout_s:g} s), unexpected {lat.unexpected}, "
            f"rejected by simulator {lat.rejected_by_sim}, over {TARGET_P99_MS:g} ms "
            f"{lat.over_target}, pacing overruns {lat.pacing_overruns}"
        )
        slow = ", ".join(f"#{n}: {v:.1f}" for n, v in lat.slowest)
        print(f"  slowest (signal: ms) {slow}")
        log = lat.worker_log
        print(
            f"  worker: ready after {lat.ready_s:g} s, log: {log.orders_sent} orders sent, "
            f"{log.orders_refused} refused, {log.fills} fills; exit code {lat.exit_code}"
        )
        if log.problems:
            print(f"  worker warnings/errors: {log.problems}")
    mem = results.memory
    if mem is not None:
        print(
            f"\nMemory: one worker, {STRATEGY}(all_symbols) on {', '.join(mem.symbols)}, "
            f"{mem.bar} bars, warm-up {mem.warmup_bars} bars, {mem.bars} live bars"
        )
        print(f"  {'when':>10} {'RSS MiB':>8} {'peak MiB':>8} {'anon':>7} {'file':>7} {'thr':>4}")
        for s in mem.samples:
            print(
                f"  {s.label:>10} {s.rss_mib:>8.1f} {s.hwm_mib:>8.1f} {s.anon_mib:>7.1f} "
                f"{s.file_mib:>7.1f} {s.threads:>4}"
            )
        verdict = "ok" if mem.meets_target else "MISSED"
        growth = "-" if mem.growth_kib_per_bar is None else f"{mem.growth_kib_per_bar:g} KiB/bar"
        print(
            f"  peak {mem.peak_mib:.1f} MiB, target <= {TARGET_RSS_MIB:g}: {verdict}; "
            f"growth {growth}; orders {mem.orders_received}/{mem.orders_expected}"
        )
        if mem.bar_to_last_order:
            print(f"  bar -> 3rd order {mem.bar_to_last_order.line()}")
        log = mem.worker_log
        print(
            f"  worker: ready after {mem.ready_s:g} s, log: {log.orders_sent} orders sent, "
            f"{log.orders_refused} refused, {log.fills} fills; exit code {mem.exit_code}"
        )
        if log.problems:
            print(f"  worker warnings/errors: {log.problems}")
    print("\nScheduling noise (how late a 1 ms wait wakes), before / after the runs:")
    for before, after in zip(results.noise_before, results.noise_after, strict=True):
        print(
            f"  {before.what:<30} p50 {before.p50_ms:.3f} / {after.p50_ms:.3f}  "
            f"p99 {before.p99_ms:.3f} / {after.p99_ms:.3f}  "
            f"max {before.max_ms:.3f} / {after.max_ms:.3f} ms"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--signals", type=int, default=1000,
                        help="measured bars (orders) in the latency run (default 1000)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="first signals not counted (default 20)")
    parser.add_argument("--interval", type=float, default=0.05,
                        help="wall seconds between buckets in the latency run (default 0.05)")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="an order later than this is counted missing (default 2 s)")
    parser.add_argument("--memory-bars", type=int, default=300,
                        help="1-minute bars in the memory run; 0 skips it (default 300)")
    parser.add_argument("--memory-interval", type=float, default=0.01,
                        help="wall seconds between buckets in the memory run (default 0.01)")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency run")
    parser.add_argument("--noise-seconds", type=float, default=2.0,
                        help="seconds per scheduling-noise measurement (default 2)")
    parser.add_argument("--ready-timeout", type=float, default=90.0,
                        help="seconds a worker may take to be ready (default 90)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep configs, databases and worker logs here (default: temp dir)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"JSON results file (default {DEFAULT_OUTPUT.relative_to(ROOT)})")  # fmt: skip
    args = parser.parse_args(argv)
    if args.warmup < 0 or args.signals < 1 or args.warmup + args.signals > SESSION_BUCKETS - 60:
        parser.error(f"--warmup + --signals: 1..{SESSION_BUCKETS - 60} buckets fit in a session")
    if not 0 <= args.memory_bars <= 380:
        parser.error("--memory-bars: 0..380 one-minute bars fit in a session")
    if args.interval <= 0 or args.memory_interval <= 0 or args.timeout <= 0:
        parser.error("--interval, --memory-interval and --timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    began = time.perf_counter()
    load_before = os.getloadavg()
    noise_before = scheduling_noise(args.noise_seconds)
    latency = None if args.no_latency else latency_run(args)
    memory = memory_run(args) if args.memory_bars else None
    noise_after = scheduling_noise(args.noise_seconds)
    results = Results(latency, memory, noise_before, noise_after, load_before, os.getloadavg(),
                      round(time.perf_counter() - began, 1))  # fmt: skip
    print_report(results)
    document = {
        "benchmark": "worker",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "strategy": STRATEGY,
        "targets": {"p99_ms": TARGET_P99_MS, "rss_mib": TARGET_RSS_MIB},
        "load_average": {"before": results.load_before, "after": results.load_after},
        "seconds": results.seconds,
        "latency": asdict(latency) if latency else None,
        "memory": asdict(memory) if memory else None,
        "scheduling_noise": {
            "before": [asdict(n) for n in noise_before],
            "after": [asdict(n) for n in noise_after],
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {args.output} ({results.seconds:g} s)")


if __name__ == "__main__":
    main()
