"""Per-strategy attribution on one account: who made what over a period, and what no
strategy explains.

Several strategies share one IB account; each books only its own fills. For a period
[start, end) this module gives, per strategy, from its ledger:

- `realized_pnl`: gross P&L realized by its fills in the period, against the strategy's
  OWN average cost (its fills replayed from the first, as `Book` and Backtrader count
  them). IB's realized P&L on a fill is the account's (two strategies in one symbol
  share IB's average cost) and net of commissions, so it cannot be split per strategy.
- `commission`: the commissions of its fills in the period (IB's commission reports).
- `unrealized_change`: its unrealized P&L at the end minus at the start. Each is 0 when
  the strategy's fills leave it flat at that moment; else the last equity snapshot the
  worker recorded at or before it (taken after the strategy's last fill before it); for
  the start, when there is none (the worker started later), the first snapshot in the
  period taken before any fill of the period. Unknown (None) otherwise.
- `net_pnl` = realized + unrealized change - commission: what the strategy added to the
  account's value.

For the account: `pnl` = the recorded net liquidation at the end minus at the start (the
last snapshot of any worker at or before each bound; for the start, failing that, the
first in the period), and `unexplained` = `pnl` minus the strategies' total net P&L:
manual trades, positions no strategy owns, fees, interest, dividends, deposits and
withdrawals, and the small difference between the moments the snapshots were taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.book import Book
from tradd.persistence.ledger import Ledger
from tradd.persistence.models import EquitySnapshot
from tradd.persistence.records import FillRecord
from tradd.persistence.transactions import read_transaction


@dataclass(frozen=True)
class StrategyPnl:
    """One strategy's share of the account's P&L over the period (account currency)."""

    strategy: str
    trades: int
    """Its fills in the period."""
    realized_pnl: float
    commission: float
    unrealized_start: float | None
    unrealized_end: float | None

    @property
    def unrealized_change(self) -> float | None:
        if self.unrealized_start is None or self.unrealized_end is None:
            return None
        return self.unrealized_end - self.unrealized_start

    @property
    def net_pnl(self) -> float | None:
        change = self.unrealized_change
        return None if change is None else self.realized_pnl + change - self.commission

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(unrealized_change=self.unrealized_change, net_pnl=self.net_pnl)
        return out


@dataclass(frozen=True)
class AccountPnl:
    net_liquidation_start: float | None
    net_liquidation_end: float | None
    strategies_pnl: float | None
    """The strategies' net P&L summed (None if one of them is unknown)."""

    @property
    def pnl(self) -> float | None:
        start, end = self.net_liquidation_start, self.net_liquidation_end
        return None if start is None or end is None else end - start

    @property
    def unexplained(self) -> float | None:
        """The account's P&L no strategy explains (manual trades, fees, interest...)."""
        if self.pnl is None or self.strategies_pnl is None:
            return None
        return self.pnl - self.strategies_pnl

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pnl": self.pnl, "unexplained": self.unexplained}


@dataclass(frozen=True)
class Attribution:
    start: datetime
    end: datetime
    strategies: tuple[StrategyPnl, ...]
    account: AccountPnl

    def strategy(self, name: str) -> StrategyPnl:
        return next(s for s in self.strategies if s.strategy == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "strategies": [s.as_dict() for s in self.strategies],
            "account": self.account.as_dict(),
        }  # fmt: skip


def attribute(
    sessions: sessionmaker[Session],
    strategies: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    multipliers: Mapping[str, float] | None = None,
) -> Attribution:
    """The attribution of [start, end) (aware datetimes) to `strategies` (names in the
    ledger) and to no strategy; `multipliers` by symbol for futures (P&L in money)."""
    if start.tzinfo is None or end.tzinfo is None or end < start:
        raise ValueError(f"attribution period must be aware and ordered: {start!r}..{end!r}")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    found = tuple(
        strategy_pnl(sessions, name, start, end, multipliers) for name in dict.fromkeys(strategies)
    )
    nets = [s.net_pnl for s in found]
    total = None if any(n is None for n in nets) else sum(n or 0.0 for n in nets)
    with read_transaction(sessions) as session:
        first = _equity_at(session, None, start, after=end)
        last = _equity_at(session, None, end)
    nlv_start = None if first is None else first.net_liquidation
    nlv_end = None if last is None else last.net_liquidation
    return Attribution(start, end, found, AccountPnl(nlv_start, nlv_end, total))


def strategy_pnl(
    sessions: sessionmaker[Session],
    name: str,
    start: datetime,
    end: datetime,
    multipliers: Mapping[str, float] | None = None,
) -> StrategyPnl:
    fills = [f for f in Ledger(sessions, name).fills() if f.executed_at < end]
    before = [f for f in fills if f.executed_at < start]
    during = fills[len(before) :]
    book = Book(before, multipliers)
    flat_at_start = not book.positions()
    realized = sum(book.apply(f) for f in during)
    commission = sum(f.commission or 0.0 for f in during)
    with read_transaction(sessions) as session:
        at_start = (
            0.0 if flat_at_start else _unrealized_at(session, name, start, before, during, end)
        )
        at_end = 0.0 if not book.positions() else _unrealized_at(session, name, end, fills)
    return StrategyPnl(name, len(during), realized, commission, at_start, at_end)


def table_lines(found: Attribution) -> list[str]:
    """The attribution as a text table (the daily summary, reports): per strategy trades,
    realized (gross), unrealized change, commissions and net; then the total."""
    head = (
        f"{'strategy':<16} {'trades':>6} {'realized':>12} {'unrealized':>12} "
        f"{'commission':>10} {'net':>12}"
    )
    rows = [head]
    for s in found.strategies:
        rows.append(
            f"{s.strategy:<16} {s.trades:>6} {s.realized_pnl:>12,.2f} "
            f"{_money(s.unrealized_change):>12} {s.commission:>10,.2f} {_money(s.net_pnl):>12}"
        )
    every = found.strategies
    rows.append(
        f"{'total':<16} {sum(s.trades for s in every):>6} "
        f"{sum(s.realized_pnl for s in every):>12,.2f} "
        f"{_money(_sum(s.unrealized_change for s in every)):>12} "
        f"{sum(s.commission for s in every):>10,.2f} {_money(found.account.strategies_pnl):>12}"
    )
    return rows


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _sum(values: Iterable[float | None]) -> float | None:
    known = list(values)
    return None if any(v is None for v in known) else sum(v or 0.0 for v in known)


def _unrealized_at(
    session: Session,
    name: str,
    moment: datetime,
    earlier: Sequence[FillRecord],
    later: Sequence[FillRecord] = (),
    until: datetime | None = None,
) -> float | None:
    """The strategy's unrealized P&L at `moment` from its snapshots (see the module)."""
    last_fill = earlier[-1].executed_at if earlier else None
    snap = _equity_at(session, name, moment, known=True)
    if snap is not None and (last_fill is None or snap.at >= last_fill):
        return snap.unrealized_pnl
    if until is None:
        return None
    snap = _equity_at(session, name, moment, after=until, known=True)
    next_fill = later[0].executed_at if later else None
    if snap is not None and (next_fill is None or snap.at <= next_fill):
        return snap.unrealized_pnl
    return None


def _equity_at(
    session: Session,
    strategy: str | None,
    moment: datetime,
    *,
    after: datetime | None = None,
    known: bool = False,
) -> EquitySnapshot | None:
    """The last snapshot at or before `moment`; with `after`, failing that, the first in
    (moment, after]. `strategy` None: any worker's (the account's net liquidation);
    `known`: only snapshots whose unrealized P&L was known."""
    stmt = select(EquitySnapshot)
    if strategy is not None:
        stmt = stmt.where(EquitySnapshot.strategy == strategy)
    if known:
        stmt = stmt.where(EquitySnapshot.unrealized_pnl.is_not(None))
    before = session.scalars(
        stmt.where(EquitySnapshot.at <= moment)
        .order_by(EquitySnapshot.at.desc(), EquitySnapshot.id.desc())
        .limit(1)
    ).first()
    if before is not None or after is None:
        return _detached(session, before)
    later = session.scalars(
        stmt.where(EquitySnapshot.at > moment, EquitySnapshot.at <= after)
        .order_by(EquitySnapshot.at, EquitySnapshot.id)
        .limit(1)
    ).first()
    return _detached(session, later)


def _detached(session: Session, row: EquitySnapshot | None) -> EquitySnapshot | None:
    if row is not None:
        session.expunge(row)
    return row
