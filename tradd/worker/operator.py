"""What operators ask of a worker (the command channel) and how it stops.

Status, events, pause, resume and enter (an operator entry, tradd.worker.entry) are
answered at once; flatten and stop are small processes advanced on each tick of the
worker's loop, because the fills and cancels that finish them arrive through that loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from tradd.config.live import WorkerSettings
from tradd.records.base import wire
from tradd.records.events import EventKind
from tradd.records.status import WorkerStatus
from tradd.records.worker_protocol import WorkerCommand, WorkerErrorCode
from tradd.risk import TradingState
from tradd.worker.channel import Command, CommandError
from tradd.worker.entry import Entries, EntryContext
from tradd.worker.flatten import FlattenJob, flatten_job

log = structlog.get_logger("tradd.worker.operator")
MAX_EVENT_WAIT = 5.0
"""Longest an `events` request waits for an event (well inside the channel's timeout)."""
MAX_WAITING = 8
"""Waiting `events` requests at most (the supervisor keeps one)."""
READ_ONLY = frozenset({WorkerCommand.STATUS, WorkerCommand.PING, WorkerCommand.EVENTS})


class OperatorContext(EntryContext, Protocol):
    """What the operator drives of the worker: the engine (`tradd.worker.engine`, which
    owns the operator and so is not imported here)."""

    @property
    def settings(self) -> WorkerSettings: ...
    def save_state(self) -> None: ...
    def snapshot(self) -> None: ...


class Operator:
    def __init__(
        self,
        engine: OperatorContext,
        request_stop: Callable[[], None],
        monotonic: Callable[[], float],
        status: Callable[[], WorkerStatus],
    ) -> None:
        """`status`: the worker's status snapshot, the reply to `status` and `ping`."""
        self._engine, self._request_stop, self._monotonic = engine, request_stop, monotonic
        self._status = status
        self.flatten: FlattenJob | None = None
        self.stopping: str = ""
        """Why the worker is stopping ("" while it is not)."""
        self._stop_deadline = math.inf
        self._waiting: list[tuple[Command, int, float]] = []
        self.entries = Entries(engine)
        engine.events.on_emit = self.on_event
        self.on_change: Callable[[], None] = lambda: None
        """Called after a command changed the worker, before its reply: the heartbeat's
        snapshot (tradd.worker.pulse) shows the change to whoever heard the reply."""

    def handle(self, command: Command) -> None:
        """Carry out one command; whatever goes wrong is the reply, never the worker's end."""
        try:
            result = self._run(command)
        except CommandError as exc:
            command.reply.set_exception(exc)
            return
        except Exception as exc:
            log.exception("command failed", command=str(command.name))
            error = CommandError(WorkerErrorCode.INTERNAL, f"{command.name}: {exc!r}")
            command.reply.set_exception(error)
            return
        if command.name not in READ_ONLY:
            self.on_change()
        if result is not None:
            command.reply.set_result(result)

    def tick(self, now: float) -> None:
        if self._waiting:
            self._answer_waiting(now)
        usable = self._engine.link.usable
        if self.flatten is not None and self.flatten.step(now, usable):
            self.flatten = None
        if self.stopping:
            self._advance_stop(now)

    def _run(self, command: Command) -> dict[str, Any] | None:
        engine, name = self._engine, command.name
        gate = engine.manager.gate
        if name in (WorkerCommand.STATUS, WorkerCommand.PING):
            return wire(self._status())
        if name is WorkerCommand.EVENTS:
            return self._events(command)
        if name is WorkerCommand.ENTER:
            if not command.reply.set_running_or_notify_cancel():
                return None  # its caller was told it timed out and withdrawn: never placed
            return self.entries.enter(command.args)
        if name is WorkerCommand.PAUSE:
            if gate.state is TradingState.HALTED:
                message = f"halted ({gate.reason}): resume it first"
                raise CommandError(WorkerErrorCode.CONFLICT, message)
            gate.set_state(TradingState.REDUCING, f"paused by {_by(command)}: exits only")
        elif name is WorkerCommand.RESUME:
            gate.set_state(TradingState.ACTIVE, f"resumed by {_by(command)}")
        elif name is WorkerCommand.FLATTEN:
            self.start_flatten(str(command.args.get("requested_by", "operator")), command)
            return None
        elif name is WorkerCommand.STOP:
            self.begin_stop("stop command")
        engine.save_state()
        return {"trading_state": str(gate.state), "reason": gate.reason}

    def _events(self, command: Command) -> dict[str, Any] | None:
        """Events after `since`; with `wait` (seconds, <= MAX_EVENT_WAIT) and none yet, the
        reply waits for the next event: the supervisor's long poll, so alerts leave at once."""
        since, wait = command.args.get("since", 0), command.args.get("wait", 0)
        since = since if isinstance(since, int) and not isinstance(since, bool) else 0
        found = self._engine.events.since(since)
        usable = isinstance(wait, int | float) and math.isfinite(wait) and wait > 0
        if found or not usable or len(self._waiting) >= MAX_WAITING:
            return {"events": [e.as_dict() for e in found]}
        deadline = self._monotonic() + min(float(wait), MAX_EVENT_WAIT)
        self._waiting.append((command, since, deadline))
        return None

    def on_event(self, _event: object) -> None:
        self._answer_waiting(-math.inf)  # only those the new event is news to; none expire

    def _answer_waiting(self, now: float) -> None:
        keep = []
        for command, since, deadline in self._waiting:
            found = self._engine.events.since(since)
            if found or now >= deadline or self.stopping:
                command.reply.set_result({"events": [e.as_dict() for e in found]})
            else:
                keep.append((command, since, deadline))
        self._waiting = keep

    def start_close(self, symbols: tuple[str, ...], why: str) -> None:
        """Close some positions for a risk rule (a running flatten covers them already)."""
        if self.flatten is not None:
            return
        engine = self._engine
        self.flatten = flatten_job(engine.manager, why, engine.settings.flatten_timeout,
                                   self._monotonic, symbols=symbols)  # fmt: skip
        if self.flatten.step(self._monotonic(), engine.link.usable):
            self.flatten = None

    def start_flatten(self, requested_by: str, command: Command | None = None) -> None:
        """HALT, then cancel and close everything; the reply comes once flat (or timed out)."""
        if self.flatten is not None and self.flatten.symbols is None:
            raise CommandError(WorkerErrorCode.CONFLICT, "a flatten is already in progress")
        engine = self._engine
        engine.manager.gate.set_state(TradingState.HALTED, f"flattened by {requested_by}")
        engine.save_state()
        self.flatten = flatten_job(
            engine.manager,
            requested_by,
            engine.settings.flatten_timeout,
            self._monotonic,
            command.reply if command else None,
        )
        engine.events.emit(EventKind.FLATTEN, "warning", f"flatten requested by {requested_by}")
        if self.flatten.step(self._monotonic(), engine.link.usable):
            self.flatten = None

    def begin_stop(self, why: str) -> None:
        """Stop taking signals; cancel working orders and flatten if configured; then stop."""
        if self.stopping:
            self._request_stop()  # asked twice: stop now
            return
        engine = self._engine
        strategy = engine.strategy
        self.stopping = why
        self._stop_deadline = self._monotonic() + engine.settings.flatten_timeout
        log.info("stopping", why=why, cancel=strategy.cancel_on_stop,
                 flatten=strategy.flatten_on_stop)  # fmt: skip
        if strategy.flatten_on_stop and self.flatten is None:
            self.start_flatten("stop")
        elif strategy.cancel_on_stop:
            for ref in self._working():
                engine.manager.cancel(ref)

    def _working(self) -> list[str]:
        return self._engine.manager.working.working()

    def _advance_stop(self, now: float) -> None:
        engine = self._engine
        working = self._working()
        settled = self.flatten is None and (not engine.strategy.cancel_on_stop or not working)
        if settled or now >= self._stop_deadline or not engine.link.usable:
            if not settled:
                log.warning("stopping with orders still working", orders=working)
            engine.snapshot()
            self._request_stop()


def _by(command: Command) -> str:
    """Who asked for a pause or resume (the daemon passes `requested_by` on)."""
    by = command.args.get("requested_by")
    return by if isinstance(by, str) and by and len(by) <= 64 else "operator"
