"""The gateway's shared state and the events that flow from it to clients.

Requests (``requests_*.py``) and the replay loop act on a ``Core``; it owns
the account, orders, tapes and subscriptions, routes order events to the
sessions that should see them (the owning clientId, and clientId 0 which sees
all orders), and applies the fault switches that delay or duplicate reports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from tradd.simgw import account_tags, encode
from tradd.simgw.account import Position, Valuation
from tradd.simgw.account_frames import AccountFrames
from tradd.simgw.contracts import ContractBook, Instrument
from tradd.simgw.market import Market
from tradd.simgw.matching import Exchange
from tradd.simgw.orders import Execution, SimOrder
from tradd.simgw.pacing import Pacing
from tradd.simgw.replay import SimClock
from tradd.simgw.session import ClientSession
from tradd.simgw.state import SimState, save_state
from tradd.simgw.tape import Quote, Tape
from tradd.simgw.wire import FieldValue

log = structlog.get_logger("tradd.simgw")


@dataclass
class FaultSwitches:
    """Faults that change how requests are answered; set through ``Faults``."""

    connectivity_lost: bool = False
    withhold_fills: bool = False
    withheld: list[tuple[ClientSession, list[FieldValue]]] = field(default_factory=list)
    reject_next: deque[tuple[int, str]] = field(default_factory=deque)
    partial_next: deque[int] = field(default_factory=deque)
    held_positions: set[int] = field(default_factory=set)  # conIds whose updates wait too
    duplicate_exec: int = 0
    slip_ticks: int = 0  # market orders fill this many ticks worse than the touch
    ignore: set[int] = field(default_factory=set)  # message ids never answered


class Core:
    def __init__(
        self,
        state: SimState,
        tapes: dict[int, Tape],
        clock: SimClock,
        *,
        seed: int,
        pacing: Pacing,
        state_file: Path | None,
        partial_fills: int,
        account_update_seconds: int,
    ) -> None:
        self.state = state
        self.tapes = tapes
        self.instruments: dict[int, Instrument] = {k: t.instrument for k, t in tapes.items()}
        self.book = ContractBook(list(self.instruments.values()))
        self.clock = clock
        self.pacing = pacing
        self.faults = FaultSwitches()
        self.sessions: dict[int, ClientSession] = {}
        self.market = Market(tapes, on_quote=self._on_quote)
        self.exchange = Exchange(state, tapes, self, self.now, seed, tz=self.tz,
                                 slip_ticks=lambda: self.faults.slip_ticks)  # fmt: skip
        self.marks: dict[int, float] = {}
        self.partial_fills = partial_fills
        self._state_file = state_file
        self._account_every = account_update_seconds
        self._dirty = False
        self._previous_day_equity: float | None = None  # equity at the last day roll
        self._account_frames = AccountFrames()  # the last pushed rows, encoded
        self.on_account_change: Callable[[], None] | None = None  # P&L after fills

    @property
    def account(self) -> str:
        return self.state.account.account

    @property
    def tz(self) -> str:
        """The zone of the simulated TWS login (US/Eastern), not of any contract: TWS
        writes execution and account-update times in its own zone, whichever exchange
        traded. Contract times (bars, sessions) use each instrument's ``time_zone``."""
        return "US/Eastern"

    def now(self) -> int:
        return int(self.clock.now())

    def take_chunks(self) -> int:
        return (
            self.faults.partial_next.popleft() if self.faults.partial_next else self.partial_fills
        )

    # ---- the replay step -------------------------------------------------------------------

    def step(self, boundary: int) -> None:
        """One bucket boundary: roll the day, publish data, match orders, update accounts.

        A failure here is a simulator bug; it is logged and the replay goes on, so one
        bad bucket cannot freeze the market for every client.
        """
        try:
            self._step(boundary)
        except Exception:
            log.exception("simgw.step_failed", boundary=boundary)

    def _step(self, boundary: int) -> None:
        self.state.sim_time = boundary
        self._roll_day(boundary)
        self.market.publish(boundary)
        self.exchange.expire(boundary)
        if boundary % self._account_every == 0:
            self.push_account_values()
        self.persist()

    def prefetch(self, bucket_start: int) -> None:
        """Expand the source bars the next bucket will need before its deadline."""
        for tape in self.tapes.values():
            i = tape.bar_index(bucket_start)
            if i is not None:
                tape.buckets(i)

    def _on_quote(self, con_id: int, quote: Quote) -> None:
        self.marks[con_id] = quote.last
        self.exchange.on_bucket(con_id, quote)

    def _roll_day(self, t: int) -> None:
        """At a new trading day, yesterday's executions and finished orders are gone (as in TWS)."""
        day = (t - 5 * 3600) // 86_400  # the day turns at midnight US/Eastern (approximately)
        if day <= self.state.trading_day:  # forward only: a restart may start earlier
            return
        self._previous_day_equity = self.valuation().net_liquidation
        if self.state.trading_day:
            self.state.executions.clear()
            self.state.orders = {k: o for k, o in self.state.orders.items() if not o.is_done}
            self.state.account.realized_pnl = 0.0
        self.state.day_marks = {c: self.mark(c) for c in self.state.account.positions}
        self.state.trading_day = day
        self._dirty = True

    def mark(self, con_id: int) -> float:
        known = self.marks.get(con_id)
        if known is not None:
            return known
        quote = self.tapes[con_id].last_quote_before(self.now())
        price = quote.last if quote else 0.0
        self.marks[con_id] = price
        return price

    def all_marks(self) -> dict[int, float]:
        return {con_id: self.mark(con_id) for con_id in self.state.account.positions}

    # ---- routing -------------------------------------------------------------------------

    def audience(self, client_id: int) -> list[ClientSession]:
        """The owner's session and every clientId 0 session (which sees all orders)."""
        out = []
        owner = self.sessions.get(client_id)
        if owner is not None:
            out.append(owner)
        master = self.sessions.get(0)
        if master is not None and client_id != 0:
            out.append(master)
        return out

    def order_changed(self, order: SimOrder) -> None:
        self._dirty = True
        inst = self.instruments[order.con_id]
        for session in self.audience(order.client_id):
            session.send(encode.open_order(order, inst))
            session.send(encode.order_status(order))

    def order_filled(self, order: SimOrder, execution: Execution) -> None:
        self._dirty = True
        inst = self.instruments[order.con_id]
        self.log_event("simgw.execution", exec_id=execution.exec_id, ref=order.order_ref,
                       client_id=order.client_id, perm_id=order.perm_id, symbol=inst.symbol,
                       side=execution.side, shares=execution.shares, price=execution.price,
                       commission=execution.commission)  # fmt: skip
        report = [
            encode.exec_details(-1, inst, execution, self.tz),
            encode.open_order(order, inst),
            encode.order_status(order),
            encode.commission_report(execution, inst.currency),
        ]
        if self.faults.duplicate_exec > 0:
            self.faults.duplicate_exec -= 1
            report.insert(1, report[0])
        for session in self.audience(order.client_id):
            for fields in report:
                self._deliver(session, fields)
        if self._holding_fills:
            self.faults.held_positions.add(order.con_id)  # shown with the burst, not before
            return
        self.push_portfolio(order.con_id)
        self.push_account_values()
        self._account_changed()

    def _account_changed(self) -> None:
        if self.on_account_change is not None:
            self.on_account_change()

    @property
    def _holding_fills(self) -> bool:
        return self.faults.withhold_fills or self.faults.connectivity_lost

    def _deliver(self, session: ClientSession, fields: list[FieldValue]) -> None:
        """Fill reports, held in sequence while fills are withheld (1100, `withhold`)."""
        if self._holding_fills:
            self.faults.withheld.append((session, fields))
        else:
            session.send(fields)

    def release_fills(self) -> int:
        """Deliver withheld fill reports in one burst to sessions still connected."""
        burst, self.faults.withheld = self.faults.withheld, []
        for session, fields in burst:
            session.send(fields)
        held, self.faults.held_positions = self.faults.held_positions, set()
        for con_id in sorted(held):
            self.push_portfolio(con_id)
        if held:
            self.push_account_values()
            self._account_changed()
        return len(burst)

    def order_cancelled(self, order: SimOrder, code: int | None, message: str) -> None:
        self._dirty = True
        inst = self.instruments[order.con_id]
        for session in self.audience(order.client_id):
            session.send(encode.open_order(order, inst))
            session.send(encode.order_status(order))
            if code is not None:
                session.send(encode.error(order.order_id, code, message))

    def push_account_values(self, only: ClientSession | None = None) -> None:
        """Account values to subscribers (updates, multi, and summaries, which TWS also
        refreshes while they stay subscribed)."""
        sessions = [only] if only else [s for s in self.sessions.values() if s.account_updates]
        multi = [] if only else [s for s in self.sessions.values() if s.account_multi]
        for session in [] if only else self.sessions.values():
            for req_id in session.account_summaries:
                self.push_account_summary(session, req_id)
        if not sessions and not multi:
            return
        values = self.account_values()
        for session in sessions:
            for message in self._account_frames.updates(self.account, values):
                session.send_frame(message)
            session.send(encode.account_time(self.now(), self.tz))
        for session in multi:
            for req_id in session.account_multi:
                for message in self._account_frames.multi(self.account, values, req_id):
                    session.send_frame(message)

    def push_account_summary(self, session: ClientSession, req_id: int) -> None:
        """The rows of one account-summary subscription (without its end marker)."""
        for key, value, ccy in self.account_summary(session.account_summaries[req_id]):
            session.send(encode.account_summary(req_id, self.account, key, value, ccy))

    def push_portfolio(self, con_id: int) -> None:
        """Position and portfolio lines after a fill, to sessions that asked for them."""
        pos = self.state.account.positions.get(con_id, Position())
        inst = self.instruments[con_id]
        for session in self.sessions.values():
            if session.positions_updates:
                session.send(encode.position(self.account, inst, pos))
            if session.account_updates:
                session.send(encode.portfolio(self.account, inst, pos, self.mark(con_id), 0.0))

    def valuation(self) -> Valuation:
        """The account marked to the latest prices, futures at their multiplier."""
        multipliers = {
            con_id: self.instruments[con_id].value_multiplier
            for con_id in self.state.account.positions
        }
        return self.state.account.valuation(self.all_marks(), multipliers)

    @property
    def previous_day_equity(self) -> float:
        """Equity with loan value at the last day roll (today's, before any roll)."""
        if self._previous_day_equity is None:
            return self.valuation().net_liquidation
        return self._previous_day_equity

    def account_values(self) -> list[tuple[str, str, str]]:
        """reqAccountUpdates rows (key, value, currency) in IB's tag set."""
        return account_tags.update_rows(self.valuation(), self.previous_day_equity, self.account)

    def account_summary(self, tags: str) -> list[tuple[str, str, str]]:
        """reqAccountSummary rows for a tag list, from the same figures as the updates."""
        return account_tags.summary_rows(self.valuation(), self.previous_day_equity, tags)

    # ---- persistence ---------------------------------------------------------------------

    def persist(self, force: bool = False) -> None:
        if self._state_file is not None and (self._dirty or force):
            save_state(self.state, self._state_file)
            self._dirty = False

    def mark_dirty(self) -> None:
        self._dirty = True

    def log_event(self, event: str, **fields: object) -> None:
        log.info(event, sim_time=self.now(), **fields)
