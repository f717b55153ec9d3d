"""Market data: bar containers, file formats, the data directory and quality checks.

Shared by research (backtests, optimization), the simulator's market replay, the IB
adapter and the live worker (contract definitions).
"""

from tradd.marketdata.bars import Bars, normalize_symbol
from tradd.marketdata.store import DataStore

__all__ = ["Bars", "DataStore", "normalize_symbol"]
