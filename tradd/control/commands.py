"""One class per control command: `validate` the arguments, then `execute` on the daemon.

`mutating` commands change what runs or trades; the server runs at most one at a time
and answers any other with `conflict` (a flatten during a reload is refused, never
interleaved). Read-only commands (status, health, events) always run, and so does
`enter`: its worker decides (see `Enter`), so entries to several strategies may overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from tradd.control.command_base import Command
from tradd.control.proposal_commands import PROPOSAL_COMMANDS
from tradd.control.protocol import ErrorCode, ProtocolError
from tradd.control.render import flatten_text
from tradd.control.schedule_commands import SCHEDULE_COMMANDS
from tradd.errors import ConfigError
from tradd.records.busy import BusyKind
from tradd.records.entry import parse_entry
from tradd.records.events import EventKind
from tradd.records.states import ALIVE, WorkerState
from tradd.records.view import view_dict
from tradd.records.worker_protocol import WorkerCommand, WorkerRequest
from tradd.supervisor.channel import WorkerRefused, WorkerUnreachable, worker_request

if TYPE_CHECKING:
    from tradd.config.live import StrategySettings
    from tradd.supervisor.daemon import Supervisor
    from tradd.supervisor.process import WorkerProcess


class StrategyCommand(Command):
    """A command on one strategy: `{"strategy": NAME}`."""

    arguments = frozenset({"strategy"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        name = out.get("strategy")
        if not isinstance(name, str) or not name:
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT, f"{self.name}: strategy must be a name, got {name!r}"
            )
        return out

    @staticmethod
    def worker(daemon: Supervisor, name: str) -> WorkerProcess:
        try:
            return daemon.fleet[name]
        except KeyError as exc:
            raise ProtocolError(ErrorCode.UNKNOWN_STRATEGY, str(exc.args[0])) from None


class Status(Command):
    name, mutating = "status", False

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        return {
            "supervisor": daemon.health(),
            "status_line": daemon.status_line(),
            "strategies": [view_dict(v, _config(daemon, v.name)) for v in daemon.views],
        }


def _config(daemon: Supervisor, name: str) -> StrategySettings | None:
    process = daemon.fleet.workers.get(name)
    return process.config if process is not None else None


class Health(Command):
    name, mutating = "health", False

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        return daemon.health()


class Events(Command):
    name, mutating = "events", False
    arguments = frozenset({"since"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        since = out.setdefault("since", 0)
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT, f"events: since must be an integer >= 0, got {since!r}"
            )
        return out

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        return {"events": [e.as_dict() for e in daemon.events.since(args["since"])]}


class Start(StrategyCommand):
    name = "start"

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        worker = self.worker(daemon, args["strategy"])
        if worker.state in ALIVE:
            raise ProtocolError(ErrorCode.CONFLICT, f"{worker.name} is already {worker.state}")
        await worker.start("started by operator")
        return {"strategy": worker.name, "state": str(worker.state)}


class Stop(StrategyCommand):
    name = "stop"

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        worker = self.worker(daemon, args["strategy"])
        worker.stop("stopped by operator")
        await worker.wait_exit(daemon.settings.supervisor.stop_timeout + 10)
        await worker.settle()
        return {"strategy": worker.name, "state": str(worker.state)}


class Restart(StrategyCommand):
    name = "restart"

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        await Stop().execute(daemon, args)
        worker = self.worker(daemon, args["strategy"])
        await worker.start("restarted by operator")
        return {"strategy": worker.name, "state": str(worker.state)}


class Forwarded(StrategyCommand):
    """Pause and resume are the worker's own decisions (its risk gate); pass them on,
    with who asked (`requested_by`, "tradctl" unless said: the console sends
    `web:<user>`), and raise an event naming them (so an alert does)."""

    command: ClassVar[WorkerCommand]
    kind: ClassVar[EventKind]
    done: ClassVar[str]
    arguments = frozenset({"strategy", "requested_by"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        by = out.setdefault("requested_by", "tradctl")
        if not isinstance(by, str) or not by or len(by) > 64 or not by.isprintable():
            raise ProtocolError(ErrorCode.BAD_ARGUMENT,
                                f"{self.name}: requested_by must be 1 to 64 printable "
                                f"characters, got {by!r}")  # fmt: skip
        return out

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        worker = self.worker(daemon, args["strategy"])
        if worker.state is not WorkerState.RUNNING:
            raise ProtocolError(
                ErrorCode.UNAVAILABLE, f"{worker.name} is {worker.state}, not RUNNING"
            )
        by = args["requested_by"]
        request = WorkerRequest(self.command, {"requested_by": by})
        try:
            result = await worker_request(worker.channel, request, 10.0)
        except WorkerRefused as exc:
            raise ProtocolError(ErrorCode(exc.code), f"{worker.name}: {exc}") from None
        except WorkerUnreachable as exc:
            raise ProtocolError(ErrorCode.TIMEOUT, f"{worker.name}: {exc}") from None
        daemon.events.emit(self.kind, "warning" if self.kind is EventKind.PAUSED else "info",
                           f"{worker.name} {self.done} by {by}", strategy=worker.name,
                           requested_by=by, trading_state=result.get("trading_state"))  # fmt: skip
        return {"strategy": worker.name, **result}


class Pause(Forwarded):
    name, command, kind, done = "pause", WorkerCommand.PAUSE, EventKind.PAUSED, "paused"


class Resume(Forwarded):
    name, command, kind, done = "resume", WorkerCommand.RESUME, EventKind.RESUMED, "resumed"


class Flatten(Command):
    """`{"strategy": NAME}` or `{"all": true}`; the reply comes once flat (or failed)."""

    name = "flatten"
    arguments = frozenset({"strategy", "all", "requested_by"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        name, every = out.get("strategy"), out.get("all", False)
        if not isinstance(every, bool) or (name is None) == (not every):
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT, "flatten: give exactly one of strategy or all=true"
            )
        if name is not None and (not isinstance(name, str) or not name):
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT, f"flatten: strategy must be a name, got {name!r}"
            )
        by = out.setdefault("requested_by", "tradctl")
        if not isinstance(by, str) or len(by) > 64:
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT, "flatten: requested_by must be a short string"
            )
        return out

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        if args.get("all"):
            workers = list(daemon.fleet.workers.values())
        else:
            workers = [StrategyCommand.worker(daemon, args["strategy"])]
        target = "--all" if args.get("all") else args["strategy"]
        result: dict[str, Any] = {"ok": False, "strategies": {}}
        try:
            result = await daemon.flattener.flatten(
                daemon.settings, workers, args["requested_by"], sweep=bool(args.get("all"))
            )
        finally:  # the alert goes out whatever happened, a failed kill switch above all
            verdict = "confirmed flat" if result["ok"] else "NOT confirmed flat"
            paths = {n: r.get("path") for n, r in result["strategies"].items()}
            daemon.events.emit(
                EventKind.FLATTEN,
                "warning" if result["ok"] else "critical",
                f"flatten {target} requested by {args['requested_by']}: {verdict}",
                requested_by=args["requested_by"],
                ok=result["ok"],
                paths=paths,
                table=flatten_text(result),
            )
        return result


class Enter(StrategyCommand):
    """An operator entry, `{"strategy", "symbol", "side": BUY|SELL, "value" | "quantity"
    (whole shares), "requested_by"?, "client_ref"?}`, placed by the strategy's worker
    through its own order path (trading gate, risk gate, ledger, IB; see
    tradd.worker.entry), so it is checked and persisted like any order and the strategy's
    Backtrader code owns the position after.

    Answers once the order is sent (not filled): `{"status": "executed", ...}`, or
    `{"status": "blocked", "reason", "rules"}` when a gate refused it. Not `mutating`: the
    worker serialises its own entries, and one during a flatten is `blocked`, not a conflict.
    """

    name, mutating = "enter", False
    arguments = frozenset(
        {"strategy", "symbol", "side", "value", "quantity", "requested_by", "client_ref"}
    )
    timeout = 15.0
    """Seconds the worker has to answer (its loop has 10, the IB send included)."""

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """`{"strategy", "entry": EntryArgs}`, by the checks of tradd.records.entry (the
        worker's too); the symbol is checked against the strategy's in `execute`."""
        out = super().validate(args)
        entry = parse_entry(out, requested_by="tradctl")
        if isinstance(entry, str):
            raise _bad(f"enter: {entry}")
        return {"strategy": out["strategy"], "entry": entry}

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        worker, entry = self.worker(daemon, args["strategy"]), args["entry"]
        symbols = worker.config.symbols
        if entry.symbol not in symbols:
            raise _bad(f"enter: {worker.name} does not trade {entry.symbol!r} "
                       f"(its symbols: {', '.join(symbols)})")  # fmt: skip
        if daemon.busy is not None and daemon.busy.kind is BusyKind.FLATTEN:
            reason = f"{daemon.busy} in progress"
            rule = {"rule": "TRADING_GATE", "action": "BLOCK", "message": reason,
                    "value": None, "limit": None}  # fmt: skip
            return {"status": "blocked", "strategy": worker.name, "symbol": entry.symbol,
                    "side": entry.side, "reason": reason, "rules": [rule]}  # fmt: skip
        if daemon.stopping or worker.state is not WorkerState.RUNNING:
            state = "stopping" if daemon.stopping else str(worker.state)
            raise ProtocolError(ErrorCode.UNAVAILABLE, f"{worker.name} is {state}, not RUNNING")
        try:
            return await worker_request(worker.channel, WorkerRequest.enter(entry), self.timeout)
        except WorkerRefused as exc:
            raise ProtocolError(ErrorCode(exc.code), f"{worker.name}: {exc}") from None
        except WorkerUnreachable as exc:
            retry = ("repeat it with the same client_ref to learn" if entry.client_ref
                     else "check `tradctl status` for")  # fmt: skip
            raise ProtocolError(
                ErrorCode.TIMEOUT,
                f"{worker.name}: {exc}; the entry may have been placed: {retry} its outcome",
            ) from None


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_ARGUMENT, message)


class Reload(Command):
    name = "reload"

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        try:
            return await daemon.reload()
        except ConfigError as exc:
            raise ProtocolError(
                ErrorCode.CONFIG_INVALID, f"{exc}; nothing changed", details=exc.problems
            ) from None


class Alerts(Command):
    """`{"action": "test", "channel": C?}` sends a test alert and waits for the result;
    `{"action": "list", "limit": N?}` shows recent alerts and their deliveries."""

    name, mutating = "alerts", False
    arguments = frozenset({"action", "channel", "limit"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        if out.get("action") not in ("test", "list"):
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT,
                f"alerts: action must be test or list, got {out.get('action')!r}",
            )
        channel = out.get("channel")
        if channel is not None and channel not in ("email", "sms", "webhook"):
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT,
                f"alerts: channel must be email, sms or webhook, got {channel!r}",
            )
        limit = out.setdefault("limit", 20)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT, f"alerts: limit must be 1..500, got {limit!r}"
            )
        return out

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        service = daemon.alerts
        if service is None:
            raise ProtocolError(ErrorCode.UNAVAILABLE, "alerts are not running in this daemon")
        if args["action"] == "list":
            return {"alerts": await service.recent(args["limit"])}
        channel = args.get("channel")
        enabled = service.dispatcher.channels
        if channel is not None and channel not in enabled:
            raise ProtocolError(
                ErrorCode.UNAVAILABLE,
                f"alerts: channel {channel} is not enabled ({', '.join(enabled) or 'none are'})",
            )
        return await service.test([channel] if channel else [], timeout=60.0)


COMMANDS: Mapping[str, Command] = MappingProxyType(
    {
        c.name: c
        for c in (
            Status(),
            Health(),
            Events(),
            Start(),
            Stop(),
            Restart(),
            Pause(),
            Resume(),
            Flatten(),
            Enter(),
            Reload(),
            Alerts(),
            *PROPOSAL_COMMANDS,
            *SCHEDULE_COMMANDS,
        )
    }
)
