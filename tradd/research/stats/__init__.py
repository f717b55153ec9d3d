"""Statistics on backtest results: overfitting (Deflated Sharpe Ratio, Probability of
Backtest Overfitting) and the significance of differences between strategies."""
