"""P&L as reqPnL and reqPnLSingle report it, from the account's own numbers.

IB's daily P&L is the change in value since the start of the trading day:
positions held at the start are measured from their mark then (the previous
close), and today's trades from their fill prices, commissions included. So
the account's daily P&L is exactly today's change in net liquidation, and the
positions' daily P&Ls add up to it. Unrealized and realized P&L are the
account's (``AccountState``): realized since the start of the day, unrealized
against average cost. The start-of-day marks are kept in ``SimState.day_marks``
(set when the day rolls, persisted with --state).

pnlSingle reports IB's "unset" value (max double) for realized P&L when the
position has not traded today, as TWS does.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradd.simgw.account import Position
from tradd.simgw.orders import Execution
from tradd.simgw.state import SimState


@dataclass(frozen=True)
class PositionPnL:
    position: float
    daily: float
    unrealized: float
    realized: float | None  # None: nothing closed today
    value: float


@dataclass(frozen=True)
class AccountPnL:
    daily: float
    unrealized: float
    realized: float


def _signed(e: Execution) -> float:
    return e.shares if e.side == "BUY" else -e.shares


def position_pnl(state: SimState, con_id: int, mark: float) -> PositionPnL:
    """One position's P&L at ``mark``; the day's reference mark is recorded if missing."""
    pos = state.account.positions.get(con_id, Position())
    today = [e for e in state.executions if e.con_id == con_id]
    start_qty = pos.quantity - sum(_signed(e) for e in today)
    flows = sum(_signed(e) * e.price + e.commission for e in today)
    if start_qty and con_id not in state.day_marks:
        state.day_marks[con_id] = mark  # no reference (older state file): start from here
    start_value = start_qty * state.day_marks.get(con_id, mark)
    closed = [e.realized_pnl for e in today if e.realized_pnl is not None]
    return PositionPnL(
        position=pos.quantity,
        daily=round(pos.quantity * mark - start_value - flows, 6),
        unrealized=round(pos.quantity * (mark - pos.avg_cost), 6),
        realized=round(sum(closed), 6) if closed else None,
        value=round(pos.quantity * mark, 6),
    )


def traded_today(state: SimState) -> set[int]:
    """conIds with a position now or a fill today: the ones the day's P&L is made of."""
    return set(state.account.positions) | {e.con_id for e in state.executions}


def account_pnl(state: SimState, marks: dict[int, float]) -> AccountPnL:
    daily = sum(position_pnl(state, c, marks[c]).daily for c in traded_today(state))
    valuation = state.account.valuation(marks)
    return AccountPnL(round(daily, 6), round(valuation.unrealized_pnl, 6),
                      round(state.account.realized_pnl, 6))  # fmt: skip
