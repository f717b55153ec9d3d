from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from tradd.errors import DataError, UsageError
from tradd.marketdata.bars import Bars
from tradd.marketdata.store import DataStore

from ..conftest import RunCli

HEADER = "Date,Open,High,Low,Close,Volume\n"


def source(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def test_import_then_incremental_update(tmp_path: Path) -> None:
    store = DataStore(tmp_path / "data")
    first = source(tmp_path, "a.csv", ["2020-01-02,1,2,0.5,1.5,10", "2020-01-03,1,2,0.5,1.6,10"])
    result = store.import_file(first, "spy")
    assert (result.symbol, result.bar, result.rows_added, result.total) == ("SPY", "1d", 2, 2)
    update = source(tmp_path, "b.csv", ["2020-01-03,1,2,0.5,1.7,10", "2020-01-06,1,2,0.5,1.8,10"])
    result = store.import_file(update, "SPY")
    assert (result.rows_added, result.rows_replaced, result.total) == (1, 1, 3)
    bars = store.load("SPY", "1d")
    assert bars.close.tolist() == [1.5, 1.7, 1.8]


def test_load_clips_dates_and_explains_missing_data(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    store.import_file(
        source(tmp_path, "a.csv", ["2020-01-02,1,2,0.5,1.5,10", "2020-01-03,1,2,0.5,1.6,10"]), "SPY"
    )
    assert len(store.load("SPY", "1d", date(2020, 1, 3), None)) == 1
    with pytest.raises(
        DataError,
        match="no bars between 2021-01-01 and end; the data covers 2020-01-02 .. 2020-01-03",
    ):
        store.load("SPY", "1d", date(2021, 1, 1), None)
    with pytest.raises(DataError, match=r"no 1d data for QQQ .*have SPY.1d"):
        store.load("QQQ", "1d")


def test_duplicates_refuse_to_load(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    path = source(tmp_path, "a.csv", ["2020-01-02,1,2,0.5,1.5,10", "2020-01-02,1,2,0.5,1.5,10"])
    with pytest.raises(DataError, match="1 duplicate timestamp"):
        store.import_file(path, "SPY")


def test_bad_symbol_and_bar(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid symbol"):
        DataStore(tmp_path).path_for("../etc", "1d")
    with pytest.raises(UsageError, match="unknown bar size '2d'"):
        DataStore(tmp_path).path_for("SPY", "2d")


def test_import_cli(run_cli: RunCli, tmp_path: Path) -> None:
    path = source(tmp_path, "a.csv", ["2020-01-02,1,2,0.5,1.5,10"])
    result = run_cli(
        "data", "import", str(path), "--symbol", "xyz", "--data-dir", str(tmp_path / "d")
    )
    assert result.code == 0, result.stderr
    assert "XYZ 1d: read 1 rows" in result.stdout
    assert (tmp_path / "d" / "XYZ.1d.csv").is_file()
    bad = source(tmp_path, "bad.csv", ["2020-01-02,1,2,0.5,oops,10"])
    result = run_cli(
        "data", "import", str(bad), "--symbol", "xyz", "--data-dir", str(tmp_path / "d")
    )
    assert result.code == 65
    assert "bad.csv:2: close: not a number: 'oops'" in result.stderr


def bars(days: list[str], closes: list[float]) -> Bars:
    n = len(days)
    ones = np.ones(n)
    return Bars("X", "1d", np.array(days, dtype="datetime64[s]"), ones, ones * 2,
                ones * 0.5, np.array(closes), ones * 10)  # fmt: skip


def test_merge_adds_replaces_and_keeps_rows_like_import(tmp_path: Path) -> None:
    store = DataStore(tmp_path / "data")
    assert store.span("SPY", "1d") is None
    first = store.merge("spy", "1d", bars(["2020-01-06", "2020-01-02", "2020-01-03"], [3, 1, 2]))
    assert (first.symbol, first.rows_added, first.rows_replaced, first.total) == ("SPY", 3, 0, 3)
    result = store.merge("SPY", "1d", bars(["2020-01-07", "2020-01-03"], [4, 2.5]))
    assert (result.rows_read, result.rows_added, result.rows_replaced, result.total) == (2, 1, 1, 4)
    loaded = store.load("SPY", "1d")
    assert loaded.close.tolist() == [1, 2.5, 3, 4]
    assert store.span("SPY", "1d") == (datetime(2020, 1, 2), datetime(2020, 1, 7))
    assert result.path.read_text().splitlines()[1] == "2020-01-02,1.0,2.0,0.5,1.0,10.0"
    assert not list((tmp_path / "data").glob("*.tmp"))  # written through a replaced temp file


def test_merge_refuses_duplicates_empty_input_and_a_malformed_target(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    with pytest.raises(DataError, match="1 duplicate timestamp"):
        store.merge("SPY", "1d", bars(["2020-01-02", "2020-01-02"], [1, 2]))
    with pytest.raises(DataError, match="SPY 1d: no bars to merge"):
        store.merge("SPY", "1d", bars([], []))
    target = tmp_path / "SPY.1d.csv"
    target.write_text("datetime,open,high,low,close,volume\n2020-01-02,1,2,0.5,oops,10\n")
    with pytest.raises(DataError, match="close: not a number"):
        store.merge("SPY", "1d", bars(["2020-01-03"], [1]))
    assert "oops" in target.read_text()  # the existing file is never overwritten
