"""What `tradd scan --execute` may act on: a symbol's best strategy from a scan, whether its
backtest is evidence worth money, and whether the scan is recent enough to trade on.

The composite score alone is no such evidence: a strategy that never trades scores 20
(its drawdown and win-rate terms cannot go negative) and one that lost 20% with a Sharpe
of -0.8 still scores about 3. So an entry also needs a positive total return and Sharpe,
at least one trade, and a score of at least `--min-score`. A stored scan made before
these metrics were recorded has none of them: its picks are not eligible (re-run it).

A scan of data that ended long ago says little about today's market, so `--execute`
refuses one whose period ended more than `--max-age-days` before today, unless
`--allow-stale` (a rehearsal on the simulator with the old sample data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from tradd.errors import UsageError

REQUIRED = ("total_return", "sharpe", "total_trades", "composite_score")
"""The metrics of the best row an entry is judged on (a stored summary's `best` keys)."""


@dataclass(frozen=True)
class Candidate:
    """A symbol's best strategy from a scan (strategy None: every strategy failed), with
    the backtest's metrics (None: not recorded) and the setup it was tested with."""

    symbol: str
    strategy: str | None
    score: float | None
    total_return: float | None = None
    """Percent."""
    sharpe: float | None = None
    total_trades: int | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The parameters the scan set ({}: the strategy's defaults)."""
    bar: str | None = None
    """The scan's bar size (None: not recorded)."""
    engine: str = "backtrader"
    """Whose figures (`ScanRow.engine`; older summaries lack it: Backtrader's)."""


def _number(entry: Mapping[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def candidates_from_summary(
    summary: Mapping[str, Any], symbols: Sequence[str] | None, bar: str | None = None
) -> list[Candidate]:
    """A scan's best strategies (`ScanResult.summary()`, or a stored `RunRecord.summary`),
    all symbols or those asked for. `bar`: the scan's bar when the summary lacks it."""
    best: Mapping[str, Any] = summary.get("best") or {}
    wanted = list(symbols) if symbols else list(best)
    missing = [s for s in wanted if s not in best]
    if missing:
        raise UsageError(
            f"--symbols {','.join(missing)}: not in that scan (its symbols: {', '.join(best)})"
        )
    scanned_bar = summary.get("bar") or bar
    out = []
    for symbol in wanted:
        entry = best[symbol]
        if entry is None:
            out.append(Candidate(symbol, None, None))
            continue
        trades = _number(entry, "total_trades")
        out.append(Candidate(
            symbol, entry["strategy"], _number(entry, "composite_score"),
            total_return=_number(entry, "total_return"), sharpe=_number(entry, "sharpe"),
            total_trades=None if trades is None else int(trades),
            params=MappingProxyType(dict(entry.get("params") or {})), bar=scanned_bar,
            engine=str(entry.get("engine") or "backtrader"),
        ))  # fmt: skip
    return out


def ineligible(candidate: Candidate, min_score: float) -> str | None:
    """Why the candidate's backtest does not justify an entry (None: it does)."""
    if candidate.engine != "backtrader":  # a two-stage scan never makes one the best
        return "not eligible: its figures are a kernel's screen, not confirmed in Backtrader"
    values = {
        "total_return": candidate.total_return, "sharpe": candidate.sharpe,
        "total_trades": candidate.total_trades, "composite_score": candidate.score,
    }  # fmt: skip
    unknown = [k for k in REQUIRED if values[k] is None]
    if unknown:
        return (
            f"the scan recorded no {', '.join(unknown)} for its best strategy (a scan by an "
            "older tradd?): not eligible; run the scan again"
        )
    ret, sharpe, trades, score = (float(values[k] or 0) for k in REQUIRED)
    failed = []
    if ret <= 0:
        failed.append(f"total return {ret:.2f}% is not positive")
    if sharpe <= 0:
        failed.append(f"Sharpe {sharpe:.3f} is not positive")
    if trades < 1:
        failed.append(f"{trades:g} trades in the backtest (at least 1 needed)")
    if score < min_score:
        failed.append(f"composite score {score:.1f} is below --min-score {min_score:g}")
    return "not eligible: " + "; ".join(failed) if failed else None


def period_end(summary: Mapping[str, Any]) -> date | None:
    """The last day a stored scan covered (None: not recorded or not a date)."""
    text = (summary.get("period") or {}).get("end")
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def check_fresh(end: date | None, today: date, max_age_days: int, allow_stale: bool) -> None:
    """UsageError when the scan is too old to trade on (see the module doc)."""
    if allow_stale:
        return
    if end is None:
        raise UsageError(
            "--execute: the scan has no recorded period end, so its age is unknown: nothing "
            "sent (--allow-stale to execute it anyway, e.g. a rehearsal on the simulator)"
        )
    age = (today - end).days
    if age > max_age_days:
        raise UsageError(
            f"--execute: the scan's period ended {end}, {age} days before today ({today}), "
            f"more than --max-age-days {max_age_days}: its results are too old to trade on; "
            "nothing sent. Scan a recent period, or add --allow-stale for a rehearsal on the "
            "simulator with old sample data"
        )
