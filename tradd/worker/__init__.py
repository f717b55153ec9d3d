"""The live worker: one process running one strategy on IB (`python -m tradd.worker`)."""
