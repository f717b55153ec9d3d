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
