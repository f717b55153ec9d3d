"""The `tradd` command a job runs: the same command line a trader would type.

A job is the CLI in a process of its own (`python -m tradd scan ...`), so the console and
the command line share one code path, one research pool, one run record.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradd.web.records import JobKind


def job_argv(
    kind: JobKind,
    job_id: str,
    request: Mapping[str, Any],
    output: Path,
    config: Path | None,
    workers: int | None,
) -> list[str]:
    """The argv of the job's process. `request` is the validated API body as JSON."""
    argv = [sys.executable, "-m", "tradd", kind.value, "--run-id", job_id, "--output", str(output)]
    if kind is JobKind.SCAN:
        argv += _scan_options(request)
    else:
        raise ValueError(f"no command for {kind.value} jobs yet")
    if workers is not None:
        argv += ["--workers", str(workers)]
    if config is not None:
        argv += ["--config", str(config)]
    return argv


def _scan_options(request: Mapping[str, Any]) -> list[str]:
    options = ["--symbols", ",".join(request["symbols"])]
    if request.get("strategies"):
        options += ["--strategies", ",".join(request["strategies"])]
    if request.get("start_date"):
        options += ["--start", str(request["start_date"])]
    if request.get("end_date"):
        options += ["--end", str(request["end_date"])]
    options += ["--cash", repr(float(request["initial_capital"]))]
    options += ["--max-position-pct", repr(float(request["max_position_pct"]))]
    return options
