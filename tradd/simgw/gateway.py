"""``SimGateway``: the TCP server tying sessions, the replay clock and the core together.

Use it from Python (tests, benchmarks) as an async context manager::

    async with SimGateway(SimConfig(data_dir=..., port=0, speed=0)) as gw:
        ib.connect("127.0.0.1", gw.port, clientId=1)
        gw.advance(60)            # one simulated minute, deterministically
        gw.faults.drop()

or run it as a process with ``tradd simgw``.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from types import TracebackType

import structlog

from tradd.errors import ConfigError, DataError, TraddError
from tradd.marketdata.bars import BAR_SECONDS, normalize_symbol
from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.store import DataStore
from tradd.simgw.account import AccountState
from tradd.simgw.config import SimConfig
from tradd.simgw.contracts import instrument_for
from tradd.simgw.core import Core
from tradd.simgw.faults import Faults
from tradd.simgw.pacing import Pacing
from tradd.simgw.replay import ReplayLoop, SimClock
from tradd.simgw.requests import Dispatcher
from tradd.simgw.session import ClientSession
from tradd.simgw.state import SimState, load_state
from tradd.simgw.tape import Tape

log = structlog.get_logger("tradd.simgw")
DAILY_WARMUP = timedelta(days=365)
INTRADAY_WARMUP = timedelta(days=7)


def load_tapes(config: SimConfig) -> dict[int, Tape]:
    """One tape per symbol, from the finest bar size the data directory has for it, each
    described by the directory's contract definitions (``contracts.toml``)."""
    store = DataStore(config.data_dir)
    definitions = load_definitions(config.data_dir)
    available: dict[str, list[str]] = {}
    for symbol, bar in store.symbols():
        available.setdefault(symbol, []).append(bar)
    wanted = [normalize_symbol(s) for s in config.symbols] or sorted(available)
    missing = [s for s in wanted if s not in available]
    if missing:
        raise DataError(
            f"--symbols: no data for {', '.join(missing)} in {config.data_dir} "
            f"(have {', '.join(sorted(available)) or 'nothing'})"
        )
    tapes: dict[int, Tape] = {}
    for symbol in wanted:
        bar = min(available[symbol], key=lambda b: BAR_SECONDS[b])
        inst = instrument_for(symbol, definitions.spec(symbol))
        if inst.con_id in tapes:
            other = tapes[inst.con_id].instrument.data_symbol
            raise DataError(
                f"{symbol} and {other} describe the same contract ({inst.local_symbol}"
                f" {inst.sec_type} {inst.currency}): give each its own definition"
            )
        tapes[inst.con_id] = Tape(inst, store.load(symbol, bar), config.seed)
        if len(tapes[inst.con_id].starts) == 0:
            raise DataError(f"{symbol}: no bars on days its contract definition trades")
    return tapes


def default_start(tapes: dict[int, Tape]) -> int:
    """Late enough that every symbol has history to backfill (a year daily, a week intraday)."""
    ready = []
    for tape in tapes.values():
        warmup = INTRADAY_WARMUP if tape.bars.intraday else DAILY_WARMUP
        ready.append(tape.first_time + int(warmup.total_seconds()))
    return max(ready)


def first_open(tapes: dict[int, Tape], t: int) -> int | None:
    """The earliest moment at or after ``t`` when some instrument trades."""
    opens = []
    for tape in tapes.values():
        if tape.bar_index(t) is not None:
            return t
        nxt = tape.next_open(t)
        if nxt is not None:
            opens.append(nxt)
    return min(opens) if opens else None


class SimGateway:
    def __init__(
        self,
        config: SimConfig,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        problems = config.problems()
        if problems:
            raise ConfigError("invalid simulator settings", problems)
        self.config = config
        self.tapes = load_tapes(config)
        self.state = self._initial_state()
        self.clock = SimClock(self.state.sim_time, config.speed, monotonic)
        self.core = Core(
            self.state, self.tapes, self.clock, seed=config.seed,
            pacing=Pacing(config.pacing, monotonic), state_file=config.state_file,
            partial_fills=config.partial_fills,
            account_update_seconds=config.account_update_seconds,
        )  # fmt: skip
        self.dispatch = Dispatcher(self.core)
        self.faults = Faults(self)
        self.replay = ReplayLoop(
            self.clock, self.core.step, lambda t: first_open(self.tapes, t),
            skip_closed=config.skip_closed, sleep=sleep, prefetch=self.core.prefetch,
        )  # fmt: skip
        self.stalled = False
        self.port = config.port
        self._server: asyncio.Server | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self._refuse_task: asyncio.Task[None] | None = None
        self._sessions: set[ClientSession] = set()

    def _initial_state(self) -> SimState:
        saved = load_state(self.config.state_file) if self.config.state_file else None
        if saved is not None and saved.account.account != self.config.account:
            raise DataError(
                f"--state {self.config.state_file}: holds account {saved.account.account}, not "
                f"--account {self.config.account}; use another state file or the same account"
            )
        if saved is not None:
            if self.config.start is not None:  # never rewind a saved day: it would erase it
                saved.sim_time = max(saved.sim_time, self._start_time(self.config.start))
            return saved
        start = self._start_time(self.config.start)
        return SimState(AccountState(self.config.account, self.config.cash), start)

    def _start_time(self, day: date | None) -> int:
        if day is None:
            t = default_start(self.tapes)
        else:
            t = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        opened = first_open(self.tapes, t)
        if opened is None:
            last = max(tape.last_time for tape in self.tapes.values())
            raise DataError(
                f"--start {day}: after the end of the replay data "
                f"({datetime.fromtimestamp(last, UTC):%Y-%m-%d})"
            )
        return opened

    # ---- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> SimGateway:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.stop()

    async def start(self) -> None:
        """Listen and start the replay; a port another process holds is one clear error."""
        try:
            await self.listen()
        except OSError as exc:
            where = f"{self.config.host}:{self.port}"
            if exc.errno == errno.EADDRINUSE:
                raise TraddError(
                    f"simulator port {where} is in use (another `tradd simgw`, "
                    "`tradd run --simulate` or IB Gateway?)"
                ) from None
            raise TraddError(f"simulator cannot listen on {where}: {exc.strerror}") from None
        self.replay.next_boundary = (int(self.clock.now()) // 5 + 1) * 5
        self._replay_task = asyncio.create_task(self.replay.run(), name="simgw-replay")
        self._replay_task.add_done_callback(_log_failure)
        log.info("simgw.started", host=self.config.host, port=self.port,
                 symbols=[t.instrument.data_symbol for t in self.tapes.values()],
                 sim_time=self.sim_datetime.isoformat(), speed=self.config.speed)  # fmt: skip

    async def stop(self) -> None:
        for task in (self._replay_task, self._refuse_task):
            if task is not None:
                task.cancel()
        self.drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.core.persist(force=True)
        log.info("simgw.stopped", sim_time=self.sim_datetime.isoformat())

    async def listen(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_session, self.config.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self, seconds: float | None) -> int:
        """Simulated gateway restart: everyone dropped, the port closed for a while."""
        dropped = self.drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        log.info("simgw.refusing", seconds=seconds, dropped=dropped)
        if seconds is not None:
            self._refuse_task = asyncio.create_task(self._reopen_after(seconds))
        return dropped

    async def _reopen_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.listen()
        log.info("simgw.accepting", port=self.port)

    @property
    def accepting(self) -> bool:
        return self._server is not None

    def drop_connections(self, *, reset: bool = False) -> int:
        sessions = list(self._sessions)
        for session in sessions:
            session.close(reset=reset)
        return len(sessions)

    def _new_session(self) -> ClientSession:
        session = ClientSession(self.dispatch, self._session_lost, time.time, "EST")
        self._sessions.add(session)
        if self.stalled:
            session.stall()
        return session

    def _session_lost(self, session: ClientSession) -> None:
        self._sessions.discard(session)
        self.core.market.drop_session(session)
        if session.client_id is not None and self.core.sessions.get(session.client_id) is session:
            del self.core.sessions[session.client_id]
            log.info("simgw.client_disconnected", client_id=session.client_id)

    # ---- time --------------------------------------------------------------------------------

    @property
    def sim_time(self) -> int:
        return int(self.clock.now())

    @property
    def sim_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def advance(self, seconds: float) -> int:
        """Move a paused clock forward, publishing every bucket on the way (tests)."""
        target = self.clock.now() + seconds
        self.clock.set(target)
        return self.replay.run_until(target)

    def set_speed(self, speed: float) -> None:
        """Run the clock at `speed` from now on (0 pauses it); call on the gateway's loop."""
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        now = self.clock.now()
        self.clock.speed = speed
        self.clock.set(now)
        if speed > 0 and (self._replay_task is None or self._replay_task.done()):
            self._replay_task = asyncio.create_task(self.replay.run(), name="simgw-replay")
            self._replay_task.add_done_callback(_log_failure)

    def advance_to_open(self) -> int:
        """Move to the next moment a market is open (and one bucket in, so there is a quote)."""
        opened = first_open(self.tapes, self.sim_time)
        if opened is None:
            return 0
        return self.advance(opened - self.clock.now() + 5)

    def status(self) -> dict[str, object]:
        return {
            "port": self.port,
            "accepting": self.accepting,
            "stalled": self.stalled,
            "sim_time": self.sim_datetime.isoformat(),
            "speed": self.clock.speed,
            "clients": sorted(self.core.sessions),
            "symbols": sorted(t.instrument.data_symbol for t in self.tapes.values()),
            "open_orders": sum(1 for o in self.state.orders.values() if not o.is_done),
            "executions": len(self.state.executions),
            "connectivity_lost": self.core.faults.connectivity_lost,
            "withheld_reports": len(self.core.faults.withheld),
        }


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("simgw.replay_stopped", error=repr(task.exception()))
