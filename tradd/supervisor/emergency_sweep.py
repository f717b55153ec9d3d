"""The account-wide kill switch: cancel every order, close every position, confirm flat.

The last resort of `flatten --all` and of `tradd flatten-account` (when the daemon is
unreachable), on a dedicated clientId (`supervisor.emergency_client_id`: 0, or the
gateway's Master API client ID, which sees every client's orders). It knows nothing of
strategies: it acts on what IB shows for the trading account (`broker.account`, or the
gateway's first managed account).

Its fills belong to no strategy's ledger: their orderRefs (`emergency-<stamp>-<n>`) are
not tradd order references, so no worker claims them. The caller HALTs the strategies
first; each restarted worker then sees an account position its ledger cannot explain
and stays HALTED, with the mismatch as its reason, for an operator to look at.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from tradd.config.settings import Settings
from tradd.errors import TemporaryError
from tradd.ib.link import IBLink
from tradd.ib.types import BrokerPosition, OrderSpec, Side
from tradd.supervisor.emergency_link import (
    QUANTITY_TOLERANCE,
    Deadline,
    EmergencyFailure,
    OrderTracker,
    emergency_link,
    outcome,
)

log = structlog.get_logger("tradd.supervisor.emergency")
CANCEL_SHARE = 0.5
"""At most this share of the timeout is spent waiting for the cancels before closing."""
POSITION_GRACE = 5.0
"""Seconds IB may take to show filled closes in its positions before "not flat"."""


def sweep_account(
    settings: Settings,
    *,
    client_id: int,
    requested_by: str,
    timeout: float,
    monotonic: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """reqGlobalCancel, wait (bounded) until no open order is visible, then close every
    non-zero position of the account with a market order and wait until IB's positions
    show it flat, all within `timeout`. Orders still open after half the timeout do not
    stop the closes (they are reported). Same result shape as `flatten_strategy`, with
    `"path": "sweep"`; IB trouble gives `ok: False`, never an exception.
    """
    deadline = Deadline(timeout, monotonic)
    run = _Sweep(requested_by, deadline, f"emergency-{int(wall_clock() * 1000)}-")
    log.warning("account sweep started", client_id=client_id, requested_by=requested_by)
    try:
        with emergency_link(settings.broker, client_id, deadline, monotonic) as link:
            result = run.execute(link)
    except (EmergencyFailure, TemporaryError) as exc:
        result = run.result(False, str(exc))
    log.warning("account sweep finished", **result)
    return result


@dataclass
class _Position:
    con_id: int
    before: float
    after: float | None = None
    problem: str = ""


class _Sweep:
    def __init__(self, requested_by: str, deadline: Deadline, prefix: str) -> None:
        self.requested_by, self.deadline, self.prefix = requested_by, deadline, prefix
        self.positions: dict[str, _Position] = {}
        self.cancelled: list[str] = []
        self.orders: list[str] = []
        self.still_open: list[str] = []

    def execute(self, link: IBLink) -> dict[str, Any]:
        tracker = OrderTracker(link, self.prefix)
        self._cancel_all(link, tracker)
        for key, (con_id, position) in self._open_positions(link).items():
            self.positions[key] = _Position(con_id, position.quantity)
            self._close(link, key, position)
        self._wait_flat(link, tracker)
        problems = [f"{key}: {self._result(p)}" for key, p in self.positions.items()
                    if self._result(p) != "flat"]  # fmt: skip
        if self.still_open:
            problems.append(f"orders still open after the global cancel: {self.still_open}")
        return self.result(not problems, "; ".join(problems) or "flat")

    def _cancel_all(self, link: IBLink, tracker: OrderTracker) -> None:
        self.cancelled = [_name(u.order_ref, u.perm_id) for u in link.all_open_orders()]
        link.global_cancel()
        log.warning("global cancel sent", open_orders=self.cancelled)
        bound = self.deadline.sooner(self.deadline.timeout * CANCEL_SHARE)
        left: list[str] = []

        def none_open() -> bool:
            left[:] = [_name(u.order_ref, u.perm_id) for u in link.all_open_orders()]
            return not left

        if not tracker.wait(none_open, bound):
            self.still_open = left

    def _open_positions(self, link: IBLink) -> dict[str, tuple[int, BrokerPosition]]:
        """The account's non-zero positions by a key naming each contract: its symbol,
        or `SYMBOL@conId` when two contracts share a symbol."""
        rows = [(c, p) for c, p in link.positions_by_con_id()
                if _in_account(p, link) and abs(p.quantity) > QUANTITY_TOLERANCE]  # fmt: skip
        counts = Counter(p.symbol for _, p in rows)
        return {(p.symbol if counts[p.symbol] == 1 else f"{p.symbol}@{c}"): (c, p)
                for c, p in rows}  # fmt: skip

    def _close(self, link: IBLink, key: str, position: BrokerPosition) -> None:
        line = self.positions[key]
        side: Side = "SELL" if position.quantity > 0 else "BUY"
        ref = f"{self.prefix}{len(self.orders) + 1}"
        account = position.account or link.client.account
        try:
            link.qualify_con_id(key, line.con_id)
            link.place([OrderSpec(ref, key, side, abs(position.quantity), account=account)])
        except TemporaryError as exc:
            line.problem = f"not flat: cannot close: {exc}"
            return
        self.orders.append(ref)
        log.warning("sweep close", order_ref=ref, contract=key, side=side,
                    quantity=abs(position.quantity))  # fmt: skip

    def _wait_flat(self, link: IBLink, tracker: OrderTracker) -> None:
        """Until IB shows every position flat; shortly after the closes finished at most."""

        def flat() -> bool:
            held: dict[int, float] = {}
            for con_id, p in link.positions_by_con_id():
                if _in_account(p, link):
                    held[con_id] = held.get(con_id, 0.0) + p.quantity
            for line in self.positions.values():
                line.after = held.get(line.con_id, 0.0)
            return all(abs(p.after or 0.0) < QUANTITY_TOLERANCE for p in self.positions.values())

        if tracker.wait(lambda: flat() or tracker.settled(self.orders), self.deadline):
            tracker.wait(flat, self.deadline.sooner(POSITION_GRACE))

    @staticmethod
    def _result(line: _Position) -> str:
        if line.after is not None and abs(line.after) < QUANTITY_TOLERANCE:
            return "flat"
        return line.problem or "not flat"

    def result(self, ok: bool, message: str) -> dict[str, Any]:
        symbols = {key: {"before": p.before, "after": p.before if p.after is None else p.after,
                         "result": self._result(p)}
                   for key, p in self.positions.items()}  # fmt: skip
        return outcome(ok, message, self.requested_by, "sweep", symbols, self.cancelled,
                       self.orders)  # fmt: skip


def _in_account(position: BrokerPosition, link: IBLink) -> bool:
    account = link.client.account
    return not account or not position.account or position.account == account


def _name(order_ref: str, perm_id: int) -> str:
    """An open order as reported: its orderRef, or its permId for a manual order."""
    return order_ref or f"permId {perm_id}"
