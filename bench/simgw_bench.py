"""Benchmark: how fast, and how promptly, the simulated IB Gateway (`tradd.simgw`) streams data.

Two measurements, in one run (defaults take about 75 s):

1. **Throughput** - sustained messages per second *received* by raw TCP clients, with one
   client and with ``--clients`` (default 10) concurrent clients. Each client is a bare
   ``asyncio.Protocol`` (no ib_async / ib_insync: a client library would be the bottleneck
   and we want to measure the server). It does the TWS handshake and startApi, then asks for
   market data (``--tick-subs`` subscriptions per symbol, 4 ticks per bucket each) and
   5-second real-time bars (``--bar-subs`` per symbol) on all five sample symbols, and counts
   complete frames. The gateway runs with a paused clock (speed 0) and the benchmark steps it
   with ``SimGateway.advance(--chunk)`` in the same event loop, keeping at most about two chunks
   of messages in flight so the rate is what clients actually get, not what piles up in
   socket buffers. Whenever an instrument closes (evening, weekend) the clock jumps to the
   next moment all five trade, so the traffic mix stays constant. Rate = frames received
   during a fixed wall-clock ``--window`` / window. Target: >= 20,000 msgs/s.

2. **Latency** - from the moment the simulated clock reaches the end of a 5-second bucket
   (``bucket_start + 5``; that is when the bar exists) to the moment a raw client's
   ``data_received`` sees the real-time bar. The gateway runs in real time (speed 1) for
   ``--latency-seconds``; the due time of each bar is computed from the gateway's own clock,
   ``clock._base_real + (bucket_start + 5 - clock._base_sim) / speed`` (``SimClock`` uses
   ``time.monotonic``, and so does the client). The client subscribes to
   ``--latency-bar-subs`` real-time-bar and 2 market-data subscriptions per symbol, so at
   speed 1 each 5 s brings 5 x bar-subs samples; samples of one bucket arrive together and
   are not independent, so the number of distinct buckets is reported too. Target: p99 <= 2 ms.
   It starts one minute after the stocks' open (the day's tapes are then already expanded).
   A second, shorter run at speed 60 (``--fast-latency-seconds``; same code path, twelve
   buckets per real second) gives a statistically meaningful distribution, and it starts
   30 s before the stocks open so it also catches the session-open bucket, where
   ``Tape._expand`` builds each daily bar's one-second path inside the replay step;
   that bucket's latency is reported on its own.

Clients and gateway share one process and one event loop, as in tests and most rehearsals:
the throughput figure is therefore server *and* client work on one core, a lower bound for
the server alone ("publish" is the share of the window spent inside ``advance``: building
and encoding messages). Latency includes timer lateness: the replay loop sleeps until the
next boundary, asyncio rounds epoll timeouts up to whole milliseconds, and Linux lets an epoll
wait overrun by 0.1% of its timeout (up to 5 ms for the 5-s sleeps at speed 1). The "timer
floor" line - how late a bare ``asyncio.sleep(0.02)`` wakes during the run - shows what the
machine adds (other processes competing for the CPUs show up there).

    .venv/bin/python -m bench.simgw_bench [--window 5] [--latency-seconds 42] [--tiny]

``--tiny`` (CI: tests/bench/test_simgw_bench.py; about 7 s): 0.5 s windows, one and two
clients, no speed-1 run (a bucket every 5 s is too slow for CI), 1.5 s at speed 60 (the
same code, the open bucket and a dozen more); figures that mean nothing.

Results are printed as a table and written to bench/results/simgw.json (``--output``;
tiny runs: bench/results/tiny/simgw.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import structlog

from tradd.marketdata.contracts import load_definitions
from tradd.simgw.config import SimConfig
from tradd.simgw.contracts import instrument_for
from tradd.simgw.gateway import SimGateway
from tradd.simgw.tape import BUCKET
from tradd.simgw.wire import FieldValue, encode

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tradd" / "sample_data"
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "simgw.json"
TINY_OUTPUT = ROOT / "bench" / "results" / "tiny" / "simgw.json"
TINY = {"window": 0.5, "latency_seconds": 0.0, "fast_latency_seconds": 1.5,
        "floor_seconds": 0.3, "clients": 2}  # fmt: skip
SYMBOLS = ("GOOG", "ORCL", "NVDA", "YHOO", "IDXFUT")
DAY = date(2006, 1, 10)  # all five sample series trade then (IDXFUT: 2006-01-02 .. 02-27)
TARGET_RATE = 20_000.0
TARGET_P99_MS = 2.0
HELLO_VERSIONS = b"v157..176"
HELLO = b"API\0" + struct.pack(">I", len(HELLO_VERSIONS)) + HELLO_VERSIONS
FRAME_LEN = struct.Struct(">I")
TICK_PREFIXES = (b"1\0", b"2\0")  # tickPrice, tickSize
BAR_PREFIX = b"50\0"  # realTimeBar
NEXT_ID_PREFIX = b"9\0"  # nextValidId: the last answer to startApi we wait for

BarHandler = Callable[[bytes, float], None]


# ---- raw client ---------------------------------------------------------------------------


class Meter:
    """Frames received by all clients together; lets the driver wait for them to catch up."""

    def __init__(self) -> None:
        self.received = 0
        self._target = 0
        self._waiter: asyncio.Future[None] | None = None

    def add(self, frames: int) -> None:
        self.received += frames
        waiter = self._waiter
        if waiter is not None and self.received >= self._target and not waiter.done():
            waiter.set_result(None)

    async def wait_until(self, target: int, timeout: float) -> None:
        """Until ``target`` frames have been received in all, or ``timeout`` seconds pass."""
        if self.received >= target or timeout <= 0:
            return
        self._target = target
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiter = None


class RawClient(asyncio.Protocol):
    """A TWS API client reduced to framing: handshake, startApi, then count frames."""

    def __init__(self, client_id: int, meter: Meter, on_bar: BarHandler | None = None) -> None:
        self.client_id = client_id
        self.meter = meter
        self.on_bar = on_bar
        self.frames = 0  # after the handshake reply
        self.ticks = 0
        self.bars = 0
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buf = bytearray()
        self._greeted = False
        self._next_req = 1
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(HELLO)

    def data_received(self, data: bytes) -> None:
        received = time.monotonic()
        buf = self._buf
        buf += data
        size_all = len(buf)
        pos = frames = 0
        while size_all - pos >= 4:
            start = pos + 4
            end = start + FRAME_LEN.unpack_from(buf, pos)[0]
            if end > size_all:
                break
            pos = end
            if not self._greeted:  # [version, time]: answer with startApi
                self._greeted = True
                self.send([71, 2, self.client_id, ""])
                continue
            frames += 1
            if buf.startswith(TICK_PREFIXES, start):
                self.ticks += 1
            elif buf.startswith(BAR_PREFIX, start):
                self.bars += 1
                if self.on_bar is not None:
                    self.on_bar(bytes(buf[start:end]), received)
            elif buf.startswith(NEXT_ID_PREFIX, start) and not self.ready.done():
                self.ready.set_result(None)
        del buf[:pos]
        self.frames += frames
        self.meter.add(frames)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"client {self.client_id}: connection lost"))

    def send(self, *messages: list[FieldValue]) -> None:
        assert self._transport is not None
        self._transport.write(b"".join(encode(m) for m in messages))

    def req_id(self) -> int:
        self._next_req += 1
        return self._next_req

    def subscribe(self, symbols: tuple[str, ...], tick_subs: int, bar_subs: int) -> dict[int, str]:
        """reqMktData and reqRealTimeBars for every symbol; returns reqId -> symbol."""
        requests: list[list[FieldValue]] = []
        by_req: dict[int, str] = {}
        for symbol in symbols:
            block = contract_block(symbol)
            for _ in range(tick_subs):
                req = self.req_id()
                by_req[req] = symbol
                requests.append([1, 11, req, *block, 0, "", 0, 0, ""])
            for _ in range(bar_subs):
                req = self.req_id()
                by_req[req] = symbol
                requests.append([50, 3, req, *block, 5, "TRADES", 0, ""])
        self.send(*requests)
        return by_req

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def connect(
    gw: SimGateway, client_id: int, meter: Meter, on_bar: BarHandler | None = None
) -> RawClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: RawClient(client_id, meter, on_bar), "127.0.0.1", gw.port
    )
    await asyncio.wait_for(client.ready, 10)
    return client


# ---- gateway helpers ----------------------------------------------------------------------


def contract_block(symbol: str) -> list[FieldValue]:
    """The request's contract as IB knows the data symbol (IDXFUT is a Eurex future)."""
    inst = instrument_for(symbol, load_definitions(DATA).spec(symbol))
    return [inst.con_id, inst.symbol, inst.sec_type, inst.last_trade_date, 0.0, "",
            inst.multiplier, inst.exchange, "", inst.currency, inst.local_symbol, ""]  # fmt: skip


def all_open_at(gw: SimGateway, t: int) -> int:
    """The first moment at or after ``t`` when every instrument trades."""
    while True:
        later = t
        for tape in gw.tapes.values():
            if tape.bar_index(later) is None:
                nxt = tape.next_open(later)
                if nxt is None:
                    sys.exit(f"replay data exhausted at {datetime.fromtimestamp(t, UTC)}")
                later = max(later, nxt)
        if later == t:
            return t
        t = later


def build_gateway(speed: float, offset: int) -> SimGateway:
    """A gateway whose clock stands ``offset`` seconds after the first all-open moment of DAY."""
    config = SimConfig(data_dir=DATA, port=0, speed=speed, pacing=False, symbols=SYMBOLS, start=DAY)
    gw = SimGateway(config)
    gw.clock.set(all_open_at(gw, gw.sim_time) + offset)  # start() derives the first boundary
    return gw


def messages_sent(gw: SimGateway) -> int:
    return sum(session.messages_sent for session in gw.core.sessions.values())


def skip_to_all_open(gw: SimGateway) -> bool:
    """Jump a paused clock over closed hours, as ReplayLoop does at speed > 0."""
    now = gw.sim_time
    opens = all_open_at(gw, now)
    if opens == now:
        return False
    gw.clock.set(opens)
    gw.replay.next_boundary = (opens // BUCKET + 1) * BUCKET
    return True


async def subscribed(gw: SimGateway, expected: int, timeout: float = 10.0) -> None:
    """Until the gateway holds ``expected`` live subscriptions."""
    deadline = time.perf_counter() + timeout
    while len(gw.core.market.subscriptions) < expected:
        if time.perf_counter() > deadline:
            sys.exit(f"{len(gw.core.market.subscriptions)} of {expected} subscriptions took")
        await asyncio.sleep(0.005)


async def settle(gw: SimGateway, meter: Meter, timeout: float = 10.0) -> None:
    """Until the clients have received everything the gateway has sent them."""
    deadline = time.perf_counter() + timeout
    while meter.received < messages_sent(gw):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            sys.exit(f"clients got {meter.received} of {messages_sent(gw)} messages")
        await meter.wait_until(messages_sent(gw), remaining)


# ---- throughput ---------------------------------------------------------------------------


@dataclass
class Throughput:
    clients: int
    window_s: float
    received: int
    rate: float
    per_client_min: float
    per_client_mean: float
    per_client_max: float
    sent_rate: float
    publish_share: float
    sim_seconds: float
    ticks: int
    bars: int
    subscriptions: int
    meets_target: bool


async def drive(
    gw: SimGateway, meter: Meter, deadline: float, chunk: float, max_backlog: int
) -> tuple[float, float]:
    """Step the paused clock until ``deadline``; returns (seconds in advance, sim seconds)."""
    in_advance = sim_seconds = 0.0
    while (now := time.perf_counter()) < deadline:
        backlog = messages_sent(gw) - meter.received  # handshake replies are not counted
        if backlog > max_backlog:
            await meter.wait_until(meter.received + backlog - max_backlog // 2, deadline - now)
            continue
        skip_to_all_open(gw)
        began = time.perf_counter()
        gw.advance(chunk)
        in_advance += time.perf_counter() - began
        sim_seconds += chunk
        await asyncio.sleep(0)  # run the sessions' coalesced writes
    return in_advance, sim_seconds


async def throughput(
    n_clients: int, window: float, chunk: float, tick_subs: int, bar_subs: int
) -> Throughput:
    gw = build_gateway(speed=0, offset=60)
    async with gw:
        meter = Meter()
        clients = [await connect(gw, i + 1, meter) for i in range(n_clients)]
        for client in clients:
            client.subscribe(SYMBOLS, tick_subs, bar_subs)
        subscriptions = n_clients * len(SYMBOLS) * (tick_subs + bar_subs)
        await subscribed(gw, subscriptions)
        await settle(gw, meter)
        per_bucket = n_clients * len(SYMBOLS) * (4 * tick_subs + bar_subs)
        max_backlog = 2 * per_bucket * max(int(chunk) // BUCKET, 1)
        await drive(gw, meter, time.perf_counter() + 0.5, chunk, max_backlog)  # warm-up

        counts0 = [c.frames for c in clients]
        ticks0, bars0 = sum(c.ticks for c in clients), sum(c.bars for c in clients)
        received0, sent0 = meter.received, messages_sent(gw)
        began = time.perf_counter()
        in_advance, sim_seconds = await drive(gw, meter, began + window, chunk, max_backlog)
        elapsed = time.perf_counter() - began
        received = meter.received - received0
        sent = messages_sent(gw) - sent0
        per_client = [(c.frames - n0) / elapsed for c, n0 in zip(clients, counts0, strict=True)]
        ticks = sum(c.ticks for c in clients) - ticks0
        bars = sum(c.bars for c in clients) - bars0
        for client in clients:
            client.close()
    rate = received / elapsed
    return Throughput(
        clients=n_clients,
        window_s=round(elapsed, 3),
        received=received,
        rate=round(rate, 1),
        per_client_min=round(min(per_client), 1),
        per_client_mean=round(sum(per_client) / len(per_client), 1),
        per_client_max=round(max(per_client), 1),
        sent_rate=round(sent / elapsed, 1),
        publish_share=round(in_advance / elapsed, 3),
        sim_seconds=sim_seconds,
        ticks=ticks,
        bars=bars,
        subscriptions=subscriptions,
        meets_target=rate >= TARGET_RATE,
    )


# ---- latency ------------------------------------------------------------------------------


@dataclass
class Latency:
    speed: float
    seconds: float
    samples: int
    buckets: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float
    open_bucket_ms: float | None  # worst bar of the bucket starting at the stocks' open
    steady_p99_ms: float | None  # without the open bucket
    steady_max_ms: float | None
    meets_target: bool


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(math.ceil(p / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


async def latency(speed: float, seconds: float, offset: int, bar_subs: int) -> Latency:
    gw = build_gateway(speed=speed, offset=offset)
    stocks_open = gw.sim_time - offset
    clock = gw.clock
    samples: list[tuple[int, float]] = []

    def on_bar(payload: bytes, received: float) -> None:
        start = int(payload.split(b"\0", 4)[3])
        due = clock._base_real + (start + BUCKET - clock._base_sim) / clock.speed
        samples.append((start, received - due))

    async with gw:
        client = await connect(gw, 1, Meter(), on_bar)
        client.subscribe(SYMBOLS, tick_subs=2, bar_subs=bar_subs)
        await subscribed(gw, len(SYMBOLS) * (2 + bar_subs))
        await asyncio.sleep(seconds)
        client.close()
    if not samples:
        sys.exit(f"speed {speed}: no real-time bars arrived in {seconds} s")
    values = sorted(s for _, s in samples)
    steady = sorted(s for start, s in samples if start != stocks_open)
    at_open = [s for start, s in samples if start == stocks_open]
    p99 = percentile(values, 99) * 1e3
    return Latency(
        speed=speed,
        seconds=seconds,
        samples=len(values),
        buckets=len({start for start, _ in samples}),
        p50_ms=round(percentile(values, 50) * 1e3, 3),
        p99_ms=round(p99, 3),
        max_ms=round(values[-1] * 1e3, 3),
        min_ms=round(values[0] * 1e3, 3),
        open_bucket_ms=round(max(at_open) * 1e3, 3) if at_open else None,
        steady_p99_ms=round(percentile(steady, 99) * 1e3, 3) if steady else None,
        steady_max_ms=round(steady[-1] * 1e3, 3) if steady else None,
        meets_target=p99 <= TARGET_P99_MS,
    )


@dataclass
class TimerFloor:
    """How late a bare ``asyncio.sleep`` wakes here: the floor under any latency figure."""

    interval_s: float
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


async def timer_floor(seconds: float, interval: float = 0.02) -> TimerFloor:
    late: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.monotonic()
        await asyncio.sleep(interval)
        late.append(time.monotonic() - began - interval)
    late.sort()
    return TimerFloor(
        interval_s=round(interval, 4),
        samples=len(late),
        p50_ms=round(percentile(late, 50) * 1e3, 3),
        p99_ms=round(percentile(late, 99) * 1e3, 3),
        max_ms=round(late[-1] * 1e3, 3),
    )


# ---- report -------------------------------------------------------------------------------


def print_report(results: Results, args: argparse.Namespace) -> None:
    rates, delays, floor = results.throughput, results.latency, results.timer_floor
    load = "/".join(f"{x:.2f}" for x in results.load_before)
    print(
        f"\nsimgw benchmark - Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load} at start; gateway and clients in one process, one event loop"
    )
    print(
        f"\nThroughput: paused clock stepped {args.chunk:g} sim-s at a time, "
        f"{args.window:g} s window, per client {len(SYMBOLS)} symbols x "
        f"({args.tick_subs} mkt-data + {args.bar_subs} rt-bar subscriptions)"
    )
    head = (
        f"{'clients':>7} {'msgs/s recv':>12} {'per client min/mean/max':>27} "
        f"{'sent/s':>10} {'publish':>8} {'sim h':>6}  target >= {TARGET_RATE:,.0f}"
    )
    print(head)
    for r in rates:
        per = f"{r.per_client_min:,.0f}/{r.per_client_mean:,.0f}/{r.per_client_max:,.0f}"
        print(
            f"{r.clients:>7} {r.rate:>12,.0f} {per:>27} {r.sent_rate:>10,.0f} "
            f"{r.publish_share:>8.0%} {r.sim_seconds / 3600:>6.1f}  "
            f"{'ok' if r.meets_target else 'MISSED'}"
        )
    print(
        f"\nLatency: bar due (sim clock at bucket end) -> client receives it; "
        f"{args.latency_bar_subs} rt-bar + 2 mkt-data subscriptions per symbol"
    )
    print(
        f"{'speed':>5} {'wall s':>6} {'samples':>7} {'buckets':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'open ms':>8} {'steady p99/max':>15}  "
        f"target p99 <= {TARGET_P99_MS:g} ms"
    )
    for d in delays:
        at_open = "-" if d.open_bucket_ms is None else f"{d.open_bucket_ms:.3f}"
        steady = f"{d.steady_p99_ms}/{d.steady_max_ms}"
        print(
            f"{d.speed:>5g} {d.seconds:>6g} {d.samples:>7} {d.buckets:>7} {d.p50_ms:>7.3f} "
            f"{d.p99_ms:>7.3f} {d.max_ms:>7.3f} {at_open:>8} {steady:>15}  "
            f"{'ok' if d.meets_target else 'MISSED'}"
        )
    print(
        f"timer floor: asyncio.sleep({floor.interval_s:g}) wakes late by p50 {floor.p50_ms:.3f} / "
        f"p99 {floor.p99_ms:.3f} / max {floor.max_ms:.3f} ms ({floor.samples} sleeps)"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--window",
        type=float,
        default=5.0,
        help="wall seconds each throughput measurement counts (default 5)",
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=42.0,
        help="wall seconds of the speed-1 latency run; 0 skips it (default 42; 8 buckets)",
    )
    parser.add_argument(
        "--fast-latency-seconds",
        type=float,
        default=15.0,
        help="wall seconds of the speed-60 latency run; 0 skips it (default 15)",
    )
    parser.add_argument(
        "--floor-seconds",
        type=float,
        default=3.0,
        help="wall seconds measuring bare asyncio.sleep lateness (default 3)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=10,
        help="concurrent clients in the second throughput run (default 10)",
    )
    parser.add_argument(
        "--chunk",
        type=float,
        default=60.0,
        help="simulated seconds per advance() call (default 60)",
    )
    parser.add_argument(
        "--tick-subs",
        type=int,
        default=3,
        help="market-data subscriptions per symbol and client (default 3)",
    )
    parser.add_argument(
        "--bar-subs",
        type=int,
        default=2,
        help="real-time-bar subscriptions per symbol and client (default 2)",
    )
    parser.add_argument(
        "--latency-bar-subs",
        type=int,
        default=5,
        help="real-time-bar subscriptions per symbol in latency runs (default 5)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"JSON results file (default {DEFAULT_OUTPUT.relative_to(ROOT)})",
    )
    parser.add_argument("--tiny", action="store_true", help=f"CI, a few seconds: {TINY}")
    args = parser.parse_args(argv)
    if args.tiny:
        vars(args).update(TINY)
    if args.output is None:
        args.output = TINY_OUTPUT if args.tiny else DEFAULT_OUTPUT
    return args


@dataclass
class Results:
    throughput: list[Throughput]
    latency: list[Latency]
    timer_floor: TimerFloor
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


async def run(args: argparse.Namespace) -> Results:
    load_before = os.getloadavg()
    rates = []
    for n in sorted({1, args.clients}):
        rates.append(await throughput(n, args.window, args.chunk, args.tick_subs, args.bar_subs))
    floor = await timer_floor(args.floor_seconds)
    delays = []
    if args.latency_seconds > 0:
        delays.append(await latency(1.0, args.latency_seconds, 60, args.latency_bar_subs))
    if args.fast_latency_seconds > 0:
        delays.append(await latency(60.0, args.fast_latency_seconds, -30, args.latency_bar_subs))
    return Results(rates, delays, floor, load_before, os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results = asyncio.run(run(args))
    print_report(results, args)
    document = {
        "benchmark": "simgw",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "symbols": list(SYMBOLS),
        "targets": {"msgs_per_s": TARGET_RATE, "p99_ms": TARGET_P99_MS},
        "load_average": {"before": results.load_before, "after": results.load_after},
        "throughput": [asdict(r) for r in results.throughput],
        "latency": [asdict(d) for d in results.latency],
        "timer_floor": asdict(results.timer_floor),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {args.output}")


if __name__ == "__main__":
    main()
