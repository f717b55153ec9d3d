"""The broker's positions as the worker records them: one row per symbol.

The gateway reports one position per account and contract, and `IBClient` keeps one row
per contract of an answer. A symbol can still come twice (the same symbol listed on two
contracts, or a library that repeats a row); the ledger's snapshot holds one row per
symbol, and a crash there took a worker down in the rehearsal. So rows of one symbol are
added up (the quantity is what the reconciliation compares too) and the repeat is logged.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from tradd.ib.types import BrokerPosition
from tradd.persistence.records import PositionRow

log = structlog.get_logger("tradd.worker.positions")


def held_rows(positions: Iterable[BrokerPosition], symbols: Iterable[str]) -> list[PositionRow]:
    """One row per symbol of `symbols` in `positions`: quantities summed, costs averaged
    by quantity."""
    wanted = set(symbols)
    by_symbol: dict[str, list[BrokerPosition]] = {}
    for p in positions:
        if p.symbol in wanted:
            by_symbol.setdefault(p.symbol, []).append(p)
    rows = []
    for symbol, same in by_symbol.items():
        if len(same) > 1:
            log.warning("broker lists a symbol more than once; rows added up", symbol=symbol,
                        rows=[(p.quantity, p.avg_cost, p.account) for p in same])  # fmt: skip
        rows.append(PositionRow(symbol, sum(p.quantity for p in same), _avg_cost(same)))
    return rows


def _avg_cost(rows: list[BrokerPosition]) -> float:
    """The cost weighted by size; the last row's when every row is closed (0)."""
    size = sum(abs(p.quantity) for p in rows)
    if size == 0:
        return rows[-1].avg_cost
    return sum(abs(p.quantity) * p.avg_cost for p in rows) / size
