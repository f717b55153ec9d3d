"""`tradd compare`: several strategies on the same bars, ranked, tested and reported.

- `sources`: `--params-from` files (optimize, walk-forward, backtest results, TOML),
- `runner`: the backtests, one forked worker process per strategy,
- `analysis`: the ranking by Sharpe and the pairwise significance tests,
- `charts`, `html`, `browser`, `report`: the PNGs, the self-contained HTML, the PDF
  printed by headless Chromium, and comparison.json.

`run.run_comparison` ties the first three together; the CLI then calls
`report.write_report`.
"""
