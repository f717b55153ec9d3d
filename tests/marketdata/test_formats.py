from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradd.errors import DataError
from tradd.marketdata.formats import parse_file, require_clean


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yahoo_layout_with_adjustment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-02,10,12,9,11,5.5,100\n2020-01-03,11,13,10,12,6,200\n",
    )
    parsed = parse_file(path)
    assert parsed.layout == "yahoo" and parsed.rows[0] == (10, 12, 9, 11, 100)
    adjusted = parse_file(path, adjust=True)
    assert adjusted.rows[0] == pytest.approx((5, 6, 4.5, 5.5, 200))


def test_backtrader_generic_intraday(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Date,Time,Open,High,Low,Close,Volume,OpenInterest\n"
        "2006-01-02,09:01:00,1,2,0.5,1.5,10,0\n"
        "2006-01-02,09:02:00,1,2,0.5,1.5,10,0\n",
    )
    parsed = parse_file(path)
    bars = parsed.to_bars("X")
    assert parsed.layout == "backtrader" and bars.bar == "1m"
    assert str(bars.time[1]) == "2006-01-02T09:02:00"


def test_pandas_index_layout(tmp_path: Path) -> None:
    path = write(tmp_path, ",Open,High,Low,Close,Volume\n2004-08-19,100,104,95,100,22351900\n")
    assert parse_file(path).layout == "pandas-index"


def test_malformed_rows_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Date,Open,High,Low,Close,Volume\n"
        "2020-01-02,1,2,0.5,1.5,10\n"
        "2020-01-03,1,null,0.5,1.5,10\n"
        "2020-13-04,1,2,0.5,1.5,10\n"
        "2020-01-05,1,2,0.5\n",
    )
    parsed = parse_file(path)
    assert [p.line for p in parsed.problems] == [3, 4, 5]
    assert "high: not a number: 'null'" in str(parsed.problems[0])
    assert "not a valid timestamp: '2020-13-04'" in str(parsed.problems[1])
    assert "expected 6 fields as in the header, found 4" in str(parsed.problems[2])
    assert len(parsed.rows) == 1  # the good row is kept, the bad ones are not hidden
    with pytest.raises(DataError, match=r"bars.csv:3"):
        require_clean(parsed)


def test_unknown_header_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"bars.csv:1: unrecognised header .*missing high"):
        parse_file(write(tmp_path, "Date,Open,Low,Close\n2020-01-01,1,1,1\n"))


def test_empty_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty file"):
        parse_file(write(tmp_path, ""))
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(DataError, match="not a text file"):
        parse_file(binary)


def test_to_bars_infers_daily(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "datetime,open,high,low,close,volume\n2020-01-02,1,2,0.5,1.5,10\n"
        "2020-01-03,1,2,0.5,1.5,10\n",
    )
    bars = parse_file(path).to_bars("ABC")
    assert parse_file(path).layout == "tradd"
    assert bars.bar == "1d" and np.allclose(bars.close, [1.5, 1.5])
