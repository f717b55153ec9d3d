"""Backtrader pieces the live worker and research share.

The live worker (`tradd.worker.app`) and a backtest (`tradd.research.broker`) size orders
and charge US stock commissions with the same classes, so a strategy sized and charged in
research is sized and charged the same way live. They sit below both (see the layers in
docs/architecture.md) and import nothing of tradd.
"""

from tradd.bt.commission import IBCommission
from tradd.bt.sizer import PortfolioPercentSizer

__all__ = ["IBCommission", "PortfolioPercentSizer"]
