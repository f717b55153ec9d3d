"""Progress of a long research run: one shape for every command, done/total and an ETA.

The research pool reports its units this way, and the commands whose steps are finer than
a unit (a walk-forward's IS trials, a scan's backtests) count their steps with the same
counter, so the terminal bar and the persisted run (`ProgressBar`) read one record
whatever the command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradd.research.runs.tracked import RunHandle


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    """None while it is not known (nothing counted yet, or an open-ended run)."""
    eta_s: float | None = None
    """Seconds left at the rate so far: None without a total or before the first step."""


class ProgressCounter:
    """Counts steps and reports a `Progress` after each; the clock is injected (tests)."""

    def __init__(
        self,
        report: Callable[[Progress], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report, self._clock = report, clock
        self._started = clock()
        self.done = 0
        self.total: int | None = None

    def start(self, total: int | None) -> None:
        """Announce the total; the clock starts now unless steps were counted already
        (a total announced again restarts neither the count nor the clock)."""
        if self.done == 0:
            self._started = self._clock()
        self.total = total
        self._report(Progress(self.done, total, self._eta()))

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self._report(Progress(self.done, self.total, self._eta()))

    def _eta(self) -> float | None:
        if self.total is None or self.done <= 0:
            return None
        elapsed = self._clock() - self._started
        return max(0.0, elapsed / self.done * (self.total - self.done))


class ProgressBar:
    """A long research command's bar on stderr, and its persisted run's progress, both
    fed by `Progress` reports: description, bar, done/total, elapsed and time left.

    The bar appears at the first report, so errors found before the work starts (bad
    arguments, missing data) print without an empty bar above them. Rich is imported here,
    not at the module's top: the research stack loads it lazily."""

    def __init__(self, description: str, run: RunHandle | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.console = Console(stderr=True)
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=self.console,
            transient=False,
        )
        self._task = self._bar.add_task(description, total=None, eta="")
        self._run, self._shown = run, False

    def update(self, progress: Progress) -> None:
        if not self._shown:
            self._bar.start()
            self._shown = True
        eta = "" if progress.eta_s is None else f"eta {timedelta(seconds=round(progress.eta_s))}"
        self._bar.update(self._task, completed=progress.done, total=progress.total, eta=eta)
        if self._run is not None:
            self._run.progress(progress.done, progress.total)

    def describe(self, text: str) -> None:
        self._bar.update(self._task, description=text)

    def notice(self, text: str) -> None:
        self.console.print(text, style="yellow", markup=False, soft_wrap=True)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_: object) -> None:
        if self._shown:
            self._bar.stop()
