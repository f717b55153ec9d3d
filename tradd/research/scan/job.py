"""The parts of `tradd scan` between the CLI and the research code: the run's request, the
daemon link, the stored scan behind `--from-run`, and recording what `--execute` did.

Execution results go to DIR/execution.json and into the scan run's summary
(`summary["execution"]`, the latest), so `tradd runs show` tells what a scan led to.
`summary["entries"]` keeps, per symbol over every execution of the run, what was sent
(position_pct, value, attempt: the client_ref's) and its outcome: written before the send
(status `sending`) and after it, it is what makes `--execute --from-run` repeat a request
whose outcome is unknown rather than resize it (see `tradd.research.scan.execute`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from tradd.config.settings import Settings
from tradd.errors import TraddError, UsageError
from tradd.research.runs.open import open_run_store
from tradd.research.runs.store import RunRecord, RunStore
from tradd.research.scan.candidates import Candidate, candidates_from_summary
from tradd.research.scan.execute import (
    DaemonCall,
    ExecutionRow,
    Policy,
    Previous,
    document,
    execute,
    recorded,
)
from tradd.research.scan.plan import ScanPlan, ScanRequest

log = structlog.get_logger("tradd.research.scan")


def request_document(
    request: ScanRequest,
    plan: ScanPlan,
    data_dir: Path | None,
    execute: bool,
    entry_pct: float | None,
) -> dict[str, Any]:
    """The scan's arguments as the run records them (strategies resolved, `all` expanded)."""
    return {
        "symbols": list(plan.symbols),
        "strategies": [path for path, _ in plan.strategies],
        "start": str(request.start) if request.start else None,
        "end": str(request.end) if request.end else None,
        "bar": request.bar,
        "cash": request.broker.cash,
        "max_position_pct": request.broker.position_pct,
        "workers": request.workers,
        "kernel": request.confirm is not None,
        "confirm": request.confirm,
        "data_dir": str(data_dir) if data_dir else None,
        "output": str(request.output),
        "execute": execute,
        "position_pct": entry_pct,
    }


@dataclass(frozen=True)
class StoredScan:
    run: RunRecord
    candidates: list[Candidate]


def stored_scan(settings: Settings, run_id: str, symbols: Sequence[str] | None) -> StoredScan:
    """A complete scan run and its best strategies (all symbols, or those asked for)."""
    with open_run_store(settings) as store:
        run = store.get(run_id)
    if run is None:
        raise UsageError(f"--from-run {run_id}: no such run (see `tradd runs list --kind scan`)")
    if run.kind != "scan":
        raise UsageError(f"--from-run {run_id}: a {run.kind} run, not a scan")
    if run.status != "complete" or run.summary is None:
        raise UsageError(f"--from-run {run_id}: the scan is {run.status}, not complete")
    bar = run.request.get("bar")  # older summaries lack it; the request always had it
    candidates = candidates_from_summary(
        run.summary, symbols, bar if isinstance(bar, str) else None
    )
    return StoredScan(run, candidates)


def execute_and_record(
    settings: Settings,
    candidates: Sequence[Candidate],
    link: DaemonCall,
    run_id: str,
    policy: Policy,
    output: Path,
) -> tuple[list[ExecutionRow], Path]:
    """Send the entries, write DIR/execution.json, add the result to the run's summary."""
    with open_run_store(settings) as store:
        run = store.get(run_id)
        previous = previous_entries(run.summary if run else None)

        def planned(sending: Mapping[str, Previous]) -> None:
            _add_to_summary(store, run_id, {}, {s: asdict(p) for s, p in sending.items()})

        rows = execute(candidates, link, run_id, policy, previous, planned)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        record = document(rows, run_id, policy, at)
        output.mkdir(parents=True, exist_ok=True)
        path = output / "execution.json"
        path.write_text(json.dumps(record, indent=2) + "\n")
        sent = {s: asdict(p) for s, p in recorded(rows, policy.position_pct).items()}
        try:  # the orders are out: what they did must still be printed, whatever this does
            _add_to_summary(store, run_id, {"execution": record}, sent)
        except (TraddError, SQLAlchemyError) as exc:
            log.warning("could not record the execution in the run", run_id=run_id,
                        error=str(exc), written=str(path))  # fmt: skip
    return rows, path


def previous_entries(summary: Mapping[str, Any] | None) -> dict[str, Previous]:
    """`summary["entries"]` as `Previous` per symbol (malformed entries are ignored)."""
    found: dict[str, Previous] = {}
    for symbol, entry in ((summary or {}).get("entries") or {}).items():
        try:
            found[symbol] = Previous(
                float(entry["position_pct"]), float(entry["value"]), str(entry["status"]),
                entry.get("order_ref"), int(entry.get("attempt") or 1),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _add_to_summary(
    store: RunStore, run_id: str, changes: Mapping[str, Any], entries: Mapping[str, Any]
) -> None:
    """Merge into the run's summary (read again: another execution may have added to it)."""
    run = store.get(run_id)
    if run is None:  # deleted meanwhile (`tradd runs delete --force`): nothing to add to
        return
    summary = dict(run.summary or {})
    summary["entries"] = {**(summary.get("entries") or {}), **entries}
    store.set_summary(run_id, {**summary, **changes})
