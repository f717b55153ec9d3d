"""Research runs: every scan, optimization and walk-forward as a persisted job.

`RunStore` is the table (`research_runs`, in the daemon's database); `tracked_run` wraps a
command so that it is one run with a status, throttled progress and a summary.
"""

from tradd.research.runs.store import RUN_KINDS, RunRecord, RunStore
from tradd.research.runs.tracked import RunHandle, tracked_run

__all__ = ["RUN_KINDS", "RunHandle", "RunRecord", "RunStore", "tracked_run"]
