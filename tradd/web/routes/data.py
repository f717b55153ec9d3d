"""What the optimizer page needs besides the specification's endpoints: the symbols with
data (so a ticker without any is flagged before submit), the strategy catalog (for the
selector), and the daily equity curve of a scan row (for the chart).

Both lists are per-process memos kept on the app (`app.state`), not module globals:
the catalog is built once (importing every strategy module is the slow part), a data
file's span is read again only when the file changes (size or mtime).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam

from tradd.errors import TraddError
from tradd.marketdata.store import DataStore
from tradd.web.auth.deps import Context, Viewer
from tradd.web.data_records import (
    DataSymbols,
    EquitySeries,
    StrategyCatalog,
    StrategyInfo,
    SymbolData,
)
from tradd.web.jobs import service
from tradd.web.records import SYMBOL_PATTERN, JobKind, JobStatusName

router = APIRouter(tags=["data"])

Span = tuple[date, date, int]


@dataclass
class Memo:
    """The app's memos (one per console process)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    catalog: StrategyCatalog | None = None
    spans: dict[Path, tuple[tuple[int, int], Span]] = field(default_factory=dict)


def memo(request: Request) -> Memo:
    """The app's memo, made on first use (two first requests at once may each make one:
    the loser's work is only done again, never wrong)."""
    state = request.app.state
    found: Memo | None = getattr(state, "data_memo", None)
    if found is None:
        found = Memo()
        state.data_memo = found
    return found


@router.get("/api/v1/data/symbols")
def symbols(user: Viewer, ctx: Context, request: Request) -> DataSymbols:
    """The symbols with `[data] default_bar` data, with their first and last day."""
    bar = ctx.settings.data.default_bar
    store = DataStore(ctx.settings.data.dir)
    found, unreadable = [], {}
    memos = memo(request)
    for symbol, _ in store.symbols(bar) if store.directory.is_dir() else []:
        try:
            first, last, count = _span(memos, store, symbol, bar)
        except TraddError as exc:
            unreadable[symbol] = str(exc)
            continue
        found.append(SymbolData(symbol=symbol, first=first, last=last, bars=count))
    return DataSymbols(bar=bar, symbols=found, unreadable=unreadable)


def _span(memos: Memo, store: DataStore, symbol: str, bar: str) -> Span:
    path = store.path_for(symbol, bar)
    stat = path.stat()
    version = (stat.st_size, stat.st_mtime_ns)
    with memos.lock:
        known = memos.spans.get(path)
    if known is not None and known[0] == version:
        return known[1]
    bars = store.load(symbol, bar)
    span = (bars.first.date(), bars.last.date(), len(bars))
    with memos.lock:
        memos.spans[path] = (version, span)
    return span


@router.get("/api/v1/strategies")
def strategies(user: Viewer, request: Request) -> StrategyCatalog:
    """The shipped strategies (what `--strategies all` runs): dotted path, class name,
    the docstring's first paragraph and the default parameters."""
    memos = memo(request)
    with memos.lock:
        if memos.catalog is None:
            memos.catalog = _catalog()
        return memos.catalog


def _catalog() -> StrategyCatalog:
    from tradd.research.scan.discover import resolve_strategies
    from tradd.strategy_loader import param_defaults

    try:
        resolved = resolve_strategies(("all",))
    except TraddError as exc:
        return StrategyCatalog(strategies=[], error=str(exc))
    items = []
    for path, cls in resolved:
        items.append(StrategyInfo(path=path, name=cls.__name__, summary=_summary(cls.__doc__),
                                  params=_plain(param_defaults(cls))))  # fmt: skip
    return StrategyCatalog(strategies=items)


def _summary(doc: str | None) -> str:
    """The docstring's first paragraph on one line (its first sentence often wraps)."""
    paragraph = (doc or "").strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON can carry them (anything else as its text)."""
    return {k: v if isinstance(v, (int, float, str, bool, type(None))) else str(v)
            for k, v in params.items()}  # fmt: skip


@router.get("/api/v1/optimizer/equity/{job_id}/{symbol}", responses={404: {}, 409: {}})
def equity(
    job_id: str,
    symbol: Annotated[str, PathParam(pattern=SYMBOL_PATTERN)],
    user: Viewer,
    ctx: Context,
    strategy: Annotated[str | None, Query(max_length=200)] = None,
) -> EquitySeries:
    """The daily equity curve of one scan row: the symbol's best strategy, or `strategy`."""
    found = service.find(ctx, user, job_id)
    state = service.status_of(ctx, found)
    if state.kind is not JobKind.SCAN or state.status is not JobStatusName.COMPLETED:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"{job_id} is not a completed analysis: no equity curves")  # fmt: skip
    run = found.run
    document = _scan_document(Path(run.output)) if run is not None and run.output else {}
    symbol = symbol.upper()
    best = (document.get("best") or {}).get(symbol)
    chosen = strategy or best
    rows = [r for r in document.get("rows") or [] if r.get("symbol") == symbol]
    row = next((r for r in rows if r.get("strategy") == chosen), None)
    curve = (row or {}).get("equity")
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"symbol {symbol!r} is not in {job_id}")
    if row is None or not isinstance(curve, dict):
        what = f"strategy {chosen!r}" if chosen else "a best strategy"
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no equity curve for {what} on {symbol} in {job_id}")  # fmt: skip
    broker = document.get("settings") or {}
    return EquitySeries(
        job_id=found.id, symbol=symbol, strategy=str(chosen), best=chosen == best,
        dates=curve.get("dates") or [], values=curve.get("values") or [],
        initial_capital=_number(broker.get("cash")),
        max_position_pct=_number(broker.get("position_pct")),
    )  # fmt: skip


def _scan_document(output: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((output / "scan.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
