"""The simulated broker for research: IB-like commissions, slippage, sizing, equity recording.

`configure_broker` is also what the benchmark and tests apply to a plain Backtrader
Cerebro, so "same broker settings" means literally the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import backtrader as bt

from tradd import commission_rates as rates
from tradd.bt import IBCommission, PortfolioPercentSizer
from tradd.config.settings import BacktestSettings
from tradd.research.costs import CommissionRates, CostScheme, comminfo_for


@dataclass(frozen=True)
class BrokerConfig:
    """Cash, sizing, slippage and the commission rates of every asset class (flat, so the
    config is JSON as it is; `rates` groups the commission ones for `research.costs`)."""

    cash: float = 100_000.0
    per_share: float = 0.005
    minimum: float = 1.0
    max_pct: float = 1.0
    slippage_pct: float = 0.0
    position_pct: float = 95.0
    forex_bps: float = rates.FOREX_BPS
    forex_minimum: float = rates.FOREX_MIN_USD
    futures_per_contract: float | None = None
    futures_minimum: float = 0.0
    crypto_pct: float = rates.CRYPTO_PCT
    crypto_minimum: float = rates.CRYPTO_MIN_USD

    @classmethod
    def from_settings(cls, settings: BacktestSettings) -> BrokerConfig:
        c = settings.commission
        return cls(
            settings.cash,
            c.per_share,
            c.minimum,
            c.max_pct,
            settings.slippage_pct,
            settings.position_pct,
            c.forex.bps,
            c.forex.minimum,
            c.futures.per_contract,
            c.futures.minimum,
            c.crypto.pct,
            c.crypto.minimum,
        )

    @property
    def rates(self) -> CommissionRates:
        return CommissionRates(
            self.per_share,
            self.minimum,
            self.max_pct,
            self.forex_bps,
            self.forex_minimum,
            self.futures_per_contract,
            self.futures_minimum,
            self.crypto_pct,
            self.crypto_minimum,
        )


class RecordingBroker(bt.brokers.BackBroker):  # type: ignore[misc]
    """Backtrader's broker, also keeping the portfolio value after every bar.

    Cheaper than an observer or analyzer (one list append per bar) and changes nothing
    else: the broker computes the value anyway.

    `trade_from` (a Backtrader day number, default None = always) rejects every order
    created on a bar before it: a walk-forward's out-of-sample run feeds earlier bars so
    indicators are warm, yet starts trading, flat and with its starting cash, at the OOS
    start. The strategy sees the rejection in `notify_order`, as with any rejected order.

    An order created on the last bar before `trade_from` would fill at the open of the
    first bar from it; it is rejected too. Accepting it would not be look-ahead (the signal
    uses closed bars only and the fill is at a later price), but rejecting it keeps the
    contract simple and conservative: every fill comes from a decision taken on a bar at
    or after `trade_from`, the portfolio is still flat at the close of the first such bar,
    and nothing decided during the warm-up reaches the measured period. The price: a
    signal standing on the last warm-up bar is acted on one bar later (a level condition
    such as "fast above slow" re-fires) or not at all (a one-bar event such as a cross).
    """

    params = (("trade_from", None),)

    def submit(self, order: Any, check: bool = True) -> Any:
        trade_from = self.p.trade_from
        if trade_from is not None and order.created.dt < trade_from:
            order.reject(self)
            self.notify(order)
            return order
        return super().submit(order, check)

    def start(self) -> None:
        super().start()
        self.equity: list[float] = []

    def next(self) -> None:
        super().next()
        self.equity.append(self._value)


def configure_broker(
    cerebro: bt.Cerebro, config: BrokerConfig, costs: Mapping[str, CostScheme] | None = None
) -> None:
    """`costs`: a commission scheme per data name (symbol), multiplier included
    (`research.costs`); other feeds pay `IBCommission`, the US stock rates."""
    cerebro.broker.setcash(config.cash)
    cerebro.broker.addcommissioninfo(
        IBCommission(per_share=config.per_share, minimum=config.minimum, max_pct=config.max_pct)
    )
    for symbol, scheme in (costs or {}).items():
        cerebro.broker.addcommissioninfo(comminfo_for(scheme), name=symbol)
    if config.slippage_pct:
        cerebro.broker.set_slippage_perc(config.slippage_pct / 100.0)
    cerebro.addsizer(PortfolioPercentSizer, percents=config.position_pct)
