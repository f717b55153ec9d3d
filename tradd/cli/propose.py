"""`--propose-for STRATEGY` of `tradd optimize` and `tradd walkforward`: the run's best
parameters become a proposal for that live strategy (tradd.research.promotion).

The target is checked before the run starts (exit 78 naming the key), so a long run is
never spent on a proposal that could not be stored; the proposal is stored after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tradd.config.settings import Settings

if TYPE_CHECKING:
    from tradd.config.live import StrategySettings
    from tradd.research.runs.tracked import RunHandle

ProposeForOption = Annotated[str | None, typer.Option(
    "--propose-for", metavar="STRATEGY",
    help="Store the best parameters as a proposal for this [[strategies]] entry "
         "(tradctl proposals; docs/promotion.md).",
)]  # fmt: skip


def propose_target(
    settings: Settings, name: str | None, strategy_path: str
) -> StrategySettings | None:
    from tradd.research.promotion import check_target

    return check_target(settings, name, strategy_path) if name else None


def propose(
    settings: Settings,
    target: StrategySettings | None,
    kind: str,
    found: tuple[dict[str, Any], Any] | None,
    run: RunHandle,
) -> None:
    """Store and print the proposal (`found`: the parameters and their evidence)."""
    if target is None or found is None:
        return
    from tradd.research.promotion import proposal_line, store_proposal

    params, evidence = found
    run_id = run.id if run.recorded else None
    proposal = store_proposal(settings, target, kind, params, evidence, run_id)
    typer.echo(proposal_line(proposal))


def optimize_found(summary: Any, output: Path) -> tuple[dict[str, Any], Any] | None:
    from tradd.research.promotion import optimize_evidence

    if summary.interrupted or not summary.ranked:
        typer.echo("no proposal: the optimization was interrupted or no trial completed")
        return None
    return optimize_evidence(summary, output)


def walkforward_found(result: Any, symbols: Any, output: Path) -> tuple[Any, Any] | None:
    from tradd.research.promotion import walkforward_evidence

    if result.interrupted or result.summary is None:
        typer.echo("no proposal: the walk-forward was interrupted before it finished")
        return None
    return walkforward_evidence(result, symbols, output)
