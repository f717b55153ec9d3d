"""What the long research commands share: how a run records its request.

Imported only inside the commands (the research stack is loaded lazily). The progress bar
they share is `tradd.research.progress.ProgressBar`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradd.research.setup import ResearchInputs


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
