"""Assemble one live worker and run it: settings in, exit code out.

Everything a worker needs is built here and passed in (no globals): the ledger over the
configured database, the risk gate with the strategy's persisted trading state, the IB
link, Backtrader's Cerebro with tradd's feeds, broker and store, the engine that ties
them together, and the command channel. `Worker.run` blocks until the worker stops.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import backtrader as bt
import structlog

from tradd.bt import IBCommission, PortfolioPercentSizer
from tradd.config.live import LIVE_BAR_SECONDS
from tradd.config.settings import Settings
from tradd.errors import EXIT_FAILURE, EXIT_OK, ConfigError, StrategyError, TemporaryError
from tradd.ib.broker import IBBroker
from tradd.ib.clock import GatewayClock, system_clock
from tradd.ib.feed import LiveFeed, TickFeed
from tradd.ib.link import IBLink
from tradd.ib.store import IBStore
from tradd.marketdata.contracts import load_definitions
from tradd.persistence.db import Checkpointer, open_database
from tradd.persistence.ledger import Ledger, utc_now
from tradd.persistence.live_bars import LiveBars
from tradd.records.events import HaltCause
from tradd.records.worker_protocol import WorkerCommand
from tradd.risk import RiskGate, TradingState
from tradd.worker.account import AccountState, Baselines
from tradd.worker.barlog import BarLog
from tradd.worker.channel import Command, CommandChannel
from tradd.worker.engine import WorkerEngine
from tradd.worker.events import EventLog
from tradd.worker.lines import KEEP_LINES, trim_lines
from tradd.worker.orders import Failpoints, OrderManager
from tradd.worker.pulse import Pulse
from tradd.worker.snapshot import status_snapshot
from tradd.worker.stats import WorkerStats
from tradd.worker.strategy import live_strategy, resolve_strategy
from tradd.worker.watchdog import StalenessWatchdog

log = structlog.get_logger("tradd.worker")
STREAM_BAR_SECONDS = 5
ACCOUNT_CURRENCY = "USD"
"""The account's base currency as tradd assumes it (the simulator's; no conversion yet)."""
KEEP_DONE = 50
"""Finished orders a worker keeps in memory (the ledger keeps them all): each costs tens
of KiB across the client library and Backtrader, and none is needed once finished."""
GATEWAY_MIN_WALL_SILENCE = 2.0
"""Wall seconds a feed must be quiet before it counts as silent on the gateway's clock:
at 600x a busy moment of the worker is already dozens of market seconds."""


@dataclass(frozen=True)
class WorkerOptions:
    market_now: Callable[[], datetime] | None = None
    """Market time (tests inject the simulator's); default from `broker.market_clock`."""
    failpoints: Failpoints = field(default_factory=Failpoints)
    clock_wall: Callable[[], float] = time.monotonic
    """The wall clock `market_clock = "gateway"` extrapolates on (tests inject one)."""
    install_signals: bool = True
    """SIGTERM/SIGINT stop the worker (only possible on the main thread)."""
    supervisor_pid: int | None = None
    """Started by this supervisor: stop (as on SIGTERM) once it is no longer our parent,
    so a killed supervisor never leaves workers trading on their own."""
    freeze_gc: bool = True
    """After the warm-up, move every object into the garbage collector's permanent
    generation: code, history and indicators live as long as the worker, and scanning
    them in each full collection paused the loop for 100-280 ms. Off for in-process tests,
    where many workers share one interpreter."""


class Worker:
    def __init__(self, settings: Settings, name: str, options: WorkerOptions | None = None) -> None:
        self.options = options or WorkerOptions()
        try:
            self.config = settings.strategy(name)
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None
        self.settings = settings
        self.strategy_cls, self.params = resolve_strategy(self.config)
        self.risk = settings.strategy_risk(self.config)
        self.channel_path = settings.worker_channel(name)
        self.definitions = load_definitions(settings.data.dir)
        """What each symbol is at IB: how it is qualified, and its multiplier for money."""
        self._warn_foreign_currency()
        self.link = IBLink(
            settings.broker,
            self.config.client_id,
            symbols=self.config.symbols,
            quotes=self.config.ticks,
            definitions=self.definitions,
        )
        self.engine: WorkerEngine | None = None
        self.cerebro: bt.Cerebro | None = None
        self.pulse: Pulse | None = None
        self.started = threading.Event()
        self.on_pump: Callable[[], None] | None = None
        """Called after each turn of the worker's loop (tests wait on it)."""
        self.failure: BaseException | None = None
        """What `run` failed with (for the supervisor's crash alert: see exitreport)."""
        self.bar_log: BarLog | None = None

    # -- control from other threads ----------------------------------------------------------
    def command(self, name: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """Run a channel command from another thread (tests); returns its result."""
        command = Command(WorkerCommand(name), args)
        self.link.inbox.put(command)
        return command.reply.result(timeout)

    def stop(self) -> None:
        self.link.inbox.put(Command(WorkerCommand.STOP, {}))

    # -- running ------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped. 0: stopped; 1: failed (a strategy error also halts it)."""
        structlog.contextvars.bind_contextvars(strategy=self.config.name)
        try:
            engine_db, sessions = open_database(
                self.settings.database_url(),
                echo=self.settings.database.echo,
                manual_checkpoints=True,
            )
        except TemporaryError as exc:
            log.error("database unavailable", error=str(exc))
            self.failure = exc
            return EXIT_FAILURE
        channel = None
        checkpoints = Checkpointer(engine_db, self.settings.worker.snapshot_interval)
        try:
            checkpoints.start()
            ledger = Ledger(sessions, self.config.name, multipliers=self._multipliers())
            if self.settings.drift.record_bars:
                self.bar_log = BarLog.open(LiveBars(sessions), self.config, self.params,
                                           self._commission(), utc_now)  # fmt: skip
            cerebro = self._assemble(ledger)
            channel = CommandChannel(
                self.channel_path,
                self.link.inbox,
                self.settings.worker.flatten_timeout,
                max_connections=self.settings.worker.channel_max_connections,
                idle_timeout=self.settings.worker.channel_idle_timeout,
                beat=self.pulse.answer if self.pulse is not None else lambda: None,
            )
            channel.start()
            self._install_signals()
            self.link.start()
            self.started.set()
            log.info("worker running", symbols=list(self.config.symbols), params=self.params,
                     channel=str(self.channel_path), library=self.link.client.library)  # fmt: skip
            cerebro.run()
            return EXIT_OK
        except StrategyError as exc:
            self.failure = exc
            log.exception("strategy failed; halting it", error=str(exc))
            if self.engine is not None:
                self.engine.halt(f"strategy error: {exc}", HaltCause.STRATEGY_ERROR)
            return EXIT_FAILURE
        except Exception as exc:
            self.failure = exc
            log.exception("worker failed", error=repr(exc))
            return EXIT_FAILURE
        finally:
            if self.bar_log is not None:
                self.bar_log.flush()
            checkpoints.stop()
            if channel is not None:
                channel.close()
            try:
                self.link.stop()
            except TemporaryError as exc:  # the gateway is gone anyway; the exit code stands
                log.warning("IB link did not stop cleanly", error=str(exc))
            engine_db.dispose()
            log.info("worker stopped")

    def _assemble(self, ledger: Ledger) -> bt.Cerebro:
        """Build the worker's objects, each from what it needs. Three pairs work both ways
        and are joined in `_join` once both halves exist: the order manager and the broker
        (orders go out through the manager, their states come back to Backtrader through
        the broker), the manager and the engine (the manager asks the engine's gates and
        portfolio before each order), the engine and the store (the store pumps IB's events
        into the engine, the engine reads the store's prices and feeds)."""
        c = self.config
        market_now = self.options.market_now or self._market_clock()
        events = EventLog(c.name, system_clock)
        stats = WorkerStats()
        cerebro = bt.Cerebro(stdstats=False, quicknotify=True)
        gate, baselines = self._risk_state(ledger)
        manager = OrderManager(c.name, ledger, self.link, gate, events,
                               commission_wait=self.settings.worker.commission_wait,
                               failpoints=self.options.failpoints, stats=stats)  # fmt: skip
        broker = self._broker(manager, cerebro)
        feeds, ticks = self._feeds(cerebro, broker, manager)
        cerebro.setbroker(broker)
        cerebro.addsizer(PortfolioPercentSizer, percents=c.position_pct)
        cerebro.addstrategy(live_strategy(self.strategy_cls), **self.params)
        engine = self._engine(ledger, manager, broker, events, baselines, market_now, cerebro)
        store = IBStore(
            self.link.inbox, feeds, engine, ticks,
            market_now=market_now, grace=self.settings.worker.bar_sync_grace,
            on_pump=self._pumped,
            seen=market_now.seen if isinstance(market_now, GatewayClock) else lambda _: None,
        )  # fmt: skip
        _join(manager, broker, engine, store)
        stats.bar_clock = lambda: store.bars_handed_at
        cerebro.addstore(store)
        self.pulse = Pulse(lambda: status_snapshot(engine), lambda: unread(store), self.link.inbox)
        cerebro.addstore(self.pulse)  # after the IB store: a turn ends once it has pumped
        engine.operator.on_change = self.pulse.publish
        self.engine, self.cerebro = engine, cerebro
        return cerebro

    def _risk_state(self, ledger: Ledger) -> tuple[RiskGate, Baselines]:
        """The risk gate and the equity baselines as the strategy's last run left them."""
        state = ledger.state()
        if state is None:
            return RiskGate(self.risk), Baselines(None, None, None)
        gate = RiskGate(self.risk, state=TradingState(state.trading_state),
                        reason=state.reason or "")  # fmt: skip
        return gate, Baselines(state.day, state.day_start_equity, state.equity_peak)

    def _broker(self, manager: OrderManager, cerebro: bt.Cerebro) -> IBBroker:
        """The broker Backtrader trades through; a future pays its commission (and counts its
        value and P&L) x its multiplier, on its bars and its ticks."""
        broker = IBBroker(
            manager,
            IBCommission(**self._commission()),
            owner=lambda: cerebro.runningstrats[0] if cerebro.runningstrats else None,
        )
        for symbol, multiplier in self._multipliers().items():
            if multiplier != 1.0:
                comminfo = IBCommission(**self._commission(), mult=multiplier)
                for name in (symbol, f"{symbol}:ticks"):
                    broker.addcommissioninfo(comminfo, name=name)
        return broker

    def _feeds(
        self, cerebro: bt.Cerebro, broker: IBBroker, manager: OrderManager
    ) -> tuple[list[LiveFeed], list[TickFeed]]:
        """A bar feed per symbol (its position as the ledger has it), and a tick feed each
        when the strategy asks for quotes."""
        c = self.config
        feeds = [LiveFeed(symbol=s, bar_seconds=LIVE_BAR_SECONDS[c.bar], name=s) for s in c.symbols]
        for feed in feeds:
            if self.bar_log is not None:
                feed.on_read = self.bar_log.received
            cerebro.adddata(feed, name=feed.symbol)
            position = manager.book.position(feed.symbol)
            broker.register(feed, position.quantity, position.avg_price)
        ticks = [TickFeed(symbol=s, name=f"{s}:ticks") for s in c.symbols] if c.ticks else []
        for tick_feed in ticks:
            cerebro.adddata(tick_feed, name=tick_feed._name)
        return feeds, ticks

    def _engine(
        self,
        ledger: Ledger,
        manager: OrderManager,
        broker: IBBroker,
        events: EventLog,
        baselines: Baselines,
        market_now: Callable[[], datetime],
        cerebro: bt.Cerebro,
    ) -> WorkerEngine:
        c = self.config
        stale_after = self.settings.broker.stale_factor * STREAM_BAR_SECONDS
        watchdog = StalenessWatchdog(c.symbols, stale_after, wall=self.options.clock_wall,
                                     min_wall=self._min_wall(market_now))  # fmt: skip
        return WorkerEngine(
            c,
            self.settings.worker,
            link=self.link,
            ledger=ledger,
            manager=manager,
            broker=broker,
            account=AccountState("US/Eastern", baselines, ledger.account_day_start),
            events=events,
            watchdog=watchdog,
            market_now=market_now,
            request_stop=cerebro.runstop,
            housekeeping=self._housekeeping,
            on_warmed_up=self._freeze_gc if self.options.freeze_gc else lambda: None,
            orphaned=self._orphaned,
        )

    def _orphaned(self) -> bool:
        pid = self.options.supervisor_pid
        return pid is not None and os.getppid() != pid

    @staticmethod
    def _freeze_gc() -> None:
        """Also why housekeeping collects: after the freeze, Python's full collection waits
        until the objects promoted since outnumber a quarter of those it last counted (the
        whole warm-up heap, now frozen), and cyclic garbage that lived long enough to be
        promoted (every finished order in the client library is a cycle) piled up for
        weeks. A collection scans only what came after the freeze."""
        gc.collect()
        gc.freeze()

    def _housekeeping(self) -> None:
        """Bound what a long-running worker keeps in memory: the client library's and
        Backtrader's order history, the order manager's caches, Backtrader's lines; and
        write the bars read since the last round (off the bar->order path)."""
        if self.bar_log is not None:
            self.bar_log.flush()
        live = self.engine.manager.live_ib_ids() if self.engine is not None else set()
        self.link.client.post(self.link.client.forget_done, KEEP_DONE, live)
        if self.cerebro is not None:
            for strategy in self.cerebro.runningstrats:
                trim_strategy_history(strategy, KEEP_DONE)
                trim_lines(strategy, max(KEEP_LINES, 2 * self.config.warmup_bars))
        if self.engine is not None:
            self.engine.manager.trim(KEEP_DONE)
        if gc.get_freeze_count():
            gc.collect()  # only what came after the freeze: a few ms (see _freeze_gc)

    def _pumped(self) -> None:
        if self.on_pump is not None:
            self.on_pump()

    def _multipliers(self) -> dict[str, float]:
        """Each symbol's contract multiplier, from its definition (1 for stocks, forex)."""
        return {s: self.definitions.spec(s).multiplier for s in self.config.symbols}

    def _warn_foreign_currency(self) -> None:
        """Values are not converted between currencies (see docs/worker-contracts.md): say so
        at start for every symbol priced in another currency than the account's USD."""
        for symbol in self.config.symbols:
            spec = self.definitions.spec(symbol)
            if spec.currency != ACCOUNT_CURRENCY:
                log.warning(
                    "symbol priced in a foreign currency; values not converted",
                    symbol=symbol,
                    currency=spec.currency,
                    account=ACCOUNT_CURRENCY,
                    effect="sizing and risk limits compare its price x multiplier "
                    "with the account's values as if in the same currency",
                )

    def _commission(self) -> dict[str, float]:
        c = self.settings.backtest.commission
        return {"per_share": c.per_share, "minimum": c.minimum, "max_pct": c.max_pct}

    @staticmethod
    def _min_wall(market_now: Callable[[], datetime]) -> float:
        """On the gateway's fast clock a feed is silent only after this much wall time too."""
        return GATEWAY_MIN_WALL_SILENCE if isinstance(market_now, GatewayClock) else 0.0

    def _market_clock(self) -> Callable[[], datetime]:
        if self.settings.broker.market_clock == "gateway":
            return GatewayClock(self.link.server_time, wall=self.options.clock_wall)
        return system_clock

    def _install_signals(self) -> None:
        if (
            not self.options.install_signals
            or threading.current_thread() is not threading.main_thread()
        ):
            return

        def on_signal(signum: int, _frame: Any) -> None:
            stop = Command(WorkerCommand.STOP, {"signal": signal.Signals(signum).name})
            self.link.inbox.put(stop)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)


def _join(manager: OrderManager, broker: IBBroker, engine: WorkerEngine, store: IBStore) -> None:
    """The halves of the worker's two-way collaborations (see `Worker._assemble`)."""
    manager.broker = broker
    manager.context = engine
    engine.store = store


def unread(store: IBStore) -> int:
    """Bars (and quotes) handed to Backtrader that the strategy has yet to read."""
    feeds = [*store.feeds.values(), *store.ticks.values()]
    return sum(feed.pending for feed in feeds)


def trim_strategy_history(strategy: Any, keep: int) -> None:
    """Backtrader keeps every order notification and every closed trade of a run; a live
    run never ends. Keep the newest `keep` of each (open trades always stay)."""
    del strategy._orders[: max(len(strategy._orders) - keep, 0)]
    for by_id in strategy._trades.values():
        for trades in by_id.values():
            closed = [t for t in trades if t.isclosed]
            if len(closed) > keep:
                old = {id(t) for t in closed[:-keep]}
                trades[:] = [t for t in trades if id(t) not in old]
