"""`tradd scan` and the backtest cache: what hits, what misses, and that a cache that
fails never fails the scan. On SQLite and on PostgreSQL (marked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from .conftest import Tradd

SMA, RSI = "strategies.sma_cross.SmaCross", "strategies.rsi.RsiReversion"
PERIOD = ("--start", "2012-01-01", "--end", "2012-06-30")


@pytest.fixture
def scan(tradd: Tradd, database_url: str, data_dir: Path, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Any:  # fmt: skip
    """`tradd scan` of GOOG and ORCL x SMA and RSI (`*extra` added) on `database_url`:
    (exit code, stdout, stderr, scan.json)."""
    monkeypatch.setenv("TRADD_DATABASE__URL", database_url)
    count = iter(range(1000))

    def run(*extra: str, symbols: str = "GOOG,ORCL") -> tuple[int, str, str, dict[str, Any]]:
        out = tmp_path / f"scan{next(count)}"
        code, stdout, stderr = tradd(
            "scan", "--symbols", symbols, "--strategies", SMA, RSI, *PERIOD, "--workers", "2",
            "--data-dir", str(data_dir), "--output", str(out), *extra,
        )  # fmt: skip
        document = json.loads((out / "scan.json").read_text()) if code == 0 else {}
        return code, stdout, stderr, document

    return run


def fresh(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows apart from `cached`."""
    return [{k: v for k, v in row.items() if k != "cached"} for row in rows]


def cached(document: dict[str, Any]) -> dict[tuple[str, str], bool]:
    return {(r["symbol"], r["strategy"].rsplit(".", 1)[1]): r["cached"] for r in document["rows"]}


def test_a_second_scan_takes_every_backtest_from_the_cache_with_identical_rows(
    scan: Any, tradd: Tradd
) -> None:
    code, stdout, err, first = scan()
    assert code == 0, err
    assert first["cache_hits"] == 0 and "0 of 4 backtests from the cache" in stdout
    code, stdout, err, second = scan()
    assert code == 0, err
    assert second["cache_hits"] == 4 and "4 of 4 backtests from the cache" in stdout
    assert all(r["cached"] for r in second["rows"]) and not any(r["cached"] for r in first["rows"])
    assert all(r["equity"]["dates"] for r in first["rows"])  # a cached row keeps its curve
    assert fresh(second["rows"]) == fresh(first["rows"])
    assert second["best"] == first["best"]
    code, shown, err = tradd("runs", "show", second["run_id"], "--json")
    assert code == 0, err
    run = json.loads(shown)
    assert run["summary"]["cache_hits"] == 4 and run["request"]["cache"] is True


def test_a_changed_data_file_misses_for_its_symbol_only(scan: Any, data_dir: Path) -> None:
    _, _, _, first = scan()
    path = data_dir / "ORCL.1d.csv"
    path.write_text(path.read_text().replace("2012-03-01,26.806342447200805,27.326056337968225,"
                                             "26.651339786791823,27.198408,",
                                             "2012-03-01,26.806342447200805,27.326056337968225,"
                                             "26.651339786791823,27.298408,"))  # fmt: skip
    code, stdout, err, second = scan()
    assert code == 0, err
    assert cached(second) == {("GOOG", "SmaCross"): True, ("GOOG", "RsiReversion"): True,
                              ("ORCL", "SmaCross"): False, ("ORCL", "RsiReversion"): False}  # fmt: skip
    assert second["cache_hits"] == 2 and "2 of 4 backtests from the cache" in stdout
    assert fresh(second["rows"])[:2] == fresh(first["rows"])[:2]
    code, _, err, third = scan()  # the new content's results were stored
    assert code == 0 and third["cache_hits"] == 4, err
    assert fresh(third["rows"]) == fresh(second["rows"])


def test_other_cash_or_position_size_misses_and_no_cache_reads_nothing(scan: Any) -> None:
    one = {"symbols": "GOOG"}
    assert scan(**one)[3]["cache_hits"] == 0
    code, stdout, err, again = scan("--no-cache", **one)
    assert code == 0, err
    assert again["cache_hits"] == 0 and "(--no-cache: not read; results stored)" in stdout
    assert scan("--cash", "50000", **one)[3]["cache_hits"] == 0
    assert scan("--max-position-pct", "20", **one)[3]["cache_hits"] == 0
    assert scan("--cash", "50000", **one)[3]["cache_hits"] == 2
    assert scan(**one)[3]["cache_hits"] == 2


def test_a_broken_cache_table_does_not_fail_the_scan(
    scan: Any, database_url: str, tmp_path: Path
) -> None:
    code, _, err, first = scan()
    assert code == 0, err
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE backtest_cache"))
    engine.dispose()
    code, stdout, err, second = scan()
    assert code == 0, err
    assert second["cache_hits"] == 0 and fresh(second["rows"]) == fresh(first["rows"])
    assert "0 of 4 backtests from the cache" in stdout
    assert "backtest cache unavailable: backtests run without it" in err  # the warning
    logged = [json.loads(line) for line in (tmp_path / "logs" / "cli.log").read_text().splitlines()]
    warnings = [e for e in logged if e["event"].startswith("backtest cache unavailable")]
    assert warnings and warnings[0]["operation"] == "expire"
    assert len(warnings) == 1  # then it rests: one line, not one per backtest


STRATEGY = """
import backtrader as bt

from tradd.strategy import Strategy


class Mine(Strategy):
    params = (("period", PERIOD),)

    def __init__(self):
        super().__init__()
        self.sma = bt.ind.SMA(self.data.close, period=self.p.period)

    def next(self):
        if not self.position and self.data.close[0] > self.sma[0]:
            self.buy()
        elif self.position and self.data.close[0] < self.sma[0]:
            self.close()
"""


def test_a_changed_strategy_source_or_parameter_misses(tmp_path: Path, data_dir: Path) -> None:
    """In processes of their own, as a changed module is only ever imported by a new one."""
    module = tmp_path / "mine.py"
    environment = {**os.environ, "TRADD_STATE_DIR": str(tmp_path / "state"),
                   "TRADD_LOG__DIR": str(tmp_path / "logs"),
                   "TRADD_DATABASE__URL": f"sqlite:///{tmp_path / 'state' / 'tradd.db'}"}  # fmt: skip

    def hits(source: str) -> tuple[int, list[dict[str, Any]]]:
        module.write_text(source)
        out = tmp_path / "out"
        done = subprocess.run(
            [sys.executable, "-m", "tradd", "scan", "--symbols", "GOOG", "--strategies",
             "mine.Mine", *PERIOD, "--data-dir", str(data_dir), "--output", str(out)],
            cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        document = json.loads((out / "scan.json").read_text())
        return document["cache_hits"], fresh(document["rows"])

    assert hits(STRATEGY.replace("PERIOD", "10"))[0] == 0
    hit, rows = hits(STRATEGY.replace("PERIOD", "10"))
    assert hit == 1
    assert hits(STRATEGY.replace("PERIOD", "12"))[0] == 0  # another default parameter
    hit, again = hits(STRATEGY.replace("PERIOD", "10") + "# a comment\n")  # another source
    assert hit == 0 and again == rows
