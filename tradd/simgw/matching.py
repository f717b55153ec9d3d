"""The matching engine: working orders filled against the replayed tape.

Prices come from five-second buckets of the tape. Marketable orders fill at
once against the latest bucket (buy at the ask, sell at the bid, one tick
either side of the last trade); resting orders fill when a later bucket trades
through them: a buy limit when the low reaches the limit (at the better of
limit and open), a buy stop when the high reaches the stop (at the worse of
stop and open); sells mirror. Bracket children wait for their parent's fill,
and siblings of a bracket or an OCA group cancel each other.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Protocol

from tradd.simgw.commissions import commission_for
from tradd.simgw.contracts import Instrument
from tradd.simgw.order_rules import check_order, good_till
from tradd.simgw.orders import ACTIVE, Execution, OrderRejected, PlaceOrder, SimOrder
from tradd.simgw.state import SimState
from tradd.simgw.tape import BUCKET, Quote, Tape


class Reporter(Protocol):
    """Where order events go (the gateway routes them to client sessions)."""

    def order_changed(self, order: SimOrder) -> None: ...
    def order_filled(self, order: SimOrder, execution: Execution) -> None: ...
    def order_cancelled(self, order: SimOrder, code: int | None, message: str) -> None: ...


class Exchange:
    def __init__(
        self,
        state: SimState,
        tapes: dict[int, Tape],
        reporter: Reporter,
        now: Callable[[], int],
        seed: int,
        tz: str = "US/Eastern",
        slip_ticks: Callable[[], int] = lambda: 0,
    ) -> None:
        self.state = state
        self.slip_ticks = slip_ticks  # the `slip` fault, read at each market fill
        self.tapes = tapes
        self.reporter = reporter
        self.now = now
        self.tz = tz  # TWS's own zone: a goodTillDate without one is read in it
        self._exec_prefix = f"{zlib.crc32(f'{state.account.account}:{seed}'.encode()):08x}"

    # ---- requests -------------------------------------------------------------------------

    def place(self, req: PlaceOrder, client_id: int, inst: Instrument, chunks: int) -> SimOrder:
        """Accept a new order (or hold it until a transmitting sibling arrives)."""
        self._validate(req, inst)
        now = self.now()
        order = SimOrder(
            order_id=req.order_id, client_id=client_id, perm_id=self.state.take_perm_id(),
            con_id=inst.con_id, action=req.action, total_qty=req.total_qty,
            order_type=req.order_type, lmt_price=req.lmt_price, aux_price=req.aux_price,
            tif=req.tif, account=req.account or self.state.account.account,
            order_ref=req.order_ref, parent_id=req.parent_id, oca_group=req.oca_group,
            outside_rth=req.outside_rth, transmit=req.transmit, placed_at=now,
            fill_chunks=1 if req.tif == "FOK" else max(chunks, 1),
            good_till_date=req.good_till_date,
        )  # fmt: skip
        order.expires_at = self._expiry(req, inst.con_id, now)
        self.state.orders[order.perm_id] = order
        if req.transmit:
            for held in self._held_family(order):
                self._activate(held)
            self._activate(order)
        return order

    def modify(self, order: SimOrder, req: PlaceOrder, inst: Instrument) -> None:
        """Change quantity, type, prices or TIF of a working order (a re-sent placeOrder)."""
        if order.is_done:
            raise OrderRejected(104, "Cannot modify a filled order.")
        if req.action != order.action or inst.con_id != order.con_id:
            raise OrderRejected(105, "Order being modified does not match original order.")
        self._validate(req, inst)
        if req.total_qty < order.filled:
            raise OrderRejected(
                201, "Order rejected - reason:The order size cannot be below the filled size"
            )
        order.total_qty, order.order_type = req.total_qty, req.order_type
        order.lmt_price, order.aux_price = req.lmt_price, req.aux_price
        order.tif, order.order_ref, order.outside_rth = req.tif, req.order_ref, req.outside_rth
        order.expires_at = self._expiry(req, order.con_id, self.now())
        order.good_till_date = req.good_till_date
        if order.remaining <= 0:  # cut down to what has already filled
            order.status, order.completed_at = "Filled", self.now()
            order.completed_status = f"Filled Size: {order.filled:g}"
            self.reporter.order_changed(order)
            self._after_complete_fill(order)
            return
        if order.status in ACTIVE:
            self.reporter.order_changed(order)
            self._try_now(order)
        elif req.transmit and not order.transmit:
            order.transmit = True
            self._activate(order)

    def cancel(self, order: SimOrder, reason: str = "") -> None:
        """Cancel a working order and, for a parent, its children."""
        if order.is_done:
            raise OrderRejected(
                10148, f"OrderId {order.order_id} that needs to be cancelled cannot be "
                f"cancelled, state: {order.status}."
            )  # fmt: skip
        self._finish_cancel(order, 202, f"Order Canceled - reason:{reason}")

    def cancel_all(self) -> None:
        for order in list(self.state.orders.values()):
            if not order.is_done:
                self._finish_cancel(order, 202, "Order Canceled - reason:global cancel")

    # ---- the tape moves ----------------------------------------------------------------------

    def on_bucket(self, con_id: int, quote: Quote) -> None:
        """A bucket of this instrument completed: match working orders against it."""
        for order in self._working(con_id):
            if order.is_done or order.status not in ACTIVE or not self._eligible(order):
                continue
            if quote.bucket_start < order.placed_at:  # prices from before the order existed
                continue
            if order.status == "PreSubmitted" and not self._waiting(order):
                order.status = "Submitted"  # the session opened: the held order goes live
                self.reporter.order_changed(order)
            price = bucket_fill_price(order, quote)
            if price is not None:
                self._fill(order, price, quote.bucket_start + BUCKET)

    def expire(self, t: int) -> None:
        """Cancel DAY orders whose session has closed."""
        for order in list(self.state.orders.values()):
            if not order.is_done and order.expires_at is not None and t >= order.expires_at:
                reason = f"Order Canceled - reason:{order.tif} order expired"
                self._finish_cancel(order, 202, reason)

    # ---- internals ---------------------------------------------------------------------------

    def _validate(self, req: PlaceOrder, inst: Instrument) -> None:
        """IB's checks (``order_rules``); the warnings they yield are sent by the caller."""
        check_order(req, inst, self.now(), self.tz)

    def _expiry(self, req: PlaceOrder, con_id: int, now: int) -> int | None:
        if req.tif == "DAY":
            return self._session_end(con_id, now)
        return good_till(req, self.tz)

    def _market_open(self, con_id: int) -> bool:
        return self.tapes[con_id].bar_index(self.now()) is not None

    def _waiting(self, order: SimOrder) -> bool:
        """Held as PreSubmitted: an untriggered stop, a child of an unfilled parent, or any
        order while its market is closed (TWS holds it until the session opens)."""
        stop = order.order_type in ("STP", "STP LMT") and not order.triggered
        return stop or self._parent_pending(order) or not self._market_open(order.con_id)

    def _activate(self, order: SimOrder) -> None:
        order.transmit = True
        order.status = "PreSubmitted" if self._waiting(order) else "Submitted"
        self.reporter.order_changed(order)
        self._try_now(order)

    def _try_now(self, order: SimOrder) -> None:
        """Match against the latest bucket if the market is open (marketable orders)."""
        if not self._eligible(order):
            return
        now = self.now()
        tape = self.tapes[order.con_id]
        quote = tape.last_quote_before(now) if tape.bar_index(now) is not None else None
        if quote is not None and not tape.same_session(quote.bucket_start, now):
            quote = None  # first seconds of a session: wait for its first trade, not yesterday's
        if quote is None:
            if order.tif in ("IOC", "FOK"):
                reason = f"Order Canceled - reason:{order.tif}, market closed"
                self._finish_cancel(order, 202, reason)
            return
        price = immediate_fill_price(order, quote)
        if price is not None:
            self._fill(order, self._slipped(order, price), now)
        if order.tif in ("IOC", "FOK") and not order.is_done:
            self._finish_cancel(order, 202, f"Order Canceled - reason:{order.tif} remainder")

    def _slipped(self, order: SimOrder, price: float) -> float:
        """The `slip` fault: a market-priced fill `slip_ticks` ticks worse than the touch."""
        ticks = self.slip_ticks()
        if not ticks or order.order_type not in ("MKT", "STP"):
            return price
        step = ticks * self.tapes[order.con_id].instrument.min_tick
        return round(price + step if order.is_buy else price - step, 10)

    def _eligible(self, order: SimOrder) -> bool:
        return order.transmit and not self._parent_pending(order)

    def _parent_pending(self, order: SimOrder) -> bool:
        if not order.parent_id:
            return False
        parent = self.state.find_order(order.client_id, order.parent_id)
        return parent is not None and parent.status != "Filled"

    def _fill(self, order: SimOrder, price: float, t: int) -> None:
        chunk = math.ceil(order.total_qty / order.fill_chunks)
        qty = min(order.remaining, chunk)
        inst = self.tapes[order.con_id].instrument
        before = commission_for(inst, order.filled, order.avg_fill_price) if order.filled else None
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * qty) / (
            order.filled + qty
        )
        order.filled += qty
        order.last_fill_price = price
        total = commission_for(inst, order.filled, order.avg_fill_price)
        fee = round(total.amount - (before.amount if before else 0.0), 4)
        signed = qty if order.is_buy else -qty
        multiplier = inst.value_multiplier
        realized = self.state.account.apply_fill(order.con_id, signed, price, fee, multiplier)
        self.state.exec_seq += 1
        execution = Execution(
            exec_id=f"{self._exec_prefix}.{t // 86_400:08x}.{self.state.exec_seq:04x}.01",
            order_id=order.order_id, client_id=order.client_id, perm_id=order.perm_id,
            con_id=order.con_id, time=t, side=order.action, shares=qty, price=price,
            cum_qty=order.filled, avg_price=round(order.avg_fill_price, 6),
            order_ref=order.order_ref, account=order.account, commission=fee,
            realized_pnl=realized if realized else None, commission_currency=total.currency,
        )  # fmt: skip
        self.state.executions.append(execution)
        if order.remaining <= 0:
            order.status = "Filled"
            order.completed_at = t
            order.completed_status = "Filled Size: " + f"{order.filled:g}"
        else:
            order.status = "Submitted"
        self.reporter.order_filled(order, execution)
        self._reduce_oca_siblings(order, qty)
        if order.status == "Filled":
            self._after_complete_fill(order)

    def _reduce_oca_siblings(self, order: SimOrder, qty: float) -> None:
        """A partial fill shrinks the other members of its bracket or OCA group (with block)."""
        if order.status == "Filled":
            return  # the complete fill cancels them outright
        for sibling in self._oca_siblings(order):
            sibling.total_qty = max(sibling.total_qty - qty, sibling.filled)
            if sibling.remaining <= 0:
                self._finish_cancel(sibling, None, "OCA group member filled")
            elif sibling.transmit:
                self.reporter.order_changed(sibling)

    def _after_complete_fill(self, order: SimOrder) -> None:
        for child in self._children(order):
            if not child.is_done and child.transmit:
                self._activate(child)
        for sibling in self._oca_siblings(order):
            self._finish_cancel(sibling, None, "OCA group member filled")

    def _finish_cancel(self, order: SimOrder, code: int | None, message: str) -> None:
        """Cancel an order and every child still waiting on it (no orphaned stop or target)."""
        order.status = "Cancelled"
        order.completed_at = self.now()
        order.completed_status = message
        self.reporter.order_cancelled(order, code, message)
        for child in self._children(order):
            if not child.is_done:
                self._finish_cancel(child, 202, "Order Canceled - reason:parent cancelled")

    def _held_family(self, order: SimOrder) -> list[SimOrder]:
        """Untransmitted parent and siblings released by this transmitting order."""
        if not order.parent_id:
            return []
        parent = self.state.find_order(order.client_id, order.parent_id)
        family = [parent] if parent is not None and not parent.transmit else []
        if parent is not None:
            family += [c for c in self._children(parent) if not c.transmit and c is not order]
        return [o for o in family if not o.is_done]

    def _children(self, parent: SimOrder) -> list[SimOrder]:
        return [
            o
            for o in self.state.orders.values()
            if o.parent_id == parent.order_id and o.client_id == parent.client_id
        ]

    def _oca_siblings(self, order: SimOrder) -> list[SimOrder]:
        def related(o: SimOrder) -> bool:
            if o is order or o.is_done or o.client_id != order.client_id:
                return False
            same_parent = bool(order.parent_id) and o.parent_id == order.parent_id
            return same_parent or (bool(order.oca_group) and o.oca_group == order.oca_group)

        return [o for o in self.state.orders.values() if related(o)]

    def _working(self, con_id: int) -> list[SimOrder]:
        return [o for o in self.state.orders.values() if o.con_id == con_id and not o.is_done]

    def _session_end(self, con_id: int, t: int) -> int | None:
        return self.tapes[con_id].session_end(t)


def immediate_fill_price(order: SimOrder, q: Quote) -> float | None:
    """Price a newly active order gets against the current market, or None if it rests."""
    buy = order.is_buy
    touch = q.ask if buy else q.bid
    if order.order_type in ("STP", "STP LMT") and not order.triggered:
        stop = order.aux_price or 0.0
        if (q.last >= stop) if buy else (q.last <= stop):
            order.triggered = True
            order.status = "Submitted"
        else:
            return None
    if order.order_type in ("MKT", "STP"):
        return touch
    limit = order.lmt_price or 0.0
    return touch if ((touch <= limit) if buy else (touch >= limit)) else None


def bucket_fill_price(order: SimOrder, q: Quote) -> float | None:
    """Price a resting order gets from a completed bucket, or None if not reached."""
    buy = order.is_buy
    reference = q.open
    if order.order_type in ("STP", "STP LMT") and not order.triggered:
        stop = order.aux_price or 0.0
        if not ((q.high >= stop) if buy else (q.low <= stop)):
            return None
        order.triggered = True
        order.status = "Submitted"
        reference = max(stop, q.open) if buy else min(stop, q.open)
        if order.order_type == "STP":
            return reference
    if order.order_type == "MKT" or (order.order_type == "STP" and order.triggered):
        return q.open
    limit = order.lmt_price or 0.0
    if buy and q.low <= limit:
        return min(limit, reference)
    if not buy and q.high >= limit:
        return max(limit, reference)
    return None
