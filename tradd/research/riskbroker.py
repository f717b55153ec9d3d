"""The research broker with the live risk gate in its submit path (`tradd backtest --risk`).

Research should show what live trading would have blocked, so every order a strategy
submits in the backtest asks the same `RiskGate` the live worker asks, with a Portfolio
built from the simulated account: the broker's value as net liquidation, the strategy's
positions (working orders included, so two orders in one bar both count, and an exit
already on its way is not sent twice), the current closes, the value carried into each
calendar day as its starting equity, and the running peak of the value. `now` is the
bar's time read as UTC.

What the gate says is what happens: a refused order is rejected (the strategy's
`notify_order` sees Rejected), a resized one is submitted with the smaller size,
CLOSE_POSITION cancels the symbol's working orders and sends market closes (system
orders, filled at the next bar's open like any order), and `check_portfolio` runs after
every bar. Nobody resumes a backtest: a REDUCING caused by the drawdown rule lasts to the
end of the run, a daily-loss REDUCING ends on the next calendar day.

Every decision that is not a clean approval is recorded for `result.json`. Used only when
`--risk` is given, so plain backtests and optimizations keep the cheaper `RecordingBroker`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import backtrader as bt

from tradd.config.risk import RiskSettings
from tradd.research.broker import RecordingBroker
from tradd.risk import Decision, OrderRequest, Portfolio, RiskGate

SYSTEM_FLAG = "tradd_risk_close"
"""Order info key marking the broker's own risk closes (system orders)."""


class RiskBroker(RecordingBroker):
    """`RecordingBroker` asking a `RiskGate` (built from `risk`) about every order."""

    def __init__(self, risk: RiskSettings) -> None:
        super().__init__()
        self.risk = risk

    def start(self) -> None:
        super().start()
        self.gate = RiskGate(self.risk)
        self.decisions: list[dict[str, Any]] = []
        self.counts = {"blocked": 0, "resized": 0, "alerts": 0, "closes": 0}
        self._owner: Any = None
        """The strategy, known from its first order; before it, equity is only cash."""
        self._day: date | None = None
        self._day_start = float(self.startingcash)
        self._peak = float(self.startingcash)
        self._approved_parents: dict[int, float] = {}
        loss, drawdown = self.risk.max_daily_loss, self.risk.max_drawdown
        self._equity_rules_on = self.risk.enabled and (
            loss.limit is not None or loss.limit_pct is not None or drawdown.limit is not None
        )

    def report(self) -> dict[str, Any]:
        """The `risk` section of result.json."""
        return {
            "enabled": self.risk.enabled,
            "final_state": str(self.gate.state),
            "counts": dict(self.counts),
            "decisions": list(self.decisions),
        }

    def next(self) -> None:
        carried = self.equity[-1] if self.equity else float(self.startingcash)
        exposed = self._exposed()  # before this bar's fills: a fill at the open moves equity
        super().next()
        self._peak = max(self._peak, float(self._value))
        if self._owner is None:
            return
        stamp = self._stamp()
        day = date.fromordinal(int(stamp))  # Backtrader's day numbers are proleptic ordinals
        if day != self._day:
            if self._day is not None:
                self.gate.new_day()
            self._day, self._day_start = day, carried
        if self._equity_rules_on and exposed:
            decision = self.gate.check_portfolio(self._portfolio(_utc(stamp)))
            if decision is not None:
                self._record(decision, _utc(stamp))
                self._close(decision.close_symbols)

    def _exposed(self) -> bool:
        """Whether equity can move in the coming bar: flat with nothing working, the value
        stays cash and `check_portfolio` would answer as at the last bar (so it is not asked)."""
        return bool(self.pending or self.submitted) or any(
            position.size for position in self.positions.values()
        )

    def submit(self, order: Any, check: bool = True) -> Any:
        if order.parent is not None:
            return self._submit_child(order, check)
        if self._owner is None:
            self._owner = order.owner
            self._day = date.fromordinal(int(self._stamp()))
        now = _utc(self._stamp())
        request = OrderRequest(
            order.data._name,
            "BUY" if order.isbuy() else "SELL",
            float(abs(order.size)),
            float(order.created.price),
            system=bool(order.info.get(SYSTEM_FLAG)),
        )
        decision = self.gate.check_order(request, self._portfolio(now))
        self._record(decision, now)
        if decision.blocked:
            order.reject(self)
            self.notify(order)
            self._close(decision.close_symbols)
            return order
        if decision.resized:
            _resize(order, decision.approved_quantity)
        if not order.transmit:  # a bracket parent: its children follow
            self._approved_parents[order.ref] = decision.approved_quantity
        return super().submit(order, check)

    def _submit_child(self, order: Any, check: bool) -> Any:
        """Bracket children (stop-loss, take-profit) follow their parent: rejected with it by
        Backtrader, resized with it here; they are never checked on their own."""
        approved = self._approved_parents.get(order.parent.ref)
        if approved is not None and approved < abs(order.size):
            _resize(order, approved)
        return super().submit(order, check)

    def _stamp(self) -> float:
        """The current bar's time (Backtrader day number): the latest of the strategy's feeds."""
        return float(max(data.datetime[0] for data in self._owner.datas if len(data)))

    def _portfolio(self, now: datetime) -> Portfolio:
        working = self._working_quantities()
        positions: dict[str, float] = {}
        prices: dict[str, float] = {}
        gross = 0.0
        for data in self._owner.datas:
            if not len(data):
                continue
            price = float(data.close[0])
            prices[data._name] = price
            quantity = float(self.positions[data].size) + working.get(data, 0.0)
            if quantity:
                positions[data._name] = quantity
                gross += abs(quantity) * price
        return Portfolio(
            now, float(self._value), positions, prices, gross, self._day_start, self._peak
        )

    def _working_quantities(self) -> dict[Any, float]:
        """Signed quantities of accepted or submitted orders not yet filled (not bracket
        children, which only ever close what their parent opens)."""
        working: dict[Any, float] = {}
        for order in (*self.submitted, *self.pending):
            if order is None or order.parent is not None or not order.alive():
                continue
            working[order.data] = working.get(order.data, 0.0) + float(order.executed.remsize)
        return working

    def _close(self, symbols: tuple[str, ...]) -> None:
        """Cancel the symbols' working orders and send market closes as system orders."""
        for data in self._owner.datas if symbols else ():
            if data._name not in symbols:
                continue
            self._cancel_working(data)
            position = float(self.positions[data].size)
            if position > 0:
                self.sell(self._owner, data, position, **{SYSTEM_FLAG: True})
            elif position < 0:
                self.buy(self._owner, data, -position, **{SYSTEM_FLAG: True})

    def _cancel_working(self, data: Any) -> None:
        for queue in (self.submitted, self.pending):
            for order in [o for o in queue if o is not None and o.data is data and o.alive()]:
                queue.remove(order)
                order.cancel()
                self.notify(order)

    def _record(self, decision: Decision, now: datetime) -> None:
        if decision.clean:
            return
        verdict = decision.verdict
        if verdict == "BLOCKED":
            self.counts["blocked"] += 1
        elif verdict == "RESIZED":
            self.counts["resized"] += 1
        elif verdict == "SYSTEM":
            self.counts["closes"] += 1
        self.counts["alerts"] += len(decision.alerts)
        request = decision.request
        self.decisions.append(
            {
                "time": now.isoformat(),
                "symbol": request.symbol if request else None,
                "side": request.side if request else None,
                "requested": decision.requested_quantity,
                "approved": decision.approved_quantity,
                "price": request.price if request else None,
                "equity": float(self._value),
                "verdict": verdict,
                "rules": [str(hit.rule) for hit in decision.hits],
                "reason": decision.reason,
                "state": str(decision.state),
                "close": list(decision.close_symbols),
            }
        )


def _utc(stamp: float) -> datetime:
    """A Backtrader day number as a datetime, the bar's time read as UTC."""
    moment: datetime = bt.num2date(stamp)
    return moment.replace(tzinfo=UTC)


def _resize(order: Any, quantity: float) -> None:
    """Give a just-created, not yet submitted Backtrader order a new size.

    Backtrader (1.9.78) keeps the size in three places when it builds an order; all three
    are set, with the order's sign (negative for sells).
    """
    signed = quantity if order.isbuy() else -quantity
    order.size = signed
    order.created.size = signed
    order.executed.remsize = signed
