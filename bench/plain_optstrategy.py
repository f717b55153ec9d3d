"""Plain Backtrader baseline: `cerebro.optstrategy(maxcpus=all)` as a user would write it.

PandasData over the same bars, default observers, the same broker settings as tradd
(commission, sizer, cash), and an analyzer that records each combination's final value.
Prints JSON: {"fast,slow": final_value, ...}. Used by bench/optimize_bench.py and tests.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import backtrader as bt
import pandas as pd

from tradd.research.broker import BrokerConfig, configure_broker


class FinalValue(bt.Analyzer):  # type: ignore[misc]
    def stop(self) -> None:
        self.value = self.strategy.broker.getvalue()

    def get_analysis(self) -> Any:
        return self.value


def run(
    csv_path: str,
    strategy_path: str,
    grid: dict[str, list[Any]],
    maxcpus: int,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, float]:
    """Final value per combination, keyed "v1,v2,..." in the grid's parameter order."""
    from tradd.strategy_loader import load_strategy

    frame = pd.read_csv(csv_path, index_col=0, parse_dates=True).loc[start:end]
    cerebro = bt.Cerebro(maxcpus=maxcpus)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    configure_broker(cerebro, BrokerConfig())
    cerebro.addanalyzer(FinalValue, _name="final")
    cerebro.optstrategy(load_strategy(strategy_path), **grid)
    finals: dict[str, float] = {}
    for strategies in cerebro.run():
        for strategy in strategies:
            key = ",".join(str(strategy.params._getkwargs()[name]) for name in grid)
            finals[key] = strategy.analyzers.final.get_analysis()
    return finals


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    result = run(
        spec["csv"],
        spec["strategy"],
        spec["grid"],
        spec.get("maxcpus") or os.cpu_count() or 1,
        spec.get("start"),
        spec.get("end"),
    )
    json.dump(result, sys.stdout)
