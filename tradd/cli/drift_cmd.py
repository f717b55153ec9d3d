"""`tradd drift STRATEGY`: the live strategy against its replay over the same bars."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tradd.cli.common import date_checked, settings_for
from tradd.cli.config_cmd import ConfigOption
from tradd.cli.run_id import RunIdOption, checked_run_id
from tradd.errors import UsageError

if TYPE_CHECKING:
    from tradd.research.runs.tracked import RunHandle


def register(app: typer.Typer) -> None:
    """Add the command to the tree."""
    app.command("drift")(drift)


def drift(
    strategy: Annotated[str, typer.Argument(help="A live strategy's name.")],
    start: Annotated[
        str | None,
        typer.Option(
            "--from", help="First day, YYYY-MM-DD (default: --to).", callback=date_checked("--from")
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Last day, YYYY-MM-DD (default: the newest recorded bar's).",
            callback=date_checked("--to"),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Directory for drift.json and drift.html."),
    ] = None,
    config: ConfigOption = None,
    run_id: RunIdOption = None,
) -> None:
    """Replay a live strategy over the bars it received; explain live vs replay (docs/drift.md)."""
    from tradd.persistence.db import open_database
    from tradd.research.drift.run import DriftRequest, run_drift, strategy_of
    from tradd.research.runs.tracked import tracked_run

    chosen_id = checked_run_id("drift", run_id)
    first, last = _day("--from", start), _day("--to", end)
    settings = settings_for(config)
    strategy_of(settings, strategy)  # an unknown name: 78 before anything else
    folder = output or Path("results") / f"drift-{strategy}"
    request = {"strategy": strategy, "from": start, "to": end, "output": str(folder)}
    engine, sessions = open_database(settings.database_url(), echo=settings.database.echo)
    try:
        with tracked_run(
            settings, "drift", request, folder, required=False, run_id=chosen_id
        ) as run:
            ask = DriftRequest(strategy, first, last, folder, lambda: _recorded_id(run))
            outcome = run_drift(settings, sessions, ask, lambda: datetime.now(UTC))
            doc = outcome.document
            run.complete({
                "strategy": strategy, "period": f"{doc['period']['from']}..{doc['period']['to']}",
                "drift_pnl": doc["drift_pnl"], "components": doc["components"],
                "result": str(outcome.json), "html": str(outcome.html),
            })  # fmt: skip
            _print(doc, outcome.html, outcome.json)
            typer.echo(run.describe())
    finally:
        engine.dispose()


def _recorded_id(run: RunHandle) -> str | None:
    """The run's id, starting the run (lazy until then); None if it could not be recorded."""
    run_id = run.id
    return run_id if run.recorded else None


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def _print(doc: dict[str, object], html: Path, json_path: Path) -> None:
    components = doc["components"]
    assert isinstance(components, dict)
    parts = ", ".join(f"{k} {v:+.2f}" for k, v in components.items() if v)
    typer.echo(
        f"{doc['strategy']}: live {doc['live_pnl']:+.2f}, replay {doc['replay_pnl']:+.2f}, "
        f"drift {doc['drift_pnl']:+.2f}" + (f" ({parts})" if parts else "")
    )
    typer.echo(f"wrote {html}, {json_path}")
