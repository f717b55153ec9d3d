"""Pre-trade risk: the gate every order passes, in live trading and in backtests.

`RiskGate` (tradd.risk.gate) decides; the types it speaks (tradd.risk.model) are the
contract with its callers; each rule is a small function in tradd.risk.rules.
"""

from tradd.config.risk import RuleAction
from tradd.risk.gate import RiskGate
from tradd.risk.model import (
    Decision,
    OrderRequest,
    Portfolio,
    Rule,
    RuleHit,
    Side,
    TradingState,
    Verdict,
    describe,
)

__all__ = [
    "Decision",
    "OrderRequest",
    "Portfolio",
    "RiskGate",
    "Rule",
    "RuleAction",
    "RuleHit",
    "Side",
    "TradingState",
    "Verdict",
    "describe",
]
