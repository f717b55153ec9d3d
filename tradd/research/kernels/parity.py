"""Is a kernel faithful on this run? Its result against Backtrader's, trade by trade.

A difference beyond `TOLERANCE` (relative) in the final value, the number of trades, any
trade's net P&L or length, or the bars in the market means the kernel does not compute
what the strategy's `next()` does here: the search falls back to Backtrader for all of
it, so a wrong number is never reported.
"""

from __future__ import annotations

from tradd.research.engine import ClosedTrade, RunResult

TOLERANCE = 1e-6


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1.0)


def _ordered(trades: list[ClosedTrade]) -> list[ClosedTrade]:
    """Per symbol in time order (Backtrader lists its trades per data feed)."""
    by_symbol: dict[str, list[ClosedTrade]] = {}
    for trade in trades:
        by_symbol.setdefault(trade.symbol, []).append(trade)
    return [t for symbol in sorted(by_symbol) for t in by_symbol[symbol]]


def mismatch(backtrader: RunResult, kernel: RunResult) -> str | None:
    """What differs (the first difference, in words), or None when they agree."""
    if not _close(backtrader.final_value, kernel.final_value):
        return (f"final value: Backtrader {backtrader.final_value:.6f}, "
                f"kernel {kernel.final_value:.6f}")  # fmt: skip
    if len(backtrader.trades) != len(kernel.trades):
        return f"trades: Backtrader {len(backtrader.trades)}, kernel {len(kernel.trades)}"
    for n, (a, b) in enumerate(
        zip(_ordered(backtrader.trades), _ordered(kernel.trades), strict=True)
    ):
        if a.symbol != b.symbol or a.bars != b.bars or not _close(a.pnl_net, b.pnl_net):
            return (f"trade {n + 1} ({a.symbol}): Backtrader net {a.pnl_net:.6f} over {a.bars} "
                    f"bars, kernel {b.symbol} net {b.pnl_net:.6f} over {b.bars} bars")  # fmt: skip
    if backtrader.bars_in_market != kernel.bars_in_market:
        return (f"bars in the market: Backtrader {backtrader.bars_in_market}, "
                f"kernel {kernel.bars_in_market}")  # fmt: skip
    return None
