"""`--run-id`, the hidden option of every research command the web console starts.

The console's job id is the run id (tradd/web/jobs/command.py passes it), so the run a
command records is the job the console shows. One definition for `scan`, `optimize` and
`walkforward`, checked the same way before any work is done.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tradd.errors import UsageError

RunIdOption = Annotated[str | None, typer.Option(
    "--run-id", hidden=True, help="Record the run under this id (the web console's job id).",
)]  # fmt: skip


def checked_run_id(kind: str, run_id: str | None) -> str | None:
    """`--run-id`, if given, checked before any work: one `new_run_id(kind)` could make."""
    from tradd.research.runs.store import check_run_id

    try:
        return None if run_id is None else check_run_id(kind, run_id)
    except ValueError as exc:
        raise UsageError(f"--run-id: {exc}") from None
