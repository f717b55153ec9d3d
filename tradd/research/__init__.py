"""Research: backtests, optimization, walk-forward, comparison and scans, run as short-lived
commands beside the daemon (docs/research.md). They share the data directory, the contract
definitions and the run store with it, and the Backtrader pieces of `tradd.bt` with the
live worker, never the worker itself."""
