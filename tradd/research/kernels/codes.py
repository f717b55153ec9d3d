"""Numbers the numba loops and their Python callers share, in a module that does not
import numba (so research without a kernel never loads it)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

KIND_PER_UNIT = 0
"""Stock and futures schemes: a rate per share or contract, a minimum, a cap in percent."""
KIND_OF_VALUE = 1
"""Forex and crypto schemes: a fraction of the trade value, a minimum (capped for crypto)."""

OBJECTIVE_CODES = {"sharpe": 0, "returns": 1, "calmar": 2, "composite": 3}
