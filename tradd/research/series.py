"""The series behind the figures, written as CSV so every metric can be recomputed.

- equity.csv (`time,equity`): the portfolio value after each bar of the measured period,
  the curve drawdown, CAGR and total return are measured on.
- returns.csv (`period_end,return`): exactly the period returns (`metrics.period_returns`)
  Sharpe, Sortino and volatility use: one row per period, stamped with the period's last
  bar; the first return is against the initial cash.

Numbers are written with `repr` (the shortest text that reads back as the same float), so
figures recomputed from the files equal the reported ones, not merely approximately.
docs/research-metrics.md shows how.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tradd.research.metrics import ReturnBasis, period_ends, period_returns

EQUITY_FILE = "equity.csv"
RETURNS_FILE = "returns.csv"


def _stamps(clock: npt.NDArray[np.datetime64]) -> list[str]:
    return [str(t) for t in clock.astype("datetime64[s]")]


def write_equity_csv(
    path: Path, clock: npt.NDArray[np.datetime64], equity: npt.NDArray[np.float64]
) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["time", "equity"])
        for stamp, value in zip(_stamps(clock), equity.tolist(), strict=True):
            writer.writerow([stamp, repr(float(value))])


def period_end_times(
    clock: npt.NDArray[np.datetime64], basis: ReturnBasis
) -> npt.NDArray[np.datetime64]:
    """The last bar of each period: the time each of `period_returns` is stamped with."""
    stamped: npt.NDArray[np.datetime64] = clock[period_ends(clock, basis)]
    return stamped


def write_returns_csv(
    path: Path,
    clock: npt.NDArray[np.datetime64],
    equity: npt.NDArray[np.float64],
    initial_cash: float,
    basis: ReturnBasis,
) -> None:
    returns = period_returns(equity, clock, initial_cash, basis)
    write_returns_table(path, period_end_times(clock, basis), {"return": returns})


def write_returns_table(
    path: Path,
    ends: npt.NDArray[np.datetime64],
    columns: Mapping[str, npt.NDArray[np.float64]],
) -> None:
    """`period_end` and one column of returns per name (all on the same periods)."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["period_end", *columns])
        values = [c.tolist() for c in columns.values()]
        for i, stamp in enumerate(_stamps(ends)):
            writer.writerow([stamp, *(repr(float(v[i])) for v in values)])
