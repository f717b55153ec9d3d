"""Research runs: every scan, optimization, walk-forward and comparison as a persisted job.

`RunStore` is the table (`research_runs`, in the daemon's database); `tracked_run` wraps a
command so that it is one run with a status, throttled progress, a summary and a lease;
`reap_dead_runs` marks failed the runs whose process died (call it before reading runs).
"""

from tradd.research.runs.lease import reap_dead_runs
from tradd.research.runs.store import RUN_KINDS, RunRecord, RunStore
from tradd.research.runs.tracked import RunHandle, tracked_run

__all__ = ["RUN_KINDS", "RunHandle", "RunRecord", "RunStore", "reap_dead_runs", "tracked_run"]
