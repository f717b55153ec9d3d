"""`tradd drift`: replay a live strategy over the bars it received and explain the gap.

`replay` runs the strategy with its live parameters over the recorded bars through the
backtest broker; `match` pairs its signals and fills with the ledger's; `attribute`
splits the P&L difference by cause; `report` writes drift.json and drift.html; `run`
ties them together for the command (docs/drift.md).
"""
