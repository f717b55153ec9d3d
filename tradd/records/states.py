"""The worker lifecycle as an explicit state machine (Supervisor's process states).

STOPPED   not running, and not meant to (initial; after `stop`).
STARTING  spawned; not yet answered a status request.
RUNNING   answering heartbeats.
BACKOFF   crashed (or hung, or never came up); waiting to be started again.
STOPPING  asked to stop (SIGTERM); SIGKILL after the stop timeout.
EXITED    ended with exit code 0 on its own, or a configuration error (78): not
          restarted until an operator starts it.
FATAL     crashed `crash_limit` times within `crash_window`: not restarted.
"""

from __future__ import annotations

from enum import StrEnum


class WorkerState(StrEnum):
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    EXITED = "EXITED"
    FATAL = "FATAL"


TRANSITIONS: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.STOPPED: frozenset({WorkerState.STARTING}),
    WorkerState.STARTING: frozenset(
        {
            WorkerState.RUNNING,
            WorkerState.BACKOFF,
            WorkerState.STOPPING,
            WorkerState.EXITED,
            WorkerState.FATAL,
        }
    ),
    WorkerState.RUNNING: frozenset(
        {WorkerState.BACKOFF, WorkerState.STOPPING, WorkerState.EXITED, WorkerState.FATAL}
    ),
    WorkerState.BACKOFF: frozenset({WorkerState.STARTING, WorkerState.STOPPED}),
    WorkerState.STOPPING: frozenset({WorkerState.STOPPED}),
    WorkerState.EXITED: frozenset({WorkerState.STARTING}),
    WorkerState.FATAL: frozenset({WorkerState.STARTING}),
}

ALIVE = frozenset({WorkerState.STARTING, WorkerState.RUNNING, WorkerState.STOPPING})
"""States with a live process."""


class TransitionError(RuntimeError):
    """A transition the state machine does not allow (a supervisor bug, never user input)."""


def check_transition(old: WorkerState, new: WorkerState) -> None:
    if new not in TRANSITIONS[old]:
        raise TransitionError(f"worker state {old} -> {new} is not allowed")
