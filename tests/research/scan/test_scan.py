"""A scan end to end in this process: every (symbol, strategy) row, failures recorded,
the same numbers a single backtest gives, JSON and CSV on disk."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import numpy as np

from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine
from tradd.research.metrics import compute_metrics
from tradd.research.scan.plan import ScanRequest
from tradd.research.scan.rows import JSON_ROW_KEYS, ROW_KEYS
from tradd.research.scan.runner import build_plan, run_scan, write_outputs
from tradd.research.scoring import composite_score
from tradd.strategy_loader import load_strategy, param_defaults

STRATEGIES = ("strategies.sma_cross.SmaCross", "strategies.rsi.RsiReversion")
BROKER = BrokerConfig(cash=100_000.0, position_pct=10.0)


def request(tmp_path: Path, symbols: tuple[str, ...], **changes: object) -> ScanRequest:
    base: dict[str, object] = {
        "symbols": symbols, "strategies": STRATEGIES, "start": date(2012, 1, 1),
        "end": date(2012, 12, 31), "bar": "1d", "broker": BROKER, "output": tmp_path / "scan",
    }  # fmt: skip
    base.update(changes)
    return ScanRequest(**base)  # type: ignore[arg-type]


def test_every_symbol_and_strategy_is_a_row_and_a_missing_symbol_fails_alone(
    tmp_path: Path, data_dir: Path
) -> None:
    plan = build_plan(request(tmp_path, ("GOOG", "orcl", "NOPE")), DataStore(data_dir))
    seen: list[tuple[str, str]] = []
    result = run_scan(plan, workers=2, on_row=lambda r: seen.append((r.symbol, r.strategy)))
    assert len(seen) == plan.total == 6
    json_path, csv_path = write_outputs(result, "scan-20261202-abcdef", tmp_path / "scan")
    document = json.loads(json_path.read_text())
    assert document["run_id"] == "scan-20261202-abcdef"
    assert document["period"] == {"start": "2012-01-01", "end": "2012-12-31"}
    rows = document["rows"]
    assert [(r["symbol"], r["strategy"]) for r in rows] == [
        (s, p) for s in ("GOOG", "ORCL", "NOPE") for p in STRATEGIES
    ]
    assert all(tuple(r) == JSON_ROW_KEYS for r in rows)  # ROW_KEYS and the equity curve
    for row in rows[:4]:
        assert row["error"] is None and row["rank"] in (1, 2)
        expected = composite_score(row["total_return"], row["sharpe"], row["max_drawdown"],
                                   row["win_rate"], row["total_trades"])  # fmt: skip
        assert row["composite_score"] == expected
    for row in rows[4:]:
        assert row["rank"] is None and row["composite_score"] is None and row["equity"] is None
        assert "no 1d data for NOPE" in row["error"]
    for symbol in ("GOOG", "ORCL"):
        mine = [r for r in rows if r["symbol"] == symbol]
        top = max(mine, key=lambda r: r["composite_score"])
        assert top["rank"] == 1 and document["best"][symbol] == top["strategy"]
    assert document["best"]["NOPE"] is None
    with csv_path.open() as handle:
        table = list(csv.DictReader(handle))
    assert [tuple(r) for r in table] == [ROW_KEYS] * 6
    assert [r["strategy"] for r in table] == [r["strategy"] for r in rows]
    summary = result.summary()
    assert summary["counts"] == {"rows": 6, "complete": 4, "failed": 2, "symbols": 3,
                                 "strategies": 2}  # fmt: skip
    assert summary["best"]["NOPE"] is None
    assert summary["best"]["GOOG"]["strategy"] == document["best"]["GOOG"]
    top = next(r for r in rows if r["symbol"] == "GOOG" and r["rank"] == 1)
    metrics = ("composite_score", "total_return", "sharpe", "max_drawdown", "win_rate",
               "total_trades")  # fmt: skip
    assert {k: summary["best"]["GOOG"][k] for k in metrics} == {k: top[k] for k in metrics}
    assert summary["best"]["GOOG"]["params"] == {} and summary["bar"] == "1d"  # the setup


def test_a_row_has_the_numbers_of_a_plain_backtest_with_default_params(
    tmp_path: Path, data_dir: Path
) -> None:
    store = DataStore(data_dir)
    plan = build_plan(request(tmp_path, ("ORCL",), strategies=STRATEGIES[:1]), store)
    (row,) = run_scan(plan, workers=1).rows
    cls = load_strategy(STRATEGIES[0])
    # Warmed up on the bars before the start: a run over all the data up to the end,
    # trading and measured from the start (exact for SmaCross's simple averages).
    bars = store.load("ORCL", "1d", None, date(2012, 12, 31))
    start = datetime(2012, 1, 1)
    engine = BacktestEngine(cls, [bars], BROKER, trade_from=start)
    result = engine.run(param_defaults(cls))
    first = int(np.searchsorted(engine.clock, np.datetime64(start)))
    m = compute_metrics(result.equity[first:], engine.clock[first:], result.trades,
                        initial_cash=BROKER.cash,
                        bars_in_market=result.bars_in_market)  # fmt: skip
    assert m.total_trades > 0
    assert (row.total_return, row.sharpe, row.max_drawdown, row.win_rate, row.total_trades) == (
        m.total_return, m.sharpe, m.max_drawdown, m.win_rate, m.total_trades,
    )  # fmt: skip
    assert row.rank == 1
    assert (row.warmup_bars, row.warmup_enough) == (29, True)  # SMA(30): 29 bars before
    curve = row.equity  # the daily equity the metrics were measured on, in cents
    assert curve is not None and len(curve.dates) == len(engine.clock) - first
    assert curve.dates[0] == "2012-01-03" and curve.dates[-1] == "2012-12-31"
    assert list(curve.values) == [round(v, 2) for v in result.equity[first:]]


def test_default_period_scans_the_last_365_days_of_data(tmp_path: Path, data_dir: Path) -> None:
    plan = build_plan(
        request(tmp_path, ("ORCL", "NVDA"), start=None, end=None, strategies=STRATEGIES[:1]),
        DataStore(data_dir),
    )
    assert (plan.period.start, plan.period.end) == (date(2014, 1, 1), date(2014, 12, 31))
    result = run_scan(plan, workers=2)
    assert [r.error for r in result.rows] == [None, None]


def test_a_worker_that_dies_fails_its_rows_and_a_new_worker_scans_the_rest(
    tmp_path: Path, data_dir: Path
) -> None:
    strategies = ("tests.research.scan.strategies.KillsItsProcessOnGoog", STRATEGIES[0])
    plan = build_plan(
        request(tmp_path, ("GOOG", "ORCL", "NVDA"), strategies=strategies), DataStore(data_dir)
    )
    result = run_scan(plan, workers=1)  # one worker: ORCL and NVDA need its replacement
    assert [(r.symbol, r.error) for r in result.rows] == [
        ("GOOG", "worker process died (exit code 9)"),
        ("GOOG", "worker process died (exit code 9)"),
        *[(s, None) for s in ("ORCL", "ORCL", "NVDA", "NVDA")],
    ]
