"""One strategy's worker process: spawn, watch, restart, stop — the state machine's owner.

The supervisor loop calls `step(now)` on every turn; everything time-based (backoff,
start and heartbeat timeouts, the stop deadline) is decided there against an injected
monotonic clock, and every state change goes through `_enter`, which checks it against
`states.TRANSITIONS`, so the lifecycle cannot drift from the documented one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog
from pydantic import ValidationError

from tradd.config.daemon import SupervisorSettings
from tradd.config.live import StrategySettings
from tradd.errors import EXIT_CONFIG, EXIT_OK
from tradd.records.base import problem
from tradd.records.events import Event, EventKind, EventsReply, HaltCause, Severity
from tradd.records.states import ALIVE, WorkerState, check_transition
from tradd.records.status import Heartbeat, WorkerStatus, parse_status
from tradd.records.view import WorkerView
from tradd.records.worker_protocol import WorkerCommand, WorkerRequest
from tradd.resources import out_of_resources
from tradd.supervisor.channel import (
    SupervisorShort,
    WorkerRefused,
    WorkerUnreachable,
    worker_request,
)
from tradd.supervisor.lastwords import clear_exit_report, exit_report_path, why_it_exited
from tradd.supervisor.policy import RestartPolicy

log = structlog.get_logger("tradd.supervisor.process")
HEARTBEAT = WorkerRequest(WorkerCommand.HEARTBEAT)


class Emit(Protocol):
    """emit(kind, severity, message, **data): the supervisor's event log."""

    def __call__(
        self,
        kind: EventKind,
        severity: Severity,
        message: str,
        *,
        cause: HaltCause | None = None,
        **data: Any,
    ) -> object: ...


EVENT_WAIT = 5.0
"""Seconds each long poll of a worker's events may wait (the worker caps it at 5)."""
PROTOCOL_LOG_EVERY = 60.0
"""Seconds between two logs of a worker's replies that do not validate (one each kind)."""
CONFIG_ERRNOS = frozenset(
    {errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.ENOEXEC, errno.ELOOP}
)
"""A spawn failing with these cannot succeed on a retry: the interpreter or the working
directory is wrong (FATAL). Other failures are retried."""


@dataclass(frozen=True)
class SpawnSpec:
    """How to start a worker: argv prefix, working directory, environment."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]


class WorkerProcess:
    def __init__(
        self,
        config: StrategySettings,
        settings: SupervisorSettings,
        spawn: SpawnSpec,
        channel: Path,
        *,
        monotonic: Callable[[], float],
        emit: Emit,
        wake: Callable[[], None],
        on_event: Callable[[str, Event], object] = lambda _name, _event: None,
        log_file: Path | None = None,
    ) -> None:
        self.config, self.settings, self.spawn_spec = config, settings, spawn
        self.channel, self._monotonic, self._emit, self._wake = channel, monotonic, emit, wake
        self.state = WorkerState.STOPPED
        self.reason = ""
        self.policy = RestartPolicy(settings)
        self.process: asyncio.subprocess.Process | None = None
        self.exit_code: int | None = None
        self.restarts = 0
        self.snapshot: WorkerStatus | None = None
        self.held = False
        """Held by a flatten: not restarted while the supervisor trades its account."""
        self._started_at = self._entered_at = self._last_answer = math.nan
        self._last_progress = math.nan
        """When the worker's main loop was last known to turn (its heartbeat's `loop_age`
        before the answer): a loop working through a backlog is busy, not hung."""
        self._excused_at = -math.inf
        """When the supervisor last could not ask (out of descriptors): the hang clocks
        start again from there, since silence it caused says nothing about the worker."""
        self._retry_at = self._kill_at = math.inf
        self._polling = False
        self._exited = asyncio.Event()
        self._on_event = on_event
        self._log_file = log_file
        self._exit_report = exit_report_path(channel)
        self._snapshot_at: str | None = None
        """When `snapshot` was taken (wall time): shown with it once the worker is gone."""
        self._started_wall = ""
        self._event_seq = 0
        self._listener: asyncio.Task[None] | None = None
        self._protocol_logged: dict[str, float] = {}
        """When a reply that did not validate was last logged, by command."""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    # -- operator actions ---------------------------------------------------------------------
    async def start(self, why: str) -> None:
        """Start from STOPPED/EXITED/FATAL/BACKOFF (an operator start forgets the history)."""
        if self.state in ALIVE or self.alive:  # a killed process not yet reaped: wait for it
            return
        if self.state is not WorkerState.BACKOFF:
            self.policy.reset()
        await self._spawn(why)

    def stop(self, why: str) -> None:
        """SIGTERM now (the worker cancels its orders and exits); SIGKILL at the deadline."""
        if self.state is WorkerState.BACKOFF:
            self._enter(WorkerState.STOPPED, why)
            return
        if self.state not in (WorkerState.STARTING, WorkerState.RUNNING):
            return
        self._enter(WorkerState.STOPPING, why)
        self._kill_at = self._monotonic() + self.settings.stop_timeout
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def hold(self) -> bool:
        """Keep the worker down (a flatten trades its account); True if it was meant to run."""
        self.held = True
        return self.state in (WorkerState.STARTING, WorkerState.RUNNING, WorkerState.BACKOFF)

    def release(self, restart: bool) -> None:
        """End a hold; a worker that was meant to run starts again on the next turn."""
        self.held = False
        if restart and self.state is WorkerState.BACKOFF:
            self._retry_at = self._monotonic()

    async def wait_exit(self, timeout: float) -> bool:
        if not self.alive:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._exited.wait(), timeout)
        return not self.alive

    # -- the loop's turn ----------------------------------------------------------------------
    async def step(self, now: float) -> None:
        state = self.state
        if state in ALIVE and not self.alive and self.process is not None:
            self._on_exit(now)
        elif state is WorkerState.BACKOFF and now >= self._retry_at and self._may_respawn():
            await self._spawn("backoff over")
        elif (
            state is WorkerState.STARTING
            and now - self._heard(self._started_at) > self.settings.start_timeout
        ):
            self._hung(now, f"no answer within start_timeout {self.settings.start_timeout:g}s")
        elif (
            state is WorkerState.RUNNING
            and now - self._heard(self._last_progress) > self.settings.heartbeat_timeout
        ):
            self._hung(now, self._silence(now))
        elif state is WorkerState.STOPPING and now >= self._kill_at:
            log.warning("worker did not stop in time; killing it", strategy=self.name)
            self.kill()
            self._kill_at = math.inf

    async def settle(self) -> None:
        """Take note of an exit now rather than on the next turn of the loop."""
        await self.step(self._monotonic())

    async def heartbeat(self) -> None:
        """Ask for the worker's status; an answer is the heartbeat. One request at a time."""
        if self._polling or not self.alive or self.state is WorkerState.STOPPING:
            return
        self._polling = True
        try:
            reply = await worker_request(self.channel, HEARTBEAT, self._poll_timeout())
            snapshot = parse_status(reply)
        except ValidationError as exc:
            self._protocol_error("heartbeat", exc)
            return
        except SupervisorShort as exc:
            self._excused_at = self._monotonic()
            log.warning("cannot heartbeat: the supervisor is short of resources",
                        strategy=self.name, error=str(exc))  # fmt: skip
            return
        except (WorkerUnreachable, WorkerRefused):
            return
        finally:
            self._polling = False
        if not self.alive:
            return
        self.snapshot = snapshot
        self._snapshot_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._last_answer = now = self._monotonic()
        turned = now - (snapshot.loop_age if isinstance(snapshot, Heartbeat) else 0.0)
        if not turned <= self._last_progress:  # NaN before the first: any answer counts
            self._last_progress = turned
        if self.state is WorkerState.STARTING:
            self._enter(WorkerState.RUNNING, "answering")
        if self._listener is None or self._listener.done():
            process = self.process
            self._listener = asyncio.get_running_loop().create_task(self._listen(process))

    async def _listen(self, process: asyncio.subprocess.Process | None) -> None:
        """Long-poll the worker's events (it answers as soon as one happens) and hand each
        to the supervisor once, in order, until this process is gone."""
        while process is self.process and self.alive:
            try:
                poll = WorkerRequest.events(self._event_seq, EVENT_WAIT)
                reply = await worker_request(self.channel, poll, EVENT_WAIT + 10)
                events = EventsReply.model_validate(reply).events
            except (WorkerUnreachable, WorkerRefused):
                return  # the next heartbeat starts a new listener
            except ValidationError as exc:
                self._protocol_error("events", exc)
                return  # as an unreachable worker: the next heartbeat listens again
            if process is not self.process:
                return
            for event in events:
                if event.seq > self._event_seq:
                    self._event_seq = event.seq
                    self._on_event(self.name, event)

    def view(self, now: float) -> WorkerView:
        running = self.state in ALIVE
        age = now - self._last_answer if math.isfinite(self._last_answer) else None
        return WorkerView(
            name=self.name,
            state=str(self.state),
            pid=self.process.pid if self.process is not None and running else None,
            restarts=self.restarts,
            uptime=now - self._started_at if running else None,
            heartbeat_age=age if running else None,
            exit_code=self.exit_code,
            reason=self.reason,
            snapshot=self.snapshot,
            snapshot_at=self._snapshot_at,
        )

    # -- internals ----------------------------------------------------------------------------
    def _silence(self, now: float) -> str:
        """Why a RUNNING worker counts as hung: silent, or answering with a loop that does
        not turn (it answered well after its loop last turned)."""
        if self._last_answer - self._last_progress <= self._poll_timeout():
            return f"no heartbeat for {now - self._last_answer:.1f}s"
        backlog = self.snapshot.backlog if isinstance(self.snapshot, Heartbeat) else None
        return (f"its main loop made no progress for {now - self._last_progress:.1f}s "
                f"(backlog {backlog}), though it answers")  # fmt: skip

    def _protocol_error(self, command: str, exc: ValidationError) -> None:
        """A reply that does not validate: the worker speaks another protocol (a version
        skew, a bug). It counts as no answer; logged naming the field, at most once every
        PROTOCOL_LOG_EVERY seconds per command, since it repeats every second."""
        now = self._monotonic()
        if now - self._protocol_logged.get(command, -math.inf) < PROTOCOL_LOG_EVERY:
            return
        self._protocol_logged[command] = now
        log.error("worker reply does not validate; not taken as an answer",
                  strategy=self.name, command=command, problem=problem(exc))  # fmt: skip

    def _poll_timeout(self) -> float:
        """How long one heartbeat request may wait for its answer."""
        return max(self.settings.heartbeat_interval * 2, 1.0)

    def _heard(self, since: float) -> float:
        """The later of `since` and the last time the supervisor could not ask."""
        return since if math.isnan(since) or since >= self._excused_at else self._excused_at

    def _may_respawn(self) -> bool:
        """Not while a flatten holds it, nor before the killed process is gone (its IB
        clientId and channel socket are still its own)."""
        return not self.held and not self.alive

    async def _spawn(self, why: str) -> None:
        report = ("--exit-report", str(self._exit_report))
        argv = [*self.spawn_spec.argv, "--strategy", self.name, *report]
        clear_exit_report(self._exit_report)
        was_backoff = self.state is WorkerState.BACKOFF
        self.process = None  # the old one is gone; the loop must not see its exit again
        self._enter(WorkerState.STARTING, why)
        self._exited = asyncio.Event()
        self.exit_code, self.snapshot, self._snapshot_at = None, None, None
        self._event_seq, self._listener = 0, None  # a new process numbers its events anew
        self._started_at = self._monotonic()
        self._started_wall = datetime.now(UTC).isoformat()
        self._last_answer, self._last_progress, self._excused_at = math.nan, math.nan, -math.inf
        try:
            self.process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.spawn_spec.cwd,
                env=dict(self.spawn_spec.env),
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            self.process = None
            self._spawn_failed(exc)
            return
        self.policy.spawned()
        if was_backoff:
            self.restarts += 1
        if self.state is WorkerState.STOPPING:  # stopped while it was being spawned
            self._signal(signal.SIGTERM)
        log.info("worker spawned", strategy=self.name, pid=self.process.pid, why=why)
        asyncio.get_running_loop().create_task(self._watch(self.process))

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        await process.wait()
        if process is self.process:
            self._exited.set()
        self._wake()

    def _on_exit(self, now: float) -> None:
        assert self.process is not None
        code = self.exit_code = self.process.returncode
        ran_for = now - self._started_at
        if self.state is WorkerState.STOPPING:
            self._enter(WorkerState.STOPPED, f"stopped (exit {code})")
            return
        if self.held:
            self._retry_at = now
            self._enter(WorkerState.BACKOFF, f"killed for a flatten (exit {code})")
            return
        if code == EXIT_OK:
            self._enter(WorkerState.EXITED, "exited on its own (exit 0)")
            return
        said = why_it_exited(code, self._exit_report, self._log_file, self._started_wall)
        if code == EXIT_CONFIG:
            why = f"configuration error (exit 78){': ' + said if said else ''}"
            self._enter(WorkerState.EXITED, f"{why}; fix it, then start")
            self._emit(EventKind.WORKER_CONFIG_ERROR, "critical",
                       f"{self.name}: {why}; not restarted", strategy=self.name)  # fmt: skip
            return
        self._crashed(now, ran_for, f"exit {code}" + (f": {said}" if said else ""))

    def _spawn_failed(self, exc: OSError) -> None:
        """Out of resources: back off and retry until it works (the supervisor's trouble,
        not the strategy's). A wrong interpreter or directory: FATAL. Anything else counts
        as a crash, so only a loop of them ends in FATAL."""
        now, why = self._monotonic(), f"cannot start: {exc}"
        if self.state is WorkerState.STOPPING:
            self._enter(WorkerState.STOPPED, why)
        elif out_of_resources(exc, spawning=True):
            delay = self.policy.on_short()
            self._retry_at = now + delay
            self._enter(WorkerState.BACKOFF, f"{why}; retry in {delay:g}s")
            if self.policy.short == 1:
                message = f"{self.name}: {why} (the supervisor is short of resources); retrying"
                self._emit(EventKind.WORKER_SPAWN_FAILED, "critical", message, strategy=self.name)
        elif exc.errno in CONFIG_ERRNOS:
            self._enter(WorkerState.FATAL, why)
            self._emit(
                EventKind.WORKER_FATAL, "critical", f"{self.name}: {why}", strategy=self.name
            )
        else:
            self._crashed(now, 0.0, why)

    def _hung(self, now: float, why: str) -> None:
        log.error("worker hung; killing it", strategy=self.name, why=why)
        self._emit(
            EventKind.WORKER_HUNG, "critical", f"{self.name}: {why}; killed", strategy=self.name
        )
        self.kill()
        self._crashed(now, now - self._started_at, why)

    def _crashed(self, now: float, ran_for: float, why: str) -> None:
        delay = self.policy.on_crash(now, ran_for)
        if delay is None:
            s = self.settings
            message = f"{self.name}: {s.crash_limit} crashes within {s.crash_window:g}s ({why})"
            self._enter(WorkerState.FATAL, f"crash loop: {why}")
            self._emit(EventKind.CRASH_LOOP, "critical", message, strategy=self.name)
            return
        self._retry_at = now + delay
        self._enter(WorkerState.BACKOFF, f"{why}; restart in {delay:g}s")
        self._emit(
            EventKind.WORKER_CRASHED,
            "warning",
            f"{self.name}: {why}; restart in {delay:g}s",
            strategy=self.name,
        )

    def _enter(self, new: WorkerState, reason: str) -> None:
        check_transition(self.state, new)
        log.info(
            "worker state", strategy=self.name, old=str(self.state), new=str(new), reason=reason
        )
        self.state, self.reason, self._entered_at = new, reason, self._monotonic()

    def _signal(self, signum: signal.Signals) -> None:
        if self.alive:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)
