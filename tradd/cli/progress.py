"""What the long research commands share: the progress bar, and how a run records itself.

Imported only inside the commands (rich is loaded lazily, like the research stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from tradd.research.runs.tracked import RunHandle
    from tradd.research.setup import ResearchInputs


def progress_bar(console: Console) -> Progress:
    """Description, bar, done/total and elapsed time, kept on screen when finished."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


class TrialCount:
    """Counts finished trials into the persisted run (which throttles its writes)."""

    def __init__(self, run: RunHandle) -> None:
        self._run, self.done, self.total = run, 0, 0

    def start(self, total: int) -> None:
        self.total = total
        self._run.progress(0, total)

    def advance(self) -> None:
        self.done += 1
        self._run.progress(self.done, self.total)


def inputs_request(inputs: ResearchInputs, request: Any) -> dict[str, Any]:
    """The part of a persisted run's request every research command has: what ran on what,
    and the search space as given (never a storage URL: it may hold a password)."""
    return {
        "strategy": inputs.strategy_path,
        "symbols": list(inputs.symbols),
        "start": str(inputs.start) if inputs.start else None,
        "end": str(inputs.end) if inputs.end else None,
        "bar": inputs.bar,
        "method": request.method,
        "objective": request.objective,
        "seed": request.seed,
        "params": list(request.param_args),
        "params_file": str(request.params_file) if request.params_file else None,
    }
