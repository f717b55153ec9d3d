"""The kill switch without a worker: flatten a strategy through the supervisor's own link.

`tradctl flatten` normally asks the strategy's worker. When the worker does not answer
(hung, crash-looping), the supervisor kills it and calls `flatten_strategy` in a thread:
it does what the worker's flatten would have done, on the strategy's own clientId (free
now; on real IB a non-master clientId sees and cancels only its own orders, which is
exactly the strategy's), and books everything into the strategy's ledger, so the worker
restarted afterwards comes up HALTED, reconciles cleanly and reports flat positions.
`sweep_account` (tradd.supervisor.emergency_sweep) is the account-wide last resort.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from tradd.config.settings import Settings
from tradd.errors import ConfigError, TemporaryError
from tradd.ib.link import IBLink
from tradd.ib.types import OrderSpec, Side
from tradd.marketdata.contracts import load_definitions
from tradd.persistence.book import Book
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import NewOrder, RiskDecisionInput, StrategyStateRecord
from tradd.supervisor.emergency_link import (
    QUANTITY_TOLERANCE,
    Deadline,
    EmergencyFailure,
    OrderTracker,
    account_positions,
    emergency_link,
    outcome,
)
from tradd.supervisor.emergency_sweep import sweep_account

__all__ = ["flatten_strategy", "mark_halted", "sweep_account"]

log = structlog.get_logger("tradd.supervisor.emergency")
POSITION_GRACE = 5.0
"""Seconds IB may take to show filled closes in its positions before "not flat"."""


def mark_halted(ledger: Ledger, reason: str) -> StrategyStateRecord:
    """Persist HALTED, keeping the stored risk baselines (equity peak, day start)."""
    stored = ledger.state()
    return ledger.save_state(
        trading_state="HALTED",
        reason=reason,
        equity_peak=stored.equity_peak if stored else None,
        day=stored.day if stored else None,
        day_start_equity=stored.day_start_equity if stored else None,
    )


def flatten_strategy(
    settings: Settings,
    name: str,
    sessions: sessionmaker[Session],
    *,
    requested_by: str,
    timeout: float,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """HALT strategy `name`, cancel its working orders and close its positions at IB.

    Precondition: its worker is dead (the caller killed it). Every step is bounded by
    `timeout`: book the executions the worker missed, cancel every open order of its
    clientId whose orderRef is the strategy's and wait for IB to confirm each finished,
    then close each ledger position with a market order (a system order, recorded in the
    ledger first like every tradd order), capped so the account is never pushed past
    flat: if the account holds less on the same side, only that is closed; if it holds
    nothing or the other side, the symbol is skipped and reported. The result has the
    shape of the worker's flatten reply plus `"path": "emergency"`; IB trouble (a
    timeout, no connection) gives `ok: False` with the reason, never an exception.
    """
    deadline = Deadline(timeout, monotonic)
    ledger = Ledger(sessions, name)
    run = _StrategyFlatten(settings, ledger, requested_by, deadline)
    try:
        config = settings.strategy(name)
    except KeyError as exc:
        return run.result(False, str(exc.args[0]))
    mark_halted(ledger, f"flattened by {requested_by} (emergency)")
    log.warning("emergency flatten started", strategy=name, requested_by=requested_by)
    try:
        definitions = load_definitions(settings.data.dir)  # a future is qualified by them
        with emergency_link(
            settings.broker, config.client_id, deadline, monotonic, definitions
        ) as link:
            result = run.execute(link, config.symbols)
    except (EmergencyFailure, TemporaryError, ConfigError) as exc:
        result = run.result(False, str(exc))
    log.warning("emergency flatten finished", strategy=name, **result)
    return result


@dataclass
class _Line:
    """One symbol: the strategy's position, the account's, and what was done about it."""

    before: float
    account_before: float | None
    close: float = 0.0
    skipped: str = ""
    after: float | None = None
    account_after: float | None = None


class _StrategyFlatten:
    def __init__(
        self, settings: Settings, ledger: Ledger, requested_by: str, deadline: Deadline
    ) -> None:
        self.settings, self.ledger = settings, ledger
        self.requested_by, self.deadline = requested_by, deadline
        self.lines: dict[str, _Line] = {}
        self.cancelled: list[str] = []
        self.orders: list[str] = []

    def execute(self, link: IBLink, symbols: tuple[str, ...]) -> dict[str, Any]:
        fills = self.ledger.fills()
        link.qualify(sorted(set(symbols) | set(Book(fills).positions())))
        tracker = OrderTracker(link, f"{self.ledger.strategy}-", self.ledger, fills)
        self._catch_up(link, tracker)
        self._cancel_working(link, tracker)
        self._plan(link)
        self._close(link, tracker)
        return self._confirm(link, tracker)

    def _catch_up(self, link: IBLink, tracker: OrderTracker) -> None:
        """What IB did while the worker was hung: book its missed executions (before the
        statuses, as the worker's reconciliation does), then adopt IB's order states."""
        for execution, commission in sorted(link.executions(), key=lambda ec: ec[0].time):
            tracker.on_execution(execution, commission)
        for update in link.completed_orders() + link.open_orders():
            tracker.on_order(update)

    def _cancel_working(self, link: IBLink, tracker: OrderTracker) -> None:
        working = tracker.working()
        for update in working:
            link.cancel(update.ib_order_id)
            self.cancelled.append(update.order_ref)
        refs = [u.order_ref for u in working]
        if not tracker.wait(lambda: tracker.settled(refs), self.deadline):
            raise EmergencyFailure(
                f"orders not confirmed cancelled within {self.deadline.timeout:g}s: "
                f"{', '.join(tracker.unsettled(refs))}; nothing closed"
            )

    def _plan(self, link: IBLink) -> None:
        """How much of each ledger position to close without passing the account's flat."""
        held = account_positions(link)
        for symbol, position in self.ledger.book().positions().items():
            mine, account = position.quantity, held.get(symbol, 0.0)
            line = self.lines[symbol] = _Line(mine, account)
            if abs(account) < QUANTITY_TOLERANCE or (account > 0) != (mine > 0):
                line.skipped = (
                    f"skipped: the account holds {account:g}; closing the ledger's {mine:g} "
                    "would push it past flat"
                )
            else:
                line.close = min(abs(mine), abs(account))

    def _close(self, link: IBLink, tracker: OrderTracker) -> None:
        why = f"emergency flatten by {self.requested_by}"
        for symbol, line in self.lines.items():
            if line.close <= 0:
                continue
            side: Side = "SELL" if line.before > 0 else "BUY"
            decision = RiskDecisionInput(
                "SYSTEM", why, "HALTED", symbol=symbol, side=side,
                requested_qty=line.close, approved_qty=line.close,
            )  # fmt: skip
            new = NewOrder(symbol, side, line.close, "MKT")
            ref = self.ledger.create_orders([new], decision)[0].order_ref
            self.orders.append(ref)
            log.warning("emergency close", order_ref=ref, symbol=symbol, side=side,
                        quantity=line.close)  # fmt: skip
            link.place([OrderSpec(ref, symbol, side, line.close, account=link.client.account)])
        if not tracker.wait(lambda: tracker.settled(self.orders), self.deadline):
            raise EmergencyFailure(
                f"closing orders not confirmed filled within {self.deadline.timeout:g}s: "
                f"{', '.join(tracker.unsettled(self.orders))}"
            )
        grace = self.deadline.sooner(self.settings.worker.commission_wait)
        tracker.wait(tracker.commissions_in, grace)

    def _confirm(self, link: IBLink, tracker: OrderTracker) -> dict[str, Any]:
        """The ledger's positions now, and IB's positions showing the same change."""
        book = self.ledger.book()
        for symbol, line in self.lines.items():
            line.after = book.position(symbol).quantity
        tracker.wait(lambda: self._account_agrees(link), self.deadline.sooner(POSITION_GRACE))
        problems = [f"{s} {self._result(line)}" for s, line in self.lines.items()
                    if self._result(line) != "flat"]  # fmt: skip
        return self.result(not problems, "; ".join(problems) or "flat")

    def _account_agrees(self, link: IBLink) -> bool:
        held = account_positions(link)
        for symbol, line in self.lines.items():
            line.account_after = held.get(symbol, 0.0)
        return all(abs(_moved(line)) < QUANTITY_TOLERANCE for line in self.lines.values())

    @staticmethod
    def _result(line: _Line) -> str:
        if line.skipped:
            return line.skipped
        if line.after is None or abs(line.after) > QUANTITY_TOLERANCE:
            return "not flat"
        if abs(_moved(line)) > QUANTITY_TOLERANCE:
            return "not flat: the account's position does not show the close"
        return "flat"

    def result(self, ok: bool, message: str) -> dict[str, Any]:
        """The reply; after a failure, each symbol as the ledger has it now."""
        book = self.ledger.book()
        if not self.lines:  # failed before the positions were read at IB
            self.lines = {s: _Line(p.quantity, None) for s, p in book.positions().items()}
        for symbol, line in self.lines.items():
            if line.after is None:
                line.after = book.position(symbol).quantity
        symbols = {
            s: {"before": line.before, "after": line.after, "result": self._result(line),
                "account_before": line.account_before, "account_after": line.account_after}
            for s, line in self.lines.items()
        }  # fmt: skip
        return outcome(ok, message, self.requested_by, "emergency", symbols, self.cancelled,
                       self.orders)  # fmt: skip


def _moved(line: _Line) -> float:
    """How far the account's change differs from the ledger's (0: IB shows the close)."""
    if line.after is None or line.account_after is None or line.account_before is None:
        return float("inf")
    return (line.account_after - line.account_before) - (line.after - line.before)
