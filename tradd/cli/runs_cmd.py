"""`tradd runs list|show|delete`: the history of research runs (scans, optimizations,
walk-forwards), from the configuration's database. Registered by `tradd.cli.scan_cmd`.

Listing, showing and deleting first mark failed the runs whose process died (a killed command
leaves no other trace): `tradd.research.runs.lease.reap_dead_runs`.

Exit codes: 0 done; 1 no such run, or a running run not deleted without --force; 2 usage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from tradd.cli.common import settings_for
from tradd.cli.config_cmd import ConfigOption
from tradd.errors import EXIT_FAILURE, UsageError

if TYPE_CHECKING:
    from tradd.research.runs.store import RunRecord, RunStore

runs_app = typer.Typer(help="Research runs: scans, optimizations, walk-forwards.",
                       no_args_is_help=True)  # fmt: skip

KindOption = Annotated[
    str | None, typer.Option("--kind", help="Only this kind: scan, optimize, walkforward.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
RunIdArgument = Annotated[str, typer.Argument(metavar="ID", help="A run id (tradd runs list).")]


@runs_app.command("list")
def runs_list(
    kind: KindOption = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (newest first).")] = 50,
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """The research runs, newest first: id, kind, status, progress, output."""
    from tradd.cli.common import report_console
    from tradd.research.runs.lease import reap_dead_runs
    from tradd.research.runs.open import open_run_store
    from tradd.research.runs.render import print_list
    from tradd.research.runs.store import RUN_KINDS

    if kind is not None and kind not in RUN_KINDS:
        raise UsageError(f"--kind {kind!r}: use one of {', '.join(RUN_KINDS)}")
    if limit < 1:
        raise UsageError(f"--limit {limit}: must be at least 1")
    with open_run_store(settings_for(config)) as store:
        reap_dead_runs(store)
        runs = store.list(kind, limit)
    if json_output:
        _print_json([r.as_dict() for r in runs])
    else:
        print_list(report_console(), runs)


@runs_app.command("show")
def runs_show(
    run_id: RunIdArgument,
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """One run: its request, progress, summary, output directory and error."""
    from tradd.cli.common import report_console
    from tradd.research.runs.lease import reap_dead_runs
    from tradd.research.runs.open import open_run_store
    from tradd.research.runs.render import print_run

    with open_run_store(settings_for(config)) as store:
        reap_dead_runs(store)
        run = _existing(store, run_id)
    if json_output:
        _print_json(run.as_dict())
    else:
        print_run(report_console(), run)


@runs_app.command("delete")
def runs_delete(
    run_id: RunIdArgument,
    force: Annotated[bool, typer.Option("--force", help="Delete even a running run.")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete a run's record. Its output files stay where they are."""
    from tradd.research.runs.lease import reap_dead_runs
    from tradd.research.runs.open import open_run_store

    with open_run_store(settings_for(config)) as store:
        reap_dead_runs(store)  # a run whose process died is no longer running
        run = _existing(store, run_id)
        if run.status == "running" and not force:
            typer.echo(f"tradd: run {run_id} is running: not deleted (--force deletes it anyway; "
                       "the process running it carries on)", err=True)  # fmt: skip
            raise typer.Exit(EXIT_FAILURE)
        store.delete(run_id)
    kept = f"; its output files in {run.output} are kept" if run.output else ""
    typer.echo(f"deleted the record of run {run_id}{kept}")


def _existing(store: RunStore, run_id: str) -> RunRecord:
    """The run; exit 1 naming the id when there is none."""
    run = store.get(run_id)
    if run is None:
        typer.echo(f"tradd: no run {run_id!r} (see tradd runs list)", err=True)
        raise typer.Exit(EXIT_FAILURE)
    return run


def _print_json(value: Any) -> None:
    import json

    typer.echo(json.dumps(value, indent=2))
