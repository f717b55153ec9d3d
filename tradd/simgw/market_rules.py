"""IB market rules: the price increments a contract trades in, by rule id.

Contract details advertise a contract's rule ids (``marketRuleIds``) and
``reqMarketRule`` answers with the rule's (low edge, increment) pairs, so both
come from this one table. The ids are IB's where we know them (26: US stocks at
a cent); the others are fixed here and stable across runs.
"""

from __future__ import annotations

RULES: dict[int, tuple[tuple[float, float], ...]] = {
    26: ((0.0, 0.01),),
    239: ((0.0, 0.00005),),
    1001: ((0.0, 0.0001),),
    1002: ((0.0, 0.05),),
    1003: ((0.0, 0.1),),
    1004: ((0.0, 0.25),),
    1005: ((0.0, 0.5),),
    1006: ((0.0, 1.0),),
}


def rule_for_tick(min_tick: float) -> int:
    """The rule whose single increment is ``min_tick`` (US stock cents when none is)."""
    for rule_id, increments in RULES.items():
        if len(increments) == 1 and abs(increments[0][1] - min_tick) < 1e-12:
            return rule_id
    return 26
