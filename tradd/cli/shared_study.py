"""`--storage/--study` of `tradd walkforward` and `tradd scan`: share one run's units
(windows, rows) with other processes, on this machine or others, through a study storage
(tradd.research.shared). `tradd optimize` has its own (its storage is always on)."""

from __future__ import annotations

from typing import Annotated

import typer

from tradd.config.settings import Settings
from tradd.errors import UsageError

SharedStorageOption = Annotated[str | None, typer.Option(
    "--storage", help="Share the work with other processes through this study storage: "
    "postgresql://..., sqlite:///PATH.db or PATH.journal (default: none, all work here).",
)]  # fmt: skip
SharedStudyOption = Annotated[str | None, typer.Option(
    "--study", help="Study name to create or join (default: derived from the arguments); "
    "without --storage, [optimize] storage is used.",
)]  # fmt: skip


def shared_storage(settings: Settings, storage: str | None, study: str | None) -> str | None:
    """The storage URL to share through, or None (the run is not shared). `--study` alone
    uses the configured `[optimize] storage`; there must be one."""
    if storage is not None:
        if not storage.strip():
            raise UsageError("--storage '': give a storage URL or leave the option out")
        return storage
    if study is None:
        return None
    configured = settings.optimize.storage
    if configured is None:
        raise UsageError(
            f"--study {study!r} needs a storage to share it through: give --storage, "
            f"or set [optimize] storage in the configuration"
        )
    return configured.get_secret_value()
