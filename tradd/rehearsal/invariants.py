"""The ledger against the gateway: what must hold at every moment and at the end.

The ledger is the daemon's SQLite database, read-only; the gateway's side is its
journal (`probes.GatewayJournal`) and its state file. A difference that may still be in
flight (an execution whose commission is awaited, an order being sent) counts only once
it is older than `grace` seconds, so the continuous check never flags a moment's lag.
Read the ledger first, then the journal: the ledger commits an order before it is sent
and books a fill only after the gateway reported it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from tradd.rehearsal.probes import GatewayJournal

UNSENT = frozenset({"Created", "NotSent", "Unknown", "Rejected"})
IN_FLIGHT = frozenset({"PendingSubmit", "ApiPending"})


@dataclass(frozen=True)
class LedgerOrder:
    ref: str
    strategy: str
    symbol: str
    status: str
    filled: float


@dataclass(frozen=True)
class LedgerFill:
    exec_id: str
    ref: str
    symbol: str
    side: str
    quantity: float
    commission: float | None


@dataclass(frozen=True)
class Ledger:
    orders: dict[str, LedgerOrder]
    fills: dict[str, LedgerFill]

    @classmethod
    def read(cls, path: Path) -> Ledger:
        """Both tables, in one read transaction so they agree with each other."""
        if not path.exists():
            return cls({}, {})
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            db.execute("BEGIN")
            orders = db.execute("SELECT order_ref, strategy, symbol, status, filled FROM orders")
            order_map = {r[0]: LedgerOrder(r[0], r[1], r[2], r[3], float(r[4])) for r in orders}
            fills = db.execute(
                "SELECT exec_id, order_ref, symbol, side, quantity, commission FROM fills"
            )
            fill_map = {
                r[0]: LedgerFill(r[0], r[1] or "", r[2], r[3], float(r[4]), r[5]) for r in fills
            }
        finally:
            db.close()
        return cls(order_map, fill_map)

    def positions(self) -> dict[str, float]:
        """Net shares per symbol over every strategy, from the fills."""
        out: dict[str, float] = {}
        for f in self.fills.values():
            out[f.symbol] = out.get(f.symbol, 0.0) + (
                f.quantity if f.side == "BUY" else -f.quantity
            )
        return {s: q for s, q in out.items() if abs(q) > 1e-9}


@dataclass
class Verdict:
    """Each invariant's problems (none: it holds), and the counts for the table."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, invariant: str, problem: str | None = None) -> None:
        items = self.problems.setdefault(invariant, [])
        if problem:
            items.append(problem)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())


def check(
    journal: GatewayJournal,
    ledger: Ledger,
    gateway_positions: dict[str, float] | None,
    now: float,
    grace: float,
) -> Verdict:
    """Every invariant at once; `gateway_positions` None: mid-run (no positions, orders
    being sent are not judged yet), else the final verdict."""
    v = Verdict()
    settled = {e for e, seen in journal.first_seen.items() if now - seen >= grace}
    recent = {r for r, seen in journal.placed_seen.items() if now - seen < grace}
    _orders(v, journal, ledger, recent, final=gateway_positions is not None)
    _fills(v, journal, ledger, settled)
    if gateway_positions is not None:
        v.add("positions equal")
        ours = ledger.positions()
        for symbol in sorted(set(ours) | set(gateway_positions)):
            a, b = gateway_positions.get(symbol, 0.0), ours.get(symbol, 0.0)
            if abs(a - b) > 1e-6:
                v.add("positions equal", f"{symbol}: gateway {a:g}, ledger {b:g}")
    twice = sum(1 for placed in journal.placed.values() if len(placed) > 1)
    v.counts.update(
        duplicated=v.counts["phantom"] + twice,  # fills from nowhere, orders sent twice
        orders=sum(len(o) for o in journal.placed.values()),
        fills=len(journal.executions),
        ledger_orders=len(ledger.orders),
        ledger_fills=len(ledger.fills),
    )
    return v


def _orders(
    v: Verdict, journal: GatewayJournal, ledger: Ledger, recent: set[str], *, final: bool
) -> None:
    v.add("gateway orders in ledger")
    v.add("ledger orders at gateway")
    v.add("no orderRef twice")
    for ref, placed in journal.placed.items():
        if ref not in ledger.orders and ref not in recent:
            v.add("gateway orders in ledger", f"{ref or '(no ref)'}: {len(placed)} at the gateway")
        if len(placed) > 1:
            ids = ", ".join(f"{p.get('client_id')}/{p.get('order_id')}" for p in placed)
            v.add("no orderRef twice", f"{ref}: placed {len(placed)} times ({ids})")
    at_gateway = set(journal.placed) | journal.rejected
    for order in ledger.orders.values():
        if order.status == "NotSent" and order.ref in journal.placed:  # fills lost with it
            v.add("ledger orders at gateway", f"{order.ref} (NotSent) was placed at the gateway")
        if order.status in UNSENT or order.ref in at_gateway:
            continue
        if order.status in IN_FLIGHT and not final:  # being sent right now
            continue
        v.add("ledger orders at gateway", f"{order.ref} ({order.status}) never reached it")
    v.add("order rows agree with fills")
    booked: dict[str, float] = {}
    for f in ledger.fills.values():
        booked[f.ref] = booked.get(f.ref, 0.0) + f.quantity
    for order in ledger.orders.values():
        total = booked.get(order.ref, 0.0)
        if order.status == "Filled" and abs(order.filled - total) > 1e-6:
            v.add("order rows agree with fills",
                  f"{order.ref}: Filled with filled={order.filled:g}, fills {total:g}")  # fmt: skip


def _fills(v: Verdict, journal: GatewayJournal, ledger: Ledger, settled: set[str]) -> None:
    v.add("fills equal (execId, qty)")
    v.add("commissions to the cent")
    lost = phantom = 0
    for exec_id in sorted(settled):
        report = journal.executions[exec_id]
        ours = ledger.fills.get(exec_id)
        if ours is None:
            lost += 1
            v.add("fills equal (execId, qty)", f"lost: {exec_id} ({report.get('ref')})")
            continue
        if abs(ours.quantity - float(report["shares"])) > 1e-9:
            v.add("fills equal (execId, qty)",
                  f"{exec_id}: gateway {report['shares']}, ledger {ours.quantity:g}")  # fmt: skip
        theirs = float(report["commission"])
        if ours.commission is None or round(ours.commission - theirs, 2) != 0:
            v.add("commissions to the cent",
                  f"{exec_id}: gateway {theirs:.2f}, ledger {ours.commission}")  # fmt: skip
    for exec_id, fill in ledger.fills.items():
        if exec_id not in journal.executions:
            phantom += 1
            v.add("fills equal (execId, qty)", f"phantom: {exec_id} ({fill.ref}) not at gateway")
    v.counts.update(lost=lost, phantom=phantom)
