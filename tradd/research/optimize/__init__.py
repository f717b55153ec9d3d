"""`tradd optimize`: a parameter search (grid or Optuna) over forked worker processes."""
