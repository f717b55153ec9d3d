"""Benchmark: the live worker (`python -m tradd.worker`) against the IB Gateway simulator.

Two measurements, each with a fresh simulator, SQLite database and worker process
(defaults take about three minutes):

1. **Latency** - from a 5-second bar leaving the simulator to the worker's order for it
   arriving back at the simulator, over ``--signals`` (default 1,000) bars after
   ``--warmup`` (20) discarded ones. Target: p99 <= 20 ms. The worker runs
   ``bench.bench_strategies.EveryBar`` on GOOG with 5-second strategy bars, so every bucket
   completes a bar and every bar sends one market order (buy 1, sell 1, ...). The
   simulator runs paused (speed 0) on a thread of this process and is stepped one bucket
   at a time, one step every ``--interval`` (80 ms). After each step the bench waits for
   the order (``--timeout`` 2 s, else it is counted missing), then lets the worker book
   the fill (``--settle`` 5 ms for the reports to reach it, then a ``ping`` on its command
   socket, answered once its queue is empty), so each bar finds the worker idle, as live
   5-second or 1-minute bars do (``--no-drain`` measures back-to-back instead). Both time
   stamps are taken on the simulator's own thread with ``time.perf_counter``:

   * *bar sent*: ``SimGateway.advance(5)`` only queues the bucket's messages; sessions
     coalesce writes into one per event-loop turn (``call_soon(_flush)``). The worker's
     session gets an instance-level ``_flush`` wrapper that stamps right before the write,
     and the step awaits ``asyncio.sleep(0)``, which resumes after that flush. The stamp
     is taken *before* ``transport.write``: on this VM a loopback ``send()`` takes ~0.4 ms,
     and the worker often reads the bar before ``send()`` has returned.
   * *order in*: the dispatcher's placeOrder route is wrapped (stamp before the simulator
     parses the order); the simulator's ``log_event("simgw.order_placed")`` then names the
     order and its simulated time, which must be the bar's bucket end.

   The simulator's own share is reported apart: building and queueing the bucket
   (advance), the write, and handling the placeOrder (accept: parse, margin check, fill,
   reports queued), which comes after the stamp and is not in the latency.

2. **Memory** - the worker's VmRSS and VmHWM (``/proc/<pid>/status``) with one strategy on
   three symbols (GOOG, ORCL, NVDA), 1-minute bars and the default 200-bar warm-up:
   right after it is ready, then every 100 bars up to ``--memory-bars`` (300). The
   strategy is ``EveryBar`` with ``all_symbols``: three orders and three fills every bar,
   the most ledger and order traffic a bar can cause, so growth per bar is an upper bound.
   Target: <= 150 MB (MiB here, which is stricter). The clock is stepped one bucket every
   ``--memory-interval`` (20 ms) without waiting for orders; each bar's orders are matched
   to it afterwards, giving a three-symbol latency (bar -> its third order) as well.

Why pace a paused clock: the worker follows the simulator's clock (``broker.market_clock =
"gateway"``): it samples reqCurrentTime every 2 s and extrapolates at the observed rate.
Stepping at a steady pace keeps that estimate within a bucket or so of the truth; a clock
that jumps a minute at a time, or stops for seconds, would make the worker's market time
run ahead of its bars, and the staleness watchdog would resubscribe and then stop orders
(stale after 30 s). Both intervals also keep the order rate under ib_async's client-side
throttle (45 requests/s), which would otherwise queue orders.

``--trace`` runs traced workers instead (``python -c "from bench.worker_bench import
traced_worker; ..."``, which wraps tradd and ib_async functions before calling the
worker's own ``main``): ``perf_counter`` stamps along the bar -> order path (Linux's
perf_counter is CLOCK_MONOTONIC, shared by both processes, so the stages add up to the
measured latency), call counts and durations of the ledger and engine methods, every
garbage collection, and in the memory run tracemalloc from the first order to exit.

Both processes share a 2-core VM with everything else running on it, so the scheduling
noise is measured too: how late ``threading.Event().wait(0.001)`` and ``time.sleep(0.001)``
wake (four thread wake-ups sit on the order path: worker client thread, worker main
thread, client thread again, simulator).

    .venv/bin/python -m bench.worker_bench [--signals 1000] [--memory-bars 300] [--trace] [--tiny]

``--tiny`` (CI: tests/bench/test_live_benches.py; about 10 s): 5 signals after 2 warm-up
ones, 2 memory bars, 0.1 s of noise per measurement; its figures mean nothing.

Results are printed and written to bench/results/worker.json (``--output``; tiny runs to
bench/results/tiny/worker.json); configs,
databases and worker logs stay in ``--workdir`` when one is given (default: a temporary
directory, removed).
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
TINY_OUTPUT = ROOT / "bench" / "results" / "tiny" / "worker.json"
TINY = {"signals": 5, "warmup": 2, "memory_bars": 2, "noise_seconds": 0.1}
DAY = date(2006, 1, 10)  # the simulator starts at 09:30 US/Eastern, the stocks' open
SIM_SYMBOLS = ("GOOG", "ORCL", "NVDA")
LATENCY_SYMBOLS = ("GOOG",)
MEMORY_SYMBOLS = ("GOOG", "ORCL", "NVDA")
STRATEGY = "bench.bench_strategies.EveryBar"
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
    sent: float  # the worker session's coalesced write began: the bar goes to the kernel
    send_s: float | None  # how long that write took (None: no stamped write in this step)


class OrderTap:
    """Hooks into a running simulator; every call into it happens on the simulator's loop."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.rejected = 0
        self.last_send = 0.0
        """perf_counter right before a watched session's coalesced write (the send call)."""
        self.last_send_s = 0.0  # how long that write took
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

    def watch_sessions(self, gw: SimGateway) -> None:
        """Stamp every coalesced write of the connected sessions (the worker's, once ready).

        `send` queues and schedules `self._flush` per loop turn; the instance attribute set
        here is what that lookup finds."""
        for session in gw._sessions:
            flush = session._flush

            def stamped(
                session: ClientSession = session, flush: Callable[[], None] = flush
            ) -> None:
                if not session._pending:
                    flush()
                    return
                began = time.perf_counter()
                flush()
                self.last_send, self.last_send_s = began, time.perf_counter() - began

            session._flush = stamped  # type: ignore[method-assign]

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


async def step(gw: SimGateway, seconds: float, tap: OrderTap) -> Published:
    """Advance the paused clock, publishing every bucket on the way; stamp when sent."""
    began = time.perf_counter()
    gw.advance(seconds)
    published = time.perf_counter()
    await asyncio.sleep(0)  # resumes after the sessions' flush callbacks queued by advance
    resumed = time.perf_counter()
    if published <= tap.last_send <= resumed:
        return Published(gw.sim_time, began, published, tap.last_send, tap.last_send_s)
    return Published(gw.sim_time, began, published, resumed, None)


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
        # The market runs ~3000x faster than real time here; snapshots and housekeeping
        # (every 60 s live, about once a bar) run every second so they keep up with it.
        "worker": {"channel_dir": str(workdir / "run"), "snapshot_interval": 1.0},
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

    def __init__(self, workdir: Path, port: int, entry: dict[str, Any], trace: str = "") -> None:
        """`trace`: "" (the plain worker), "time" or "memory" (a traced worker, `--trace`)."""
        self.workdir = workdir
        self.config = write_config(workdir, port, entry)
        self.sock = workdir / "run" / f"{NAME}.sock"
        self.log = workdir / "logs" / f"worker-{NAME}.log"
        self.stderr_path = workdir / "worker.stderr"
        self.trace_file = workdir / "trace.json" if trace else None
        self.exit_code: int | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        launch = ["-m", "tradd.worker"]
        if self.trace_file is not None:
            launch = ["-c", TRACE_LAUNCH]
            env[TRACE_ENV] = str(self.trace_file)
            env[TRACE_MEMORY_ENV] = "1" if trace == "memory" else "0"
        command = [sys.executable, *launch, "--config", str(self.config), "--strategy", NAME]
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

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            sys.exit(f"worker exited {self.proc.returncode} during the run:\n{self.stderr()}")

    def drain(self, settle: float) -> None:
        """Until the worker has handled what its last order caused (the fill reports): they
        reach its queue within `settle`, and a ping is answered after everything queued."""
        threading.Event().wait(settle)
        request(self.sock, "ping", timeout=10)

    def status(self, timeout: float = 10.0) -> dict[str, Any]:
        reply = request(self.sock, "status", timeout=timeout)
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

    def log_summary(self, until: datetime | None = None) -> LogSummary:
        """What the worker logged: orders sent and refused, warnings and errors (those
        after `until`, the last bar, are counted apart: with the clock no longer stepped,
        the worker's extrapolated market time runs on and its watchdog resubscribes)."""
        events: Counter[str] = Counter()
        problems: Counter[str] = Counter()
        after = 0
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
            if record.get("level") not in ("warning", "error", "critical"):
                continue
            stamp = record.get("timestamp", "")
            if until is not None and stamp and datetime.fromisoformat(stamp) > until:
                after += 1
            else:
                problems[f"{record.get('level')}: {event}"] += 1
        return LogSummary(
            orders_sent=events["order sent"],
            orders_refused=events["order refused"],
            fills=events["fill"],
            problems=dict(problems.most_common(10)),
            problems_after_last_bar=after,
        )


@dataclass
class LogSummary:
    orders_sent: int
    orders_refused: int
    fills: int
    problems: dict[str, int]
    problems_after_last_bar: int


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
    """A slot every `interval` seconds, so simulated time runs at a steady rate.

    Behind schedule by more than `max_lag`, the schedule moves (an overrun); less than
    that, slots follow each other at once until the schedule is met again. The latency run
    uses `max_lag` = one interval: a late order then delays the following bars instead of
    bunching them onto a worker that is still busy."""

    def __init__(self, interval: float, max_lag: float) -> None:
        self.interval, self.max_lag = interval, max_lag
        self._next = time.perf_counter()
        self.overruns = 0
        self._pause = threading.Event()

    def wait(self) -> None:
        now = time.perf_counter()
        if now < self._next:
            self._pause.wait(self._next - now)
        elif now - self._next > self.max_lag:
            self.overruns += 1
            self._next = now
        self._next += self.interval


# ---- --trace: time stamps inside the worker -------------------------------------------------

TRACE_ENV = "WORKER_BENCH_TRACE"
"""Set in a traced worker's environment: the JSON file it writes its stamps to at exit."""
TRACE_MEMORY_ENV = "WORKER_BENCH_TRACEMALLOC"
TRACE_LAUNCH = "from bench.worker_bench import traced_worker; traced_worker()"
LEDGER_METHODS = ("create_orders", "update_order", "add_fill", "set_commission",
                  "record_risk_decision", "snapshot_equity", "save_state", "orders", "order",
                  "fills", "record_connection_event")  # fmt: skip
STAGES = (
    ("wire in", "sent", "rx", "simulator send -> worker socket read (client thread)"),
    ("decode", "rx", "decoded", "ib_async decode + IBClient bar -> IBLink.on_bar"),
    ("queue hop", "decoded", "dequeued", "inbox.put -> main thread takes the bar"),
    ("bar -> submit", "dequeued", "submit", "store, barrier, Cerebro, next(), broker"),
    ("risk", "submit", "persist", "OrderManager.submit: trading gate, portfolio, risk gate"),
    ("persist", "persist", "persisted", "Ledger.create_orders (SQLite commit)"),
    ("hop to client", "persisted", "place", "order_specs, client.call -> ib loop"),
    ("encode+write", "place", "placed", "ib_async Client.placeOrder (encode, write)"),
    ("wire out", "placed", "received", "worker write -> simulator dispatch"),
)


class WorkerTrace:
    """Installed in a traced worker: `perf_counter` stamps (CLOCK_MONOTONIC on Linux, so
    comparable with the bench's) along the bar -> order path, keyed by the bar's end,
    plus durations of chosen calls and of every garbage collection."""

    def __init__(self, memory: bool = False) -> None:
        self.memory = memory
        self.bars: dict[int, dict[str, float]] = {}
        self.calls: dict[str, list[float]] = {}
        self.gc: list[tuple[int, float, float]] = []  # generation, start, seconds
        self._current: dict[str, float] = {}
        self._rx = 0.0
        self._gc_start = 0.0
        self._snapshot: Any = None
        self.gc_objects = 0
        """Objects the collector tracks at the first order: what a full collection walks."""
        self.growth: list[tuple[str, int, int]] = []
        self.type_growth: list[tuple[str, int]] = []
        self._types: Counter[str] = Counter()
        self.missing: list[str] = []
        """Hooks that found nothing to wrap (the worker's code changed)."""

    def install(self) -> None:
        import gc
        import importlib

        from tradd.ib.clock import GatewayClock
        from tradd.ib.link import IBLink
        from tradd.ib.store import IBStore
        from tradd.persistence.ledger import Ledger
        from tradd.worker.engine import WorkerEngine
        from tradd.worker.orders import OrderManager

        connection: Any = importlib.import_module("ib_async.connection").Connection
        client: Any = importlib.import_module("ib_async.client").Client
        received = connection.data_received

        def data_received(conn: Any, data: bytes) -> None:  # decodes and emits inside
            self._rx = time.perf_counter()
            received(conn, data)

        connection.data_received = data_received

        def on_bar(args: tuple[Any, ...], began: float, ended: float) -> None:
            bar = args[1]
            stamps = self.bars.setdefault(int(bar.start.timestamp()) + bar.seconds, {})
            stamps.setdefault("rx", self._rx)  # the main thread may have it already
            stamps.setdefault("decoded", began)

        def on_dequeue(args: tuple[Any, ...], began: float, ended: float) -> None:
            bar = args[1]
            end = int(bar.start.timestamp()) + bar.seconds
            self._current = self.bars.setdefault(end, {})
            self._current["dequeued"] = began

        def stage(start: str, end: str) -> Callable[[tuple[Any, ...], float, float], None]:
            def record(args: tuple[Any, ...], began: float, ended: float) -> None:
                self._current.setdefault(start, began)
                self._current.setdefault(end, ended)

            return record

        self._wrap(IBLink, "on_bar", on_bar)
        self._wrap(IBStore, "_on_stream_bar", on_dequeue)
        self._wrap(OrderManager, "submit", stage("submit", "submitted"), "OrderManager.submit")
        self._wrap(Ledger, "create_orders", stage("persist", "persisted"), "Ledger.create_orders")
        self._wrap(client, "placeOrder", stage("place", "placed"), "ib_async Client.placeOrder")
        self._wrap(IBLink, "place", stage("place_call", "placed_back"), "IBLink.place")
        for name in LEDGER_METHODS:
            if name != "create_orders":
                self._wrap(Ledger, name, None, f"Ledger.{name}")
        self._wrap(GatewayClock, "_observe", None, "GatewayClock._observe (reqCurrentTime)")
        self._wrap(WorkerEngine, "tick", None, "WorkerEngine.tick")
        self._wrap(WorkerEngine, "portfolio", None, "WorkerEngine.portfolio")
        self._wrap(WorkerEngine, "handle", None, "WorkerEngine.handle[{event}]")
        self._wrap(OrderManager, "submit", self._first_order)
        try:  # where the stop command lands: the operator, or (before) the engine itself
            stopper: Any = importlib.import_module("tradd.worker.operator").Operator
        except ImportError:
            stopper = WorkerEngine
        self._wrap(stopper, "begin_stop", self._at_stop)
        gc.callbacks.append(self._on_gc)

    def _first_order(self, args: tuple[Any, ...], began: float, ended: float) -> None:
        """At the first order: the heap's size, and (memory run) tracemalloc from here on."""
        import gc
        import tracemalloc

        if self.gc_objects:
            return
        self.gc_objects = len(gc.get_objects())
        if self.memory:
            self._types = _type_counts()
            tracemalloc.start(1)
            self._snapshot = tracemalloc.take_snapshot()

    def _wrap(
        self,
        cls: Any,
        name: str,
        stamp: Callable[[tuple[Any, ...], float, float], None] | None,
        timed: str = "",
    ) -> None:
        original = getattr(cls, name, None)
        if original is None:  # tradd moved on: that stage or cost is simply not reported
            self.missing.append(f"{cls.__name__}.{name}")
            return
        calls = self.calls

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                ended = time.perf_counter()
                if stamp is not None:
                    stamp(args, began, ended)
                if timed:
                    key = timed.format(event=type(args[-1]).__name__) if "{" in timed else timed
                    calls.setdefault(key, []).append(ended - began)

        setattr(cls, name, wrapper)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_start = now
        else:
            self.gc.append((info["generation"], self._gc_start, now - self._gc_start))

    def _at_stop(self, args: tuple[Any, ...], began: float, ended: float) -> None:
        """The stop command (memory run): what is still allocated since the first order,
        and which kinds of object grew in number, while the worker is intact (at exit it is
        half torn down)."""
        import tracemalloc

        if self._snapshot is None or self.growth:
            return
        ours = [tracemalloc.Filter(False, __file__), tracemalloc.Filter(False, "<unknown>")]
        after = tracemalloc.take_snapshot().filter_traces(ours)
        before = self._snapshot.filter_traces(ours)
        for key in ("filename", "lineno"):
            for diff in after.compare_to(before, key)[:12]:
                self.growth.append((_short(str(diff.traceback)), diff.size_diff, diff.count_diff))
        self.type_growth = _type_growth(self._types, _type_counts())

    def dump(self, path: Path) -> None:
        document = {"bars": self.bars, "calls": self.calls, "gc": self.gc, "growth": self.growth,
                    "type_growth": self.type_growth, "gc_objects": self.gc_objects,
                    "missing": self.missing}  # fmt: skip
        path.write_text(json.dumps(document))


def _short(site: str) -> str:
    site = site.removeprefix(str(ROOT) + "/")
    site = site.replace(".venv/lib/python3.11/site-packages/", "")
    return site.replace(f"{sys.base_prefix}/lib/python3.11/", "stdlib/")


def _type_counts() -> Counter[str]:
    import gc

    counts: Counter[str] = Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        counts[f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")] += 1
    return counts


def _type_growth(before: Counter[str], after: Counter[str]) -> list[tuple[str, int]]:
    grown = after.copy()
    grown.subtract(before)
    return [(name, n) for name, n in grown.most_common(15) if n > 0]


def traced_worker() -> None:
    """A traced worker process (`--trace`): tradd.worker's own main, stamps written at exit."""
    import atexit

    from tradd.worker.__main__ import main as worker_main

    trace = WorkerTrace(memory=os.environ.get(TRACE_MEMORY_ENV) == "1")
    trace.install()
    atexit.register(trace.dump, Path(os.environ[TRACE_ENV]))
    sys.exit(worker_main(sys.argv[1:]))


@dataclass
class Stage:
    name: str
    what: str
    p50_ms: float
    p99_ms: float
    mean_ms: float


@dataclass
class CallCost:
    name: str
    calls: int
    mean_ms: float
    p99_ms: float
    max_ms: float
    total_s: float


@dataclass
class Breakdown:
    """Where the bar -> order time goes (from a traced worker; includes its overhead)."""

    signals: int
    stages: list[Stage]
    slowest: list[dict[str, float]]  # per-stage ms of the five slowest signals
    calls: list[CallCost]
    gc_by_generation: dict[int, dict[str, float]]
    gc_during_signals: int  # collections that started inside a measured bar -> order window
    gc_objects: int  # objects the collector tracked at the first order
    growth: list[tuple[str, float, int]]  # memory run: by file, then by line: KiB, blocks
    type_growth: list[tuple[str, int]]  # memory run: more live objects of these types
    missing_hooks: list[str]  # functions the tracer did not find (tradd changed)


def breakdown(trace_file: Path, signals: list[tuple[Published, Arrival]]) -> Breakdown:
    document = json.loads(trace_file.read_text())
    bars: dict[str, dict[str, float]] = document["bars"]
    rows: list[dict[str, float]] = []
    for out, order in signals:
        stamps = dict(bars.get(str(out.boundary), {}))
        stamps.update(sent=out.sent, received=order.received)
        if all(start in stamps and end in stamps for _, start, end, _ in STAGES):
            rows.append(stamps)
    stages = []
    for name, start, end, what in STAGES:
        values = sorted(r[end] - r[start] for r in rows)
        if values:
            p50, p99 = ms(percentile(values, 50)), ms(percentile(values, 99))
            stages.append(Stage(name, what, p50, p99, ms(sum(values) / len(values))))
    slowest = []
    for r in sorted(rows, key=lambda r: r["sent"] - r["received"])[:5]:  # slowest first
        row = {"total": ms(r["received"] - r["sent"])}
        row.update({name: ms(r[end] - r[start]) for name, start, end, _ in STAGES})
        slowest.append(row)
    calls = []
    for name, values in document["calls"].items():
        v = sorted(values)
        calls.append(CallCost(name, len(v), ms(sum(v) / len(v)), ms(percentile(v, 99)),
                              ms(v[-1]), round(sum(v), 3)))  # fmt: skip
    calls.sort(key=lambda c: -c.total_s)
    gcs: dict[int, dict[str, float]] = {}
    for generation, _, seconds in document["gc"]:
        g = gcs.setdefault(generation, {"count": 0, "total_ms": 0.0, "max_ms": 0.0})
        g["count"] += 1
        g["total_ms"] = round(g["total_ms"] + seconds * 1e3, 3)
        g["max_ms"] = max(g["max_ms"], ms(seconds))
    windows = [(out.sent, order.received) for out, order in signals]
    during = sum(1 for _, start, _ in document["gc"] if any(a <= start <= b for a, b in windows))
    growth = [(site, round(size / MIB, 1), count) for site, size, count in document["growth"]]
    return Breakdown(len(rows), stages, slowest, calls, gcs, during, document["gc_objects"],
                     growth, document["type_growth"], document["missing"])  # fmt: skip


# ---- latency --------------------------------------------------------------------------------


@dataclass
class LatencyRun:
    symbols: list[str]
    bar: str
    signals: int
    warmup: int
    interval_s: float
    drained: bool  # the worker had booked the previous fill before each bar
    timeout_s: float
    latency: Distribution | None  # bar sent by the simulator -> placeOrder received
    from_step: Distribution | None  # step began (the bar is due) -> placeOrder received
    sim_accept: Distribution | None  # placeOrder received -> simulator logged it placed
    advance: Distribution | None  # step began -> advance() returned (bar built, queued)
    flush: Distribution | None  # advance() returned -> the coalesced write begins
    send: Distribution | None  # the write (transport.write: send() on loopback)
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
    trace: Breakdown | None  # --trace: the traced worker's breakdown (numbers above traced too)


@dataclass
class Signals:
    """What the latency run saw of its measured signals."""

    steps: list[Published] = field(default_factory=list)
    answered: list[tuple[int, Published, Arrival]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    unexpected: int = 0

    def latencies(self) -> list[float]:
        return [order.received - out.sent for _, out, order in self.answered]


def latency_run(args: argparse.Namespace) -> LatencyRun:
    entry = {"symbols": list(LATENCY_SYMBOLS), "bar": "5s", "warmup_bars": 20,
             "params": {"size": 1}}  # fmt: skip
    tap = OrderTap()
    seen = Signals()
    trace = None
    last_bar: datetime | None = None
    with workdir_for(args.workdir, "latency") as workdir, BackgroundGateway(sim_config()) as sim:
        sim.call(tap.install, sim.gw)
        worker = WorkerProcess(workdir, sim.port, entry, "time" if args.trace else "")
        try:
            ready_s = worker.wait_ready(args.ready_timeout)
            sim.call(tap.watch_sessions, sim.gw)
            pacer = Pacer(args.interval, max_lag=args.interval)
            answered = 0
            for n in range(-args.warmup, args.signals):
                pacer.wait()
                before = len(tap.arrivals)
                out = sim.run(lambda: step(sim.gw, BUCKET, tap))
                got = tap.wait_for(before + 1, args.timeout)
                answered += got
                if got and tap.arrivals[before].sim_time != out.boundary:
                    seen.unexpected += 1  # a late order of an earlier bar, or a stray
                if n < 0:
                    continue
                seen.steps.append(out)
                if got:
                    seen.answered.append((n, out, tap.arrivals[before]))
                else:
                    seen.missing.append(n)
                    worker.check_alive()
                if got and not args.no_drain:
                    worker.drain(args.settle)
            last_bar = datetime.now(UTC)
            tap.wait_for(len(tap.arrivals) + 1, 0.2)  # orders nobody waited for
            seen.unexpected += len(tap.arrivals) - answered
        finally:
            worker.stop()
        worker_log = worker.log_summary(last_bar)
        if worker.trace_file is not None and worker.trace_file.exists():
            trace = breakdown(worker.trace_file, [(out, o) for _, out, o in seen.answered])
    values = seen.latencies()
    dist = Distribution.of(values)
    slowest = sorted(zip((n for n, _, _ in seen.answered), values, strict=True),
                     key=lambda x: -x[1])[:5]  # fmt: skip
    return LatencyRun(
        symbols=list(LATENCY_SYMBOLS),
        bar="5s",
        signals=args.signals,
        warmup=args.warmup,
        interval_s=args.interval,
        drained=not args.no_drain,
        timeout_s=args.timeout,
        latency=dist,
        from_step=Distribution.of([o.received - out.began for _, out, o in seen.answered]),
        sim_accept=Distribution.of([o.accepted - o.received for _, _, o in seen.answered]),
        advance=Distribution.of([out.published - out.began for out in seen.steps]),
        flush=Distribution.of([out.sent - out.published for out in seen.steps]),
        send=Distribution.of([out.send_s for out in seen.steps if out.send_s is not None]),
        missing=len(seen.missing),
        missing_signals=seen.missing[:20],
        unexpected=seen.unexpected,
        rejected_by_sim=tap.rejected,
        slowest=[(n, ms(v)) for n, v in slowest],
        over_target=sum(1 for v in values if v * 1e3 > TARGET_P99_MS),
        pacing_overruns=pacer.overruns,
        ready_s=round(ready_s, 2),
        worker_log=worker_log,
        exit_code=worker.exit_code,
        meets_target=dist is not None and dist.p99_ms <= TARGET_P99_MS and not seen.missing,
        trace=trace,
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
    bar_to_last_order: Distribution | None  # bar sent -> the last of its three orders
    pacing_overruns: int
    ready_s: float
    worker_log: LogSummary
    exit_code: int | None
    meets_target: bool
    trace: Breakdown | None  # --trace: allocations still alive since the first order


def memory_run(args: argparse.Namespace) -> MemoryRun:
    entry = {"symbols": list(MEMORY_SYMBOLS), "bar": "1m", "warmup_bars": 200,
             "params": {"size": 1, "all_symbols": True}}  # fmt: skip
    per_bar = 60 // BUCKET
    per_order = len(MEMORY_SYMBOLS)
    tap = OrderTap()
    bar_ends: list[Published] = []
    samples: list[MemorySample] = []
    trace = None
    last_bar: datetime | None = None
    with workdir_for(args.workdir, "memory") as workdir, BackgroundGateway(sim_config()) as sim:
        sim.call(tap.install, sim.gw)
        worker = WorkerProcess(workdir, sim.port, entry, "memory" if args.trace else "")
        try:
            ready_s = worker.wait_ready(args.ready_timeout)
            sim.call(tap.watch_sessions, sim.gw)
            samples.append(worker.memory("ready", 0))
            pacer = Pacer(args.memory_interval, max_lag=1.0)
            for i in range(1, args.memory_bars * per_bar + 1):
                pacer.wait()
                out = sim.run(lambda: step(sim.gw, BUCKET, tap))
                if i % per_bar:
                    continue
                bar_ends.append(out)
                worker.check_alive()
                bars = i // per_bar
                if bars % MEMORY_SAMPLE_EVERY == 0 or bars == args.memory_bars:
                    samples.append(worker.memory(f"{bars} bars", bars))
            last_bar = datetime.now(UTC)
            expected = args.memory_bars * per_order
            tap.wait_for(expected, args.timeout)
            worker.status(60)  # every fill booked: answered once the worker's queue drained
            samples.append(worker.memory("end", args.memory_bars))
        finally:
            worker.stop()
        worker_log = worker.log_summary(last_bar)
        if worker.trace_file is not None and worker.trace_file.exists():
            trace = breakdown(worker.trace_file, [])
    last_orders = []
    arrivals = sorted(tap.arrivals, key=lambda a: a.received)
    for k, bar in enumerate(bar_ends):
        until = bar_ends[k + 1].sent if k + 1 < len(bar_ends) else math.inf
        group = [a for a in arrivals if bar.sent <= a.received < until]
        if len(group) >= per_order:
            last_orders.append(group[per_order - 1].received - bar.sent)
    marks = [s for s in samples if s.label.endswith(" bars")]
    growth = None
    if len(marks) >= 2 and marks[-1].bars > marks[0].bars:
        growth = round(
            (marks[-1].rss_mib - marks[0].rss_mib) * MIB / (marks[-1].bars - marks[0].bars), 2
        )
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
        pacing_overruns=pacer.overruns,
        ready_s=round(ready_s, 2),
        worker_log=worker_log,
        exit_code=worker.exit_code,
        meets_target=peak <= TARGET_RSS_MIB,
        trace=trace,
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
    if results.latency is not None:
        print_latency(results.latency)
    if results.memory is not None:
        print_memory(results.memory)
    if results.latency is not None and results.latency.trace is not None:
        print_breakdown(results.latency.trace)
    if results.memory is not None and results.memory.trace is not None:
        print(
            "\nMemory allocated since the first order and still held at exit (tracemalloc in "
            "the traced worker; by file, then by line):"
        )
        for site, kib, count in results.memory.trace.growth:
            print(f"  {kib:>9.1f} KiB {count:>7} blocks  {site}")
        growth = results.memory.trace.type_growth
        print("  live objects (gc-tracked), more at the stop than at the first order:")
        print("    " + ", ".join(f"{name} +{count}" for name, count in growth))
    print("\nScheduling noise (how late a 1 ms wait wakes), before / after the runs:")
    for before, after in zip(results.noise_before, results.noise_after, strict=True):
        print(
            f"  {before.what:<30} p50 {before.p50_ms:.3f} / {after.p50_ms:.3f}  "
            f"p99 {before.p99_ms:.3f} / {after.p99_ms:.3f}  "
            f"max {before.max_ms:.3f} / {after.max_ms:.3f} ms"
        )


def print_latency(lat: LatencyRun) -> None:
    print(
        f"\nLatency: bar sent by the simulator -> the worker's order received by it; "
        f"{STRATEGY} on {', '.join(lat.symbols)}, {lat.bar} bars, one bucket every "
        f"{lat.interval_s * 1e3:g} ms{'' if lat.drained else ' (not drained)'}, "
        f"{lat.warmup} warm-up signals discarded"
    )
    if lat.trace is not None:
        print("  (--trace: a traced worker, so every figure includes the tracing overhead)")
    verdict = "ok" if lat.meets_target else "MISSED"
    print(f"  bar -> order  {lat.latency.line() if lat.latency else '-'}  "
          f"target p99 <= {TARGET_P99_MS:g} ms: {verdict}")  # fmt: skip
    for label, dist, what in (
        ("step -> order", lat.from_step, "adds the simulator's own publish"),
        ("sim advance", lat.advance, "simulator building and queueing the bucket"),
        ("sim flush", lat.flush, "queued -> the coalesced write begins"),
        ("sim send", lat.send, "the write itself: loopback send(), in the kernel"),
        ("sim accept", lat.sim_accept, "simulator handling the placeOrder"),
    ):
        if dist:
            print(f"  {label:<13} {dist.line()}  ({what})")
    print(
        f"  missing {lat.missing} (timeout {lat.timeout_s:g} s), unexpected {lat.unexpected}, "
        f"rejected by simulator {lat.rejected_by_sim}, over {TARGET_P99_MS:g} ms "
        f"{lat.over_target}, pacing overruns {lat.pacing_overruns}"
    )
    slow = ", ".join(f"#{n}: {v:.1f}" for n, v in lat.slowest)
    print(f"  slowest (signal: ms) {slow}")
    print_worker(lat.ready_s, lat.worker_log, lat.exit_code)


def print_memory(mem: MemoryRun) -> None:
    print(
        f"\nMemory: one worker, {STRATEGY}(all_symbols) on {', '.join(mem.symbols)}, "
        f"{mem.bar} bars, warm-up {mem.warmup_bars} bars, {mem.bars} live bars"
    )
    if mem.trace is not None:
        print("  (--trace: tracemalloc runs in the worker, so RSS and latency are inflated)")
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
        f"growth {growth}; orders {mem.orders_received}/{mem.orders_expected}; "
        f"pacing overruns {mem.pacing_overruns}"
    )
    if mem.bar_to_last_order:
        print(f"  bar -> 3rd order {mem.bar_to_last_order.line()}")
    print_worker(mem.ready_s, mem.worker_log, mem.exit_code)


def print_worker(ready_s: float, log: LogSummary, exit_code: int | None) -> None:
    print(
        f"  worker: ready after {ready_s:g} s, log: {log.orders_sent} orders sent, "
        f"{log.orders_refused} refused, {log.fills} fills; exit code {exit_code}"
    )
    print(f"  worker warnings/errors: {log.problems or 'none'}", end="")
    print(
        f" (+{log.problems_after_last_bar} after the last bar)"
        if log.problems_after_last_bar
        else ""
    )


def print_breakdown(trace: Breakdown) -> None:
    print(f"\nWhere the time goes (traced worker, {trace.signals} signals; stages add up):")
    if trace.missing_hooks:
        print(f"  (not traced, not found in tradd: {', '.join(trace.missing_hooks)})")
    print(f"  {'stage':<14} {'p50 ms':>7} {'p99 ms':>7} {'mean ms':>8}")
    for st in trace.stages:
        print(f"  {st.name:<14} {st.p50_ms:>7.3f} {st.p99_ms:>7.3f} {st.mean_ms:>8.3f}  {st.what}")
    print("  slowest signals, ms per stage:")
    for row in trace.slowest:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k == "total" or v >= 0.5)
        print(f"    {parts}")
    print("  worker calls by total time (main thread unless noted):")
    for c in trace.calls[:14]:
        print(
            f"    {c.name:<44} {c.calls:>6} x {c.mean_ms:>7.3f} ms  p99 {c.p99_ms:>7.3f}  "
            f"max {c.max_ms:>7.2f}  total {c.total_s:>6.2f} s"
        )
    gcs = ", ".join(
        f"gen{g}: {v['count']:g} x, max {v['max_ms']:.1f} ms, total {v['total_ms']:.0f} ms"
        for g, v in sorted(trace.gc_by_generation.items())
    )
    print(
        f"  garbage collections: {gcs}; {trace.gc_during_signals} inside a bar -> order "
        f"window; {trace.gc_objects:,} objects tracked at the first order"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--signals",
        type=int,
        default=1000,
        help="measured bars (orders) in the latency run (default 1000)",
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="first signals not counted (default 20)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.08,
        help="wall seconds between buckets in the latency run (default 0.08)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        help="an order later than this is counted missing (default 2 s)",
    )
    parser.add_argument(
        "--memory-bars",
        type=int,
        default=300,
        help="1-minute bars in the memory run; 0 skips it (default 300)",
    )
    parser.add_argument(
        "--memory-interval",
        type=float,
        default=None,
        help="wall seconds between buckets in the memory run (default 0.02; 0.08 with "
        "--trace, as tracemalloc slows the worker down)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.005,
        help="after each order, seconds for its fill reports to reach the worker, which is "
        "then pinged so the next bar finds it idle (default 0.005)",
    )
    parser.add_argument(
        "--no-drain",
        action="store_true",
        help="do not wait for the worker to book each fill before the next bar",
    )
    parser.add_argument("--no-latency", action="store_true", help="skip the latency run")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a few seconds, every step, figures that mean nothing (CI): " + str(TINY),
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="diagnosis: run traced workers (time stamps, call costs, GC pauses; tracemalloc "
        "in the memory run) and print where the time and memory go; adds overhead",
    )
    parser.add_argument(
        "--noise-seconds",
        type=float,
        default=2.0,
        help="seconds per scheduling-noise measurement (default 2)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=90.0,
        help="seconds a worker may take to be ready (default 90)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep configs, databases and worker logs here (default: temp dir)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"JSON results file (default {DEFAULT_OUTPUT.relative_to(ROOT)}; with --trace "
        "none unless given, so traced figures do not replace the plain ones)",
    )
    args = parser.parse_args(argv)
    if args.tiny:
        vars(args).update(TINY)
    if args.output is None and not args.trace:
        args.output = TINY_OUTPUT if args.tiny else DEFAULT_OUTPUT
    if args.memory_interval is None:
        args.memory_interval = 0.08 if args.trace else 0.02
    if args.warmup < 0 or args.signals < 1 or args.warmup + args.signals > SESSION_BUCKETS - 60:
        parser.error(f"--warmup + --signals: 1..{SESSION_BUCKETS - 60} buckets fit in a session")
    if not 0 <= args.memory_bars <= 380:
        parser.error("--memory-bars: 0..380 one-minute bars fit in a session")
    if min(args.interval, args.memory_interval, args.timeout) <= 0 or args.settle < 0:
        parser.error("--interval, --memory-interval and --timeout must be positive")
    return args


def commit() -> str | None:
    """The checked-out commit (read only; the working tree may hold more)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


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
        "commit": commit(),
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
    if args.output is None:
        print(f"\n{results.seconds:g} s; traced run: no results file (--output to write one)")
        return
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {args.output} ({results.seconds:g} s)")


if __name__ == "__main__":
    main()
