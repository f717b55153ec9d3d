"""`tradd run`: the supervisor's main loop, signals, systemd notifications and reload.

Single-threaded asyncio: the loop turns every `heartbeat_interval` (or at once when a
worker exits), advances every worker's state machine, heartbeats the live ones, pings
systemd's watchdog and publishes a fresh tuple of `WorkerView`s that the control server
and the metrics endpoint read. SIGTERM/SIGINT stop it gracefully, SIGHUP reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from tradd.config.loader import load_settings
from tradd.config.settings import Settings
from tradd.errors import EXIT_OK, ConfigError
from tradd.marketdata.contracts import load_definitions
from tradd.records.busy import Busy, BusyKind
from tradd.records.events import Event, EventKind
from tradd.records.states import WorkerState
from tradd.records.view import WorkerView
from tradd.supervisor import alerting
from tradd.supervisor.configcheck import check_in_child
from tradd.supervisor.configfile import ConfigSnapshots
from tradd.supervisor.flatten import EmergencyOps, Flattener, LibraryEmergency
from tradd.supervisor.fleet import Fleet, worker_spawn_spec
from tradd.supervisor.notify import SystemdNotifier, without_notify_env
from tradd.supervisor.promotion import Promoter, PromotionHost
from tradd.supervisor.reload import params_digests, plan_reload
from tradd.worker.events import EventLog

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from tradd.alerts.model import AlertEvent
    from tradd.alerts.service import AlertService
    from tradd.supervisor.schedules.scheduler import Scheduler

log = structlog.get_logger("tradd.supervisor")
AUTO_PROMOTE_INTERVAL = 2.0
"""Seconds between two looks for a passing proposal of an `auto_promote` strategy."""
SCHEDULE_TICK_S = 1.0
"""Seconds between two looks at the schedules (due runs, ended jobs)."""


@dataclass(frozen=True)
class SupervisorOptions:
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    """The environment workers inherit, and where NOTIFY_SOCKET/RUNTIME_DIRECTORY are read."""
    cwd: Path = field(default_factory=Path.cwd)
    monotonic: Callable[[], float] = time.monotonic
    install_signals: bool = True
    emergency: EmergencyOps = field(default_factory=LibraryEmergency)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """Wall time (the daily summary's schedule, alert timestamps)."""
    alerts: bool = True
    """Run the alert service ([alerts]); tests of other parts switch it off."""
    metrics: bool = True
    """Serve /metrics when the configuration enables it (tests of other parts switch it off)."""
    schedules: bool = True
    """Run `[[schedules]]` (`tradd.supervisor.schedules`)."""


class Supervisor:
    def __init__(
        self, settings: Settings, config_path: Path, options: SupervisorOptions | None = None
    ) -> None:
        self.settings, self.config_path = settings, config_path
        self.options = options or SupervisorOptions()
        self.definitions = load_definitions(settings.data.dir)
        """The contract definitions the workers started with (a reload compares them)."""
        self.params = params_digests(settings)
        """The params files' digests the workers started with (a reload compares them)."""
        self.events = EventLog("supervisor", lambda: datetime.now(UTC))
        self.notifier = SystemdNotifier(self.options.environ)
        self.snapshots = ConfigSnapshots(settings.state_dir / "run" / "config")
        self.fleet = Fleet(
            monotonic=self.options.monotonic,
            emit=self.events.emit,
            wake=self._wake_loop,
            on_event=self._worker_event,
        )
        self.events.on_emit = self._supervisor_event
        self.alerts: AlertService | None = None
        self.flattener = Flattener(self.options.emergency, self._sessions)
        self.views: tuple[WorkerView, ...] = ()
        """The latest published views (a tuple swap: safe to read from any thread)."""
        self.started = self.options.monotonic()
        self.ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._reload_requested = False
        self.metrics_url: str | None = None
        """Where /metrics is served (set by the daemon once it listens)."""
        self.busy: Busy | None = None
        """The state-changing command in progress (one at a time; others get `conflict`)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._alert_tick: asyncio.Task[Any] | None = None
        self._promote_at = 0.0
        self.promoter = Promoter(PromotionHost(
            settings=lambda: self.settings, reload=self.reload, sessions=self._sessions,
            emit=self.events.emit, clock=self.options.clock, cwd=self.options.cwd,
        ))  # fmt: skip
        self.scheduler: Scheduler | None = None
        self._schedule_tick: asyncio.Task[Any] | None = None
        self._schedule_at = float("-inf")
        self._sessionmaker: sessionmaker[Session] | None = None
        self._engine: Any = None
        self._spawn = worker_spawn_spec(
            self.snapshots.write(config_path), self.options.cwd, self._worker_env()
        )
        self.fleet.build_all(settings, self._spawn)  # every strategy known (STOPPED) at once
        self.views = self.fleet.views()

    # -- running ------------------------------------------------------------------------------
    async def run(self, on_started: Callable[[Supervisor], Any] | None = None) -> int:
        """Run until stopped; `on_started` starts the control server, metrics and friends."""
        self._install_signals()
        if self.options.alerts:
            await self._start_alerts()
        self._start_schedules()
        log.info(
            "supervisor starting",
            strategies=[s.name for s in self.settings.strategies],
            config=str(self.config_path),
            pid=os.getpid(),
        )
        await self.fleet.start_enabled()
        if on_started is not None:
            await on_started(self)
        try:
            await self._loop()
        finally:
            await self._shutdown()
        return EXIT_OK

    def request_stop(self) -> None:
        self._stop.set()
        self._wake_loop()

    def request_reload(self) -> None:
        self._reload_requested = True
        self._wake_loop()

    async def _loop(self) -> None:
        """Turn until stopped. Nothing that goes wrong in one turn ends the loop (and with it
        every strategy); slow work (a SIGHUP reload, alerts) runs beside it as tasks, so
        heartbeats and systemd's watchdog keep going."""
        while not self._stop.is_set():
            if self._reload_requested and self.busy is None:
                self._reload_requested, self.busy = False, Busy(BusyKind.RELOAD, "SIGHUP")
                self._spawn_task(self._signalled_reload())
            try:
                await self.fleet.turn()
                self.publish()
            except Exception:
                log.exception("supervisor turn failed; carrying on")
            self._maybe_auto_promote()
            if self.alerts is not None and (self._alert_tick is None or self._alert_tick.done()):
                self._alert_tick = self._spawn_task(self.alerts.tick())
            self._tick_schedules()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), self.settings.supervisor.heartbeat_interval
                )
            self._wake.clear()

    def _spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def publish(self) -> None:
        self.views = self.fleet.views()
        if not self.ready.is_set() and not self.fleet.starting():
            self.ready.set()
            self.notifier.ready(self.status_line())
            log.info("supervisor ready", status=self.status_line())
        elif self.ready.is_set():
            self.notifier.status(self.status_line())
        self.notifier.watchdog()

    def status_line(self) -> str:
        counts: dict[str, int] = {}
        for view in self.views:
            counts[view.state] = counts.get(view.state, 0) + 1
        parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        return f"{len(self.views)} strategies: {parts or 'none'}"

    async def _shutdown(self) -> None:
        self.notifier.stopping()
        log.info("supervisor stopping: stopping workers")
        await self.fleet.stop_all(self.settings.supervisor.stop_timeout)
        self.publish()
        if self._tasks:  # an alert tick or a SIGHUP reload still under way
            await asyncio.wait(list(self._tasks), timeout=self.settings.supervisor.stop_timeout)
        if self.alerts is not None:
            await self.alerts.stop()
        if self._engine is not None:
            self._engine.dispose()
        self.snapshots.clear()
        self.notifier.close()
        log.info("supervisor stopped")

    # -- reload -------------------------------------------------------------------------------
    async def _signalled_reload(self) -> None:
        try:
            await self.reload()
        except ConfigError:
            pass  # logged and raised as an event by reload()
        except Exception:
            log.exception("reload failed")
        finally:
            self.busy = None

    async def reload(self) -> dict[str, list[str]]:
        """Re-read the config; apply it, or raise ConfigError and change nothing."""
        self.notifier.reloading()
        snapshot = self.snapshots.write(self.config_path)  # validate exactly what workers read
        try:
            new = load_settings(snapshot, environ=self.options.environ)
            checked = await check_in_child(snapshot, self.options.cwd, self._worker_env())
            checked.raise_if_invalid()  # as `tradd config check`: classes and parameters too
            definitions = load_definitions(new.data.dir)  # what the restarted workers read
            params = params_digests(new)
        except ConfigError as exc:
            named = _named(exc, snapshot, self.config_path)
            log.error("reload rejected: invalid configuration", problems=named.problems)
            self.events.emit(EventKind.RELOAD_REJECTED, "warning", f"{named}; nothing changed",
                             problems=named.problems)  # fmt: skip
            self.notifier.ready(self.status_line())
            raise named from None
        plan = plan_reload(self.settings, new, self.definitions, definitions, self.params, params)
        log.info("reloading", **plan.as_dict())
        spawn = worker_spawn_spec(snapshot, self.options.cwd, self._worker_env())
        self.settings, self.definitions, self.params = new, definitions, params
        if self.alerts is not None:
            self.alerts.update(new)
        if self.scheduler is not None:
            self.scheduler.update(new)
        else:
            self._start_schedules()
        await self.fleet.apply(plan, new, spawn, new.supervisor.stop_timeout)
        self._spawn = spawn
        self.publish()
        self.notifier.ready(self.status_line())
        return plan.as_dict()

    # -- auto-promotion -----------------------------------------------------------------------
    def _maybe_auto_promote(self) -> None:
        """Every AUTO_PROMOTE_INTERVAL, with nothing else under way, apply a passing
        proposal of a strategy with `auto_promote = true` (as a task: it reloads)."""
        now = self.options.monotonic()
        if self.busy is not None or self.stopping or now < self._promote_at:
            return
        self._promote_at = now + AUTO_PROMOTE_INTERVAL
        if any(s.auto_promote and s.enabled for s in self.settings.strategies):
            self.busy = Busy(BusyKind.PROMOTE, "auto_promote")
            self._spawn_task(self._auto_promote())

    async def _auto_promote(self) -> None:
        try:
            await self.promoter.auto_promote()
        except Exception:
            log.exception("auto-promotion failed")
        finally:
            self.busy = None

    # -- alerts -------------------------------------------------------------------------------
    async def _start_alerts(self) -> None:
        from tradd.alerts.channels import build_channels
        from tradd.alerts.service import AlertService

        self.alerts = AlertService(
            self.settings,
            self._sessions(),
            build_channels(self.settings.alerts),
            lambda: self.views,
            clock=self.options.clock,
            monotonic=self.options.monotonic,
        )
        await self.alerts.start()

    # -- schedules ----------------------------------------------------------------------------
    def _start_schedules(self) -> None:
        """The scheduler, once there are schedules (a reload may add the first)."""
        if not self.options.schedules or not self.settings.schedules:
            return
        from tradd.supervisor.schedules.scheduler import Scheduler

        loop = asyncio.get_running_loop()
        self.scheduler = Scheduler(
            self.settings, self.config_path, self._sessions(), self.options.clock,
            lambda event: loop.call_soon_threadsafe(self._schedule_alert, event),
            without_notify_env(self.options.environ), self.options.cwd,
        )  # fmt: skip

    def _tick_schedules(self) -> None:
        """One scheduler round in a thread (database calls, process starts), one at a time."""
        now = self.options.monotonic()
        idle = self._schedule_tick is None or self._schedule_tick.done()
        if self.scheduler is None or not idle or now - self._schedule_at < SCHEDULE_TICK_S:
            return
        self._schedule_at = now
        self._schedule_tick = self._spawn_task(asyncio.to_thread(self._scheduler_round))

    def _scheduler_round(self) -> None:
        try:
            if self.scheduler is not None:
                self.scheduler.tick()
        except Exception:  # a database outage must not end the schedules
            log.exception("scheduler round failed; trying again")

    def _schedule_alert(self, event: AlertEvent) -> None:
        if self.alerts is not None:
            self.alerts.submit(event)

    def _worker_event(self, strategy: str, event: Event) -> None:
        if self.alerts is not None:
            self.alerts.submit(alerting.from_worker(strategy, event))

    def _supervisor_event(self, event: Event) -> None:
        if self.alerts is not None:
            self.alerts.submit(alerting.from_supervisor(event))

    # -- helpers ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        enabled = {s.name for s in self.settings.strategies if s.enabled}
        running = {v.name for v in self.views if v.state == WorkerState.RUNNING}
        unhealthy = sorted(enabled - running)
        disconnected = [
            v.name
            for v in self.views
            if v.state == WorkerState.RUNNING
            and v.snapshot is not None
            and v.snapshot.connection != "connected"
        ]
        return {
            "ok": not unhealthy,
            "ready": self.ready.is_set(),
            "not_running": unhealthy,
            "disconnected": disconnected,
            "pid": os.getpid(),
            "uptime": self.options.monotonic() - self.started,
            "metrics_url": self.metrics_url,
        }

    def _sessions(self) -> sessionmaker[Session]:
        if self._sessionmaker is None:
            from tradd.persistence.db import open_database

            self._engine, self._sessionmaker = open_database(self.settings.database_url())
        return self._sessionmaker

    def _worker_env(self) -> dict[str, str]:
        """The daemon's environment minus systemd's notify variables, plus our pid (a worker
        stops when it loses its supervisor)."""
        env = without_notify_env(self.options.environ)
        env.pop("TRADD_CONFIG", None)
        env["TRADD_SUPERVISOR_PID"] = str(os.getpid())
        return env

    def _wake_loop(self) -> None:
        self._wake.set()

    def _install_signals(self) -> None:
        if not self.options.install_signals:
            return
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)


def _named(error: ConfigError, snapshot: Path, config: Path) -> ConfigError:
    """The error as the operator wrote the file: the config's path, not the snapshot's."""
    problems = [p.replace(str(snapshot), str(config)) for p in error.problems]
    return ConfigError(str(error).replace(str(snapshot), str(config)), problems)
