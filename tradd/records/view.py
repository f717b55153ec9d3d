"""What the supervisor knows of one strategy's worker, as plain data.

`tradctl status`, the metrics collector and alerts read these views, never the
supervisor's live objects, so none of them can change or block it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tradd.records.base import wire
from tradd.records.status import WorkerStatus


class StrategyConfig(Protocol):
    """What a view shows of a strategy's configuration (`tradd.config.live.StrategySettings`;
    records import nothing of tradd, so the config package is not imported here)."""

    @property
    def strategy(self) -> str: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    @property
    def bar(self) -> str: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def params_file(self) -> Path | None: ...


@dataclass(frozen=True)
class WorkerView:
    name: str
    state: str
    """A `WorkerState` value: STOPPED STARTING RUNNING BACKOFF STOPPING EXITED FATAL."""
    pid: int | None
    restarts: int
    """Times the supervisor has restarted this worker (crashes and hangs) since it began."""
    uptime: float | None
    """Seconds since the current process started (None when not running)."""
    heartbeat_age: float | None
    """Seconds since the worker last answered a status request (None: never answered)."""
    exit_code: int | None = None
    """The last process's exit code (negative: killed by that signal)."""
    reason: str = ""
    """Why it is in this state (e.g. the crash loop, the config error)."""
    snapshot: WorkerStatus | None = None
    """The worker's latest heartbeat (a `Heartbeat`, or a plain status when the worker
    answered before its loop published one), None before the first. Live only while
    RUNNING: after that it is what the worker said before it went."""
    snapshot_at: str | None = None
    """When `snapshot` was taken (ISO wall time), None before the first."""


def view_dict(view: WorkerView, config: StrategyConfig | None = None) -> dict[str, Any]:
    """A view for the wire (`status`): the supervisor's facts, what the strategy runs
    (`strategy_class`, its configured dotted path) on which `symbols` (what `enter`, and so
    `tradd scan --execute`, may trade through it) with which `params` (those the config
    sets; `params_file` adds more) on which `bar`, and the worker's state (`worker_dict`)."""
    return {
        "name": view.name,
        "strategy_class": config.strategy if config is not None else None,
        "symbols": list(config.symbols) if config is not None else [],
        "params": dict(config.params) if config is not None else {},
        "params_file": str(config.params_file) if config and config.params_file else None,
        "bar": config.bar if config is not None else None,
        "state": view.state,
        "pid": view.pid,
        "restarts": view.restarts,
        "uptime": view.uptime,
        "heartbeat_age": view.heartbeat_age,
        "exit_code": view.exit_code,
        "reason": view.reason,
        "worker": worker_dict(view),
    }


def worker_dict(view: WorkerView) -> dict[str, Any]:
    """The worker's latest snapshot while it is RUNNING. Otherwise nothing in it is live: a
    STOPPED worker is not `connected` and no risk gate is ACTIVE for it, so it says so
    (`connection` "not running", or "unknown" while a process is starting or stopping;
    `trading_state` "unknown") and gives what it said last under `last_known`, with the
    time it said it (`as_of`): the positions it held then, which nothing watches now."""
    said = wire(view.snapshot) if view.snapshot is not None else None
    if view.state == "RUNNING":
        return {**(said or {}), "live": True}
    running = view.state in ("STARTING", "STOPPING")
    gone: dict[str, Any] = {
        "live": False,
        "connection": "unknown" if running else "not running",
        "trading_state": "unknown",
    }
    if said is not None:
        gone["last_known"] = {**said, "as_of": view.snapshot_at}
    return gone
