"""The pre-trade risk gate: every order a strategy sends passes here first.

One object per strategy holds what must outlive a single order: the trading state, why
the strategy is in it, the orders-per-minute window and which equity breaches have
already been reported. Everything else comes in with each call (`Portfolio`, with the
time in it), so the gate is pure bookkeeping: no IB, no clock, no I/O. The live worker
and the backtest broker call the same object, so research shows what live would block.

Order of checks in `check_order` (the first that applies decides):

1. system orders (flatten, risk closes) pass, even when HALTED, reported as SYSTEM;
2. HALTED refuses everything else;
3. exposure-reducing orders pass (in ACTIVE and REDUCING; blocking an exit is the
   dangerous failure) and count toward the order rate;
4. REDUCING refuses the rest;
5. with `enabled = false` the order passes;
6. without account equity (NaN or <= 0 net liquidation), or without gross exposure while
   the leverage rule is on, the order is refused: the rules cannot be evaluated;
7. the rules: equity breaches, order rate, then REDUCE_SIZE rules shrink the order to
   the largest whole-share quantity that fits all of them (below one share: refused), and
   the other quantity rules are checked on that final quantity.

Consequences: BLOCK refuses the order (and for daily loss or drawdown also sets
REDUCING); CLOSE_POSITION refuses it, names the positions to close and sets REDUCING;
ALERT lets it through with the hit reported.

State: a REDUCING entered because of the daily loss ends by itself at `new_day()`, which
the caller invokes at the start of each trading day (an explicit call rather than
guessing a new day from a changed `day_start_equity`, which may legitimately repeat).
Any other REDUCING, and any HALTED, stays until the operator calls `set_state`. A state
the operator set is never lifted by `new_day`, and rules never turn HALTED into REDUCING.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tradd.config.risk import RiskSettings, RuleSettings
from tradd.risk.model import Decision, OrderRequest, Portfolio, Rule, RuleHit, TradingState
from tradd.risk.rules import (
    SIZE_RULES,
    OrderView,
    daily_loss_hit,
    drawdown_hit,
    is_reducing,
    order_rate_hit,
    position_limit_hit,
    whole_shares,
)
from tradd.risk.throttle import OrderRateWindow

EQUITY_RULES = (Rule.MAX_DAILY_LOSS, Rule.MAX_DRAWDOWN)
REFUSING_ACTIONS = ("BLOCK", "CLOSE_POSITION")


class RiskGate:
    """Decides about one strategy's orders; see the module docstring for the semantics."""

    def __init__(
        self, settings: RiskSettings, *, state: TradingState = TradingState.ACTIVE, reason: str = ""
    ) -> None:
        self._settings = settings
        self._state = TradingState(state)
        self._reason = reason
        self._holds: dict[Rule, str] = {}
        """Rules that put the strategy in REDUCING (empty when the operator set the state)."""
        self._reported: set[Rule] = set()
        """Equity breaches already reported; a breach is reported once when it starts."""
        self._window = OrderRateWindow()

    @property
    def settings(self) -> RiskSettings:
        return self._settings

    @property
    def state(self) -> TradingState:
        return self._state

    @property
    def reason(self) -> str:
        """Why the strategy is in its state ("" when ACTIVE from the start)."""
        return self._reason

    def check_order(self, request: OrderRequest, portfolio: Portfolio) -> Decision:
        """Approve, resize or refuse one order; may move the state to REDUCING."""
        if request.system:
            reason = "system order: passes every rule and trading state"
            return self._decision(request, request.quantity, (), (), reason)
        reducing = is_reducing(request, portfolio.position(request.symbol))
        unchecked = reducing or not self._settings.enabled
        refusal = self._state_refusal(reducing)
        if not refusal and not unchecked:
            refusal = self._missing_inputs(portfolio)
        if refusal:
            return self._decision(request, 0.0, (), (), f"refused: {refusal}")
        if unchecked:
            return self._accept(request, portfolio, request.quantity)
        return self._evaluate(request, portfolio)

    def check_portfolio(self, portfolio: Portfolio) -> Decision | None:
        """Equity rules without an order (call on every bar or account update).

        A daily-loss or drawdown breach is reported once, when it starts: ALERT reports
        only, BLOCK also sets REDUCING, CLOSE_POSITION also names every open position to
        close. A drawdown breach re-arms once equity is back within the limit; a daily-loss
        breach is reported at most once a trading day (until `new_day`).
        """
        if not self._settings.enabled or not portfolio.equity_known:
            return None
        fresh: list[RuleHit] = []
        for rule, hit in self._equity_checks(portfolio):
            if hit is None:
                if rule is Rule.MAX_DRAWDOWN:
                    self._reported.discard(rule)
            elif rule not in self._reported:
                self._reported.add(rule)
                fresh.append(hit)
        if not fresh:
            return None
        before = self._state
        closes = self._escalate(fresh, portfolio, None)
        reason = _join(hit.message for hit in fresh) + self._consequences(before, closes)
        return Decision(0.0, 0.0, tuple(fresh), self._state, closes, reason)

    def set_state(self, state: TradingState, reason: str) -> None:
        """The operator's (or reconciliation's) word: HALTED on a mismatch, ACTIVE to resume.

        The state is then the operator's: `new_day` will not lift it. Resuming (ACTIVE)
        also re-arms the equity rules, so a breach that still lasts is reported again.
        """
        self._state = TradingState(state)
        self._reason = reason
        self._holds = {}
        if self._state is TradingState.ACTIVE:
            self._reported.clear()

    def new_day(self) -> None:
        """A new trading day: the daily loss starts over, and a REDUCING it caused ends."""
        self._reported.discard(Rule.MAX_DAILY_LOSS)
        if self._holds.pop(Rule.MAX_DAILY_LOSS, None) is None:
            return
        if self._holds:
            self._reason = self._hold_reason()
        elif self._state is TradingState.REDUCING:
            self._state = TradingState.ACTIVE
            self._reason = "new trading day: the daily loss limit starts over"

    def _evaluate(self, request: OrderRequest, portfolio: Portfolio) -> Decision:
        view = OrderView(request, portfolio, request.quantity)
        hits = self._equity_hits(portfolio)
        rate = order_rate_hit(
            self._settings.max_orders_per_minute, self._window.count(portfolio.now) + 1
        )
        if rate is not None:
            hits.append(rate)
        resize_hits, quantity = self._resize(view)
        hits += resize_hits
        too_small = bool(resize_hits) and quantity < 1
        if not too_small:
            hits += self._quantity_hits(view.at(quantity))
        before = self._state
        closes = self._escalate(hits, portfolio, request.symbol)
        refusing = [hit for hit in hits if hit.action in REFUSING_ACTIONS]
        if refusing or too_small:
            why = [hit.message for hit in refusing]
            if too_small:
                why.append(f"{_join(h.message for h in resize_hits)}: fits less than one share")
            reason = f"refused: {_join(why)}" + self._consequences(before, closes)
            return self._decision(request, 0.0, tuple(hits), closes, reason)
        return self._accept(request, portfolio, quantity, tuple(hits))

    def _accept(
        self,
        request: OrderRequest,
        portfolio: Portfolio,
        quantity: float,
        hits: tuple[RuleHit, ...] = (),
    ) -> Decision:
        self._window.record(portfolio.now)
        reasons = []
        if quantity < request.quantity:
            resizing = _join(hit.message for hit in hits if hit.action == "REDUCE_SIZE")
            reasons.append(f"resized {request.quantity:g} to {quantity:g}: {resizing}")
        alerts = [hit.message for hit in hits if hit.action == "ALERT"]
        if alerts:
            reasons.append(f"alert: {_join(alerts)}")
        return self._decision(request, quantity, hits, (), _join(reasons))

    def _decision(
        self,
        request: OrderRequest,
        approved: float,
        hits: tuple[RuleHit, ...],
        closes: tuple[str, ...],
        reason: str,
    ) -> Decision:
        return Decision(request.quantity, approved, hits, self._state, closes, reason, request)

    def _state_refusal(self, reducing: bool) -> str:
        """Why the trading state refuses the order ("" when it does not)."""
        if self._state is TradingState.HALTED:
            return f"trading is HALTED ({self._reason}): only system orders pass"
        if self._state is TradingState.REDUCING and not reducing:
            return f"trading is REDUCING ({self._reason}): only exposure-reducing orders pass"
        return ""

    def _missing_inputs(self, portfolio: Portfolio) -> str:
        """Why the rules cannot be evaluated ("" when they can)."""
        if not portfolio.equity_known:
            return f"no account equity known yet (net liquidation {portfolio.net_liquidation!r})"
        gross = portfolio.gross_exposure
        if self._settings.max_leverage.limit is not None and not (
            math.isfinite(gross) and gross >= 0
        ):
            return f"no account gross exposure known yet ({gross!r}): leverage cannot be checked"
        return ""

    def _rule(self, rule: Rule) -> RuleSettings:
        settings = getattr(self._settings, rule.key)
        assert isinstance(settings, RuleSettings)
        return settings

    def _equity_checks(self, portfolio: Portfolio) -> tuple[tuple[Rule, RuleHit | None], ...]:
        return (
            (Rule.MAX_DAILY_LOSS, daily_loss_hit(self._settings.max_daily_loss, portfolio)),
            (Rule.MAX_DRAWDOWN, drawdown_hit(self._settings.max_drawdown, portfolio)),
        )

    def _equity_hits(self, portfolio: Portfolio) -> list[RuleHit]:
        """Equity breaches seen by an increasing order: applied to it, and marked reported
        so `check_portfolio` does not act on the same breach again."""
        hits = [hit for _, hit in self._equity_checks(portfolio) if hit is not None]
        self._reported.update(hit.rule for hit in hits)
        return hits

    def _resize(self, view: OrderView) -> tuple[list[RuleHit], float]:
        """REDUCE_SIZE rules exceeded at the requested size, and the largest whole-share
        quantity that fits every one of them (the request's own when none is exceeded)."""
        hits: list[RuleHit] = []
        caps: list[float] = []
        for size_rule in SIZE_RULES:
            settings = self._rule(size_rule.rule)
            if settings.action != "REDUCE_SIZE" or settings.limit is None:
                continue
            hit = size_rule.hit(settings, view)
            if hit is not None:
                hits.append(hit)
                caps.append(size_rule.cap(settings.limit, view))
        if not caps:
            return [], view.quantity
        return hits, min(view.quantity, whole_shares(min(caps)))

    def _quantity_hits(self, view: OrderView) -> list[RuleHit]:
        """The quantity rules that do not resize, checked at the final quantity."""
        hits = []
        for size_rule in SIZE_RULES:
            settings = self._rule(size_rule.rule)
            if settings.action != "REDUCE_SIZE":
                hit = size_rule.hit(settings, view)
                if hit is not None:
                    hits.append(hit)
        limit_hit = position_limit_hit(self._settings.position_limit, view)
        return [*hits, limit_hit] if limit_hit is not None else hits

    def _escalate(
        self, hits: list[RuleHit], portfolio: Portfolio, symbol: str | None
    ) -> tuple[str, ...]:
        """Apply the state consequences of `hits`; return the positions to close.

        CLOSE_POSITION on MAX_POSITION_SIZE closes that symbol (when a position is open);
        on the equity rules and MAX_LEVERAGE it closes all of the strategy's positions.
        """
        closes: list[str] = []
        for hit in hits:
            if hit.action == "CLOSE_POSITION":
                if hit.rule is Rule.MAX_POSITION_SIZE and symbol is not None:
                    targets: tuple[str, ...] = (symbol,) if portfolio.position(symbol) else ()
                else:
                    targets = portfolio.open_symbols()
                closes += [target for target in targets if target not in closes]
                self._hold(hit)
            elif hit.action == "BLOCK" and hit.rule in EQUITY_RULES:
                self._hold(hit)
        return tuple(closes)

    def _hold(self, hit: RuleHit) -> None:
        """Enter (or stay in) a rule-driven REDUCING; an operator's state is left alone."""
        if self._state is TradingState.ACTIVE:
            self._holds = {hit.rule: hit.message}
            self._state = TradingState.REDUCING
        elif self._state is TradingState.REDUCING and self._holds:
            self._holds[hit.rule] = hit.message
        else:
            return
        self._reason = self._hold_reason()

    def _hold_reason(self) -> str:
        return _join(f"{rule}: {message}" for rule, message in self._holds.items())

    def _consequences(self, before: TradingState, closes: tuple[str, ...]) -> str:
        text = f"; closing {', '.join(closes)}" if closes else ""
        if self._state is not before:
            text += f"; trading now {self._state}"
        return text


def _join(parts: Iterable[str]) -> str:
    return "; ".join(parts)
