"""The summary keys the issue asks of walkforward.json (plus the ones tradd adds)."""

SUMMARY_KEYS = (
    "avg_is_sharpe",
    "avg_oos_sharpe",
    "avg_degradation",
    "degradation_pct",
    "consistency",
    "parameter_stability",
    "walk_forward_efficiency",
    "windows",
    "oos_total_return",
    "oos_sharpe",
    "overfitting",
)

OVERFITTING_KEYS = (
    "oos_psr",  # the PSR (against Sharpe 0) of the stitched OOS returns
    "is_dsr",  # per window, the DSR of the best IS trial among the window's trials
    "pbo_mean",
    "pbo_windows",
    "warnings",
    "notes",
)
