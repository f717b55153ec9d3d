"""JSON has no NaN or infinity: the one place that turns them into null.

Metrics divide by zero on purpose (no trades, no volatility) and keep NaN in memory; what is
written (reports, the run store's JSON columns, protocol replies) must still be strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float inside it (mappings, lists, tuples) as None, and
    mapping keys as strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
