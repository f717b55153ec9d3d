"""What the supervisor knows of one strategy's worker, as plain data.

`tradctl status`, the metrics collector and alerts read these views, never the
supervisor's live objects, so none of them can change or block it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradd.config.live import StrategySettings


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
    snapshot: Mapping[str, Any] = field(default_factory=dict)
    """The worker's latest `status` reply (see tradd.worker.snapshot), {} before the first."""


def view_dict(view: WorkerView, config: StrategySettings | None = None) -> dict[str, Any]:
    """A view for the wire (`status`): the supervisor's facts, what the strategy runs
    (`strategy_class`, its configured dotted path) on which `symbols` (what `enter`, and so
    `tradd scan --execute`, may trade through it) with which `params` (those the config
    sets; `params_file` adds more) on which `bar`, and the worker's latest snapshot."""
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
        "worker": dict(view.snapshot),
    }
