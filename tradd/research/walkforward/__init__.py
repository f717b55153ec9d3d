"""Walk-forward analysis (`tradd walkforward`): optimize on in-sample (IS) data, trade the
best parameters on the out-of-sample (OOS) period that follows, step forward, repeat.

Modules: `windows` (calendar arithmetic), `evaluate` (one window: IS search, OOS run with
warm-up), `pool` (windows in parallel processes), `summary` (the statistics below),
`overfit` (DSR and PBO), `report` (files), `runner` (`run_walkforward`, the entry point).

Definitions (Sharpe annualised from daily returns; returns and drawdowns in percent):
- degradation = IS Sharpe - OOS Sharpe, per window; avg_degradation is its mean.
- degradation_pct = (avg_is_sharpe - avg_oos_sharpe) / |avg_is_sharpe| * 100 (0 when
  avg_is_sharpe is 0).
- consistency = share of windows with OOS total return > 0, a fraction 0..1.
- walk_forward_efficiency (Pardo) = mean annualised OOS return / mean annualised IS return
  (annualised = the period's CAGR); None unless the IS mean is positive.
- parameter_stability: per parameter, mean, sample std (ddof=1) and cv = std / |mean|
  (None when the mean is 0; all three None for non-numeric parameters) of the best values
  across windows, and the most common value with the share of windows choosing it.
- The stitched OOS equity chains each window's OOS equity multiplicatively; oos_total_return,
  oos_sharpe and oos_max_drawdown are measured on it.
- overfitting: `oos_psr`, the Probabilistic Sharpe Ratio (against 0) of the stitched OOS
  returns, which were not selected; `is_dsr`, per window the Deflated Sharpe Ratio of the
  chosen IS trial among that window's trials (where the selection happened); `pbo_mean`
  (mean of the windows' CSCV PBOs); plain-language `warnings` (docs/walkforward-statistics.md).

OOS measurement: the OOS run starts at the window's IS start so indicators are warm, but
no order is accepted before the OOS start; the portfolio is flat with the starting cash
there, and metrics cover the OOS bars only.
"""
