"""`leaderboard.json`: the best so far of a running optimization, walk-forward or comparison.

Whoever watches a long search (the web console's live leaderboard, a curious `cat`) wants
the best parameter sets found so far, not only a percentage. The command that runs the
search keeps them here and rewrites the file beside its report at most once per
`interval` seconds (and once more at the end), atomically (a temporary file renamed over
the old one), so a reader never sees half a file. A file, rather than the run's row in
the database: it costs the database nothing however many trials finish a second, and the
reader needs only the job's output directory, which it knows anyway.

Writing it never breaks the research: a write that fails is logged and the search goes on.

Shape: `{"kind", "objective", "updated_at", "counts" (trials complete,
skipped, failed; windows finished), "top": [{"rank",
"trial", "params", "objective"}], "windows": [...]}`; `top` holds the best `TOP_N`
distinct parameter sets (a Bayesian repeat of a set counts once), `windows` the finished
walk-forward windows (empty for an optimization). A comparison's is `<report>.leaderboard.json`
beside its report (`comparison.leaderboard.json`: a results directory may hold an
optimization's too), one "trial" per strategy whose backtest ended, its `params`
`{"strategy": label}`, ranked by Sharpe.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from tradd.jsonsafe import finite

LEADERBOARD_FILE = "leaderboard.json"
TOP_N = 10
WRITE_INTERVAL_S = 1.0

log = structlog.get_logger("tradd.research")


class LiveLeaderboard:
    """Collects finished trials (or windows) and keeps `leaderboard.json` up to date."""

    def __init__(
        self,
        output: Path,
        kind: str,
        objective: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        interval: float = WRITE_INTERVAL_S,
        name: str = LEADERBOARD_FILE,
    ) -> None:
        """`name`: the file in `output` (a comparison's is named after its report)."""
        self.path = output / name
        self._kind, self._objective = kind, objective
        self._monotonic, self._clock, self._interval = monotonic, clock, interval
        self._best: dict[str, dict[str, Any]] = {}
        self._windows: list[dict[str, Any]] = []
        self._counts: dict[str, int] = {}
        self._last_write: float | None = None
        self._dirty = False

    def trial(
        self, number: int, state: str, params: Mapping[str, Any], value: float | None
    ) -> None:
        """A finished trial: `state` complete, skipped or failed."""
        self._counts[state] = self._counts.get(state, 0) + 1
        if (
            state == "complete" and value is not None and math.isfinite(value)
        ):  # NaN (no trades): never ranked
            key = json.dumps(dict(params), sort_keys=True, default=str)
            known = self._best.get(key)
            if known is None or value > known["objective"]:
                self._best[key] = {"trial": number, "params": dict(params), "objective": value}
        self._changed()

    def window(self, entry: Mapping[str, Any]) -> None:
        """A finished walk-forward window (its dates, best parameters, IS and OOS figures)."""
        self._windows.append(dict(entry))
        self._windows.sort(key=lambda w: int(w.get("index", 0)))
        self._counts["window"] = self._counts.get("window", 0) + 1
        self._changed()

    def flush(self) -> None:
        """Write now if anything changed since the last write (the end of the run)."""
        if self._dirty:
            self._write()

    def document(self) -> dict[str, Any]:
        ranked = sorted(self._best.values(), key=lambda r: (-r["objective"], r["trial"]))
        return {
            "kind": self._kind,
            "objective": self._objective,
            "updated_at": self._clock().isoformat(),
            "counts": dict(self._counts),
            "top": [{"rank": i, **row} for i, row in enumerate(ranked[:TOP_N], start=1)],
            "windows": self._windows,
        }

    def _changed(self) -> None:
        self._dirty = True
        now = self._monotonic()
        if self._last_write is None or now - self._last_write >= self._interval:
            self._write()

    def _write(self) -> None:
        self._last_write, self._dirty = self._monotonic(), False
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(finite(self.document()), default=str))
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("could not write the live leaderboard", path=str(self.path),
                        error=str(exc))  # fmt: skip


def read_leaderboard(output: Path, name: str = LEADERBOARD_FILE) -> dict[str, Any] | None:
    """The last `leaderboard.json` (or `name`) written in `output`; None if there is none
    (yet)."""
    try:
        loaded = json.loads((output / name).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
