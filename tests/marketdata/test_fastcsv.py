"""The column-at-a-time reader agrees with the row parser: same bars, same problems, same
errors. A file it cannot read exactly as the row parser would goes to the row parser."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from tradd.errors import DataError
from tradd.marketdata.formats import ParsedFile, parse_file, parse_file_by_rows

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "tradd" / "sample_data").glob("*.csv"))
HEADER = "datetime,open,high,low,close,volume\n"
ROW2 = "2020-01-03,1,2,0.5,1.5,20\n"


def outcome(parse: Any, path: Path, adjust: bool = False) -> tuple[Any, ...]:
    """What a parser gives for a file: the parsed rows and the bars, or the error."""
    try:
        parsed: ParsedFile = parse(path, adjust=adjust)
    except (DataError, csv.Error) as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("parsed", parsed, _bars(parsed))


def _bars(parsed: ParsedFile) -> tuple[Any, ...]:
    try:
        bars = parsed.to_bars("X")
    except DataError as exc:
        return ("error", str(exc))
    arrays = (bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume)
    return (bars.bar, *(a.dtype.str for a in arrays), *(a.tobytes() for a in arrays))


def took_columns(path: Path, adjust: bool = False) -> bool:
    try:
        return parse_file(path, adjust=adjust).columns is not None
    except (DataError, csv.Error):
        return False


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_file_is_read_a_column_at_a_time_with_identical_bars(path: Path) -> None:
    fast = outcome(parse_file, path)
    assert fast == outcome(parse_file_by_rows, path)
    assert fast[0] == "parsed" and fast[1].columns is not None and len(fast[1].rows) > 1000
    assert not fast[1].problems


FAST = {
    "lf": HEADER + "2020-01-02,1,2,0.5,1.5,10\n" + ROW2,
    "no final newline": HEADER + "2020-01-02,1,2,0.5,1.5,10\n" + ROW2.rstrip("\n"),
    "crlf": (HEADER + "2020-01-02,1,2,0.5,1.5,10\n" + ROW2).replace("\n", "\r\n"),
    "crlf and lf mixed": HEADER.replace("\n", "\r\n") + "2020-01-02,1,2,0.5,1.5,10\n" + ROW2,
    "bom": "\ufeff" + HEADER + "2020-01-02,1,2,0.5,1.5,10\n" + ROW2,
    "trailing columns": "Date,Open,High,Low,Close,Adj Close,Volume,Note\n"
    "2020-01-02,1,2,0.5,1.5,1.4,10,x\n2020-01-03,1,2,0.5,1.5,,20,\n",
    "no volume": "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n2020-01-03,1,2,0.5,1.5\n",
    "pandas index": ",Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,10\n"
    "2020-01-03,1,2,0.5,1.5,10\n",
    "columns reordered": "volume,close,low,high,open,datetime\n10,1.5,0.5,2,1,2020-01-02\n"
    "20,1.5,0.5,2,1,2020-01-03\n",
    "negative and odd numbers": HEADER + "2020-01-02,-1.5,1e3,-0.0,1_000,0\n"
    "2020-01-03, 1.5 ,2.,.5,1.25,\t7\n",
    "one row": HEADER + "2020-01-02,1,2,0.5,1.5,10\n",
    "out of order and duplicate": HEADER + "2020-01-03,1,2,0.5,1.5,10\n"
    "2020-01-02,1,2,0.5,1.5,10\n2020-01-02,1,2,0.5,1.5,10\n2020-01-06,1,2,0.5,1.5,10\n",
    "datetime T": HEADER + "2020-01-02T09:30:00,1,2,0.5,1.5,10\n2020-01-02T09:31:00,1,2,1,1,1\n",
    "datetime space": HEADER + "2020-01-02 09:30:00,1,2,0.5,1.5,10\n"
    "2020-01-02 09:31:59,1,2,0.5,1.5,10\n",
    "leap day and old years": HEADER + "2020-02-29,1,2,0.5,1.5,10\n1900-02-28,1,2,0.5,1.5,1\n"
    "0001-01-01,1,2,0.5,1.5,1\n9999-12-31,1,2,0.5,1.5,1\n",
    "end of day": HEADER + "1969-12-31T23:59:59,1,2,0.5,1.5,10\n"
    "1970-01-01T00:00:00,1,2,0.5,1.5,10\n",
    "repeated prices": HEADER
    + "".join(f"2020-01-02T10:{m:02d}:00,3600.0,3601.0,3599.0,3600.0,{m}\n" for m in range(60)),
}

ROW_BY_ROW = {
    "blank line": HEADER + "2020-01-02,1,2,0.5,1.5,10\n\n" + ROW2,
    "whitespace line": HEADER + "2020-01-02,1,2,0.5,1.5,10\n  \t\n" + ROW2,
    "comma-only line": HEADER + "2020-01-02,1,2,0.5,1.5,10\n,,,,,\n" + ROW2,
    "blank lines at the end": HEADER + "2020-01-02,1,2,0.5,1.5,10\n" + ROW2 + "\n\n",
    "lone cr": (HEADER + "2020-01-02,1,2,0.5,1.5,10\n" + ROW2).replace("\n", "\r"),
    "cr inside a line": HEADER + "2020-01-02,1,2\r,0.5,1.5,10\n" + ROW2,
    "quoted": HEADER + '"2020-01-02",1,2,0.5,"1.5",10\n' + ROW2,
    "quoted newline": HEADER + '2020-01-02,1,2,0.5,1.5,"1\n0"\n' + ROW2,
    "too few fields": HEADER + "2020-01-02,1,2,0.5,1.5\n" + ROW2,
    "too many fields": HEADER + "2020-01-02,1,2,0.5,1.5,10,11\n" + ROW2,
    "field counts that even out": HEADER + "2020-01-02,1,2,0.5\n1,1,2020-01-03,2,0.5,1.5,10,11\n",
    "nan": HEADER + "2020-01-02,nan,2,0.5,1.5,10\n" + ROW2,
    "NaN volume": HEADER + "2020-01-02,1,2,0.5,1.5,NaN\n" + ROW2,
    "inf": HEADER + "2020-01-02,1,inf,0.5,1.5,10\n" + ROW2,
    "-Infinity": HEADER + "2020-01-02,1,2,-Infinity,1.5,10\n" + ROW2,
    "overflow": HEADER + "2020-01-02,1,2,0.5,1e999,10\n" + ROW2,
    "empty value": HEADER + "2020-01-02,1,2,,1.5,10\n" + ROW2,
    "not a number": HEADER + "2020-01-02,1,2,0.5,abc,10\n" + ROW2,
    "two bad values in a row": HEADER + "2020-01-02,x,2,0.5,y,10\n" + ROW2,
    "timezone offset": HEADER + "2020-01-02T09:30:00+01:00,1,2,0.5,1.5,10\n"
    "2020-01-02T09:31:00-05:00,1,2,0.5,1.5,10\n",
    "zulu": HEADER + "2020-01-02T09:30:00Z,1,2,0.5,1.5,10\n2020-01-02T09:31:00Z,1,2,1,1,1\n",
    "compact date": HEADER + "20200102,1,2,0.5,1.5,10\n20200103,1,2,0.5,1.5,10\n",
    "no seconds": HEADER + "2020-01-02T09:30,1,2,0.5,1.5,10\n2020-01-02T09:31,1,2,1,1,1\n",
    "fractional seconds": HEADER + "2020-01-02T09:30:00.5,1,2,0.5,1.5,10\n"
    "2020-01-02T09:30:01.0,1,2,1,1,1\n",
    "mixed date shapes": HEADER + "2020-01-02,1,2,0.5,1.5,10\n2020-01-02T09:30:00,1,2,1,1,1\n",
    "padded timestamp": HEADER + " 2020-01-02,1,2,0.5,1.5,10\n" + ROW2,
    "other separator": HEADER + "2020-01-02X09:30:00,1,2,0.5,1.5,10\n"
    "2020-01-02X09:31:00,1,2,0.5,1.5,10\n",
    "slashes": HEADER + "2020/01/02,1,2,0.5,1.5,10\n" + ROW2,
    "month 13": HEADER + "2020-13-02,1,2,0.5,1.5,10\n" + ROW2,
    "month 0": HEADER + "2020-00-02,1,2,0.5,1.5,10\n" + ROW2,
    "day 0": HEADER + "2020-01-00,1,2,0.5,1.5,10\n" + ROW2,
    "february 30": HEADER + "2020-02-30,1,2,0.5,1.5,10\n" + ROW2,
    "no leap day": HEADER + "2021-02-29,1,2,0.5,1.5,10\n" + ROW2,
    "april 31": HEADER + "2021-04-31,1,2,0.5,1.5,10\n" + ROW2,
    "year 0": HEADER + "0000-01-02,1,2,0.5,1.5,10\n" + ROW2,
    "hour 24": HEADER + "2020-01-02T24:00:00,1,2,0.5,1.5,10\n2020-01-02T23:00:00,1,2,1,1,1\n",
    "minute 60": HEADER + "2020-01-02T10:60:00,1,2,0.5,1.5,10\n2020-01-02T10:00:00,1,2,1,1,1\n",
    "second 60": HEADER + "2020-01-02T10:00:60,1,2,0.5,1.5,10\n2020-01-02T10:00:00,1,2,1,1,1\n",
    "non-ascii digits": HEADER + "2020-01-02,\u0661.\u0665,2,0.5,1.5,10\n" + ROW2,
    "nul": HEADER + "2020-01-02,1,2,0.5,1.5,10\x00\n" + ROW2,
    "nul in an ignored column": "Date,Open,High,Low,Close,Volume,Note\n"
    "2020-01-02,1,2,0.5,1.5,10,\x00\n2020-01-03,1,2,0.5,1.5,10,x\n",
    "date and time columns": "Date,Time,Open,High,Low,Close,Volume,OpenInterest\n"
    "2006-01-02,09:01:00,1,2,0.5,1.5,10,0\n2006-01-02,09:02:00,1,2,0.5,1.5,10,0\n",
    "header only": HEADER,
    "header only without newline": HEADER.rstrip("\n"),
    "empty": "",
    "blank first line": "\n" + HEADER + ROW2,
    "unknown header": "Date,Open,Low,Close\n2020-01-01,1,1,1\n",
}


@pytest.mark.parametrize("text", FAST.values(), ids=FAST.keys())
def test_regular_files_are_read_a_column_at_a_time_identically(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(text.encode())
    assert took_columns(path)
    assert outcome(parse_file, path) == outcome(parse_file_by_rows, path)


@pytest.mark.parametrize("text", ROW_BY_ROW.values(), ids=ROW_BY_ROW.keys())
def test_unusual_files_are_read_by_the_row_parser(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(text.encode())
    assert not took_columns(path)
    assert outcome(parse_file, path) == outcome(parse_file_by_rows, path)


def test_adjusting_and_unreadable_files_go_to_the_row_parser(tmp_path: Path) -> None:
    yahoo = tmp_path / "yahoo.csv"
    yahoo.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,12,9,11,5.5,100\n")
    assert outcome(parse_file, yahoo, adjust=True) == outcome(parse_file_by_rows, yahoo, True)
    assert not took_columns(yahoo, adjust=True)
    plain = tmp_path / "plain.csv"
    plain.write_text(HEADER + ROW2)
    assert outcome(parse_file, plain, True) == outcome(parse_file_by_rows, plain, True)
    # A bad byte past the first read-ahead: the header is still checked first.
    late = tmp_path / "late.csv"
    late.write_bytes(b"Date,Open,Low,Close\n" + ROW2.encode() * 2000 + b"\xff\n")
    assert outcome(parse_file, late)[2].startswith(f"{late}:1: unrecognised header")
    assert outcome(parse_file, late) == outcome(parse_file_by_rows, late)
    for bad in (tmp_path / "missing.csv", tmp_path, _binary(tmp_path)):
        assert outcome(parse_file, bad) == outcome(parse_file_by_rows, bad)
        assert outcome(parse_file, bad)[0] == "error"


def test_a_field_longer_than_the_csv_limit_is_the_csv_readers_error(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(HEADER + "2020-01-02,1,2,0.5,1.5," + "0" * csv.field_size_limit() + "1\n")
    assert not took_columns(path)
    assert outcome(parse_file, path)[:2] == ("error", "Error")
    assert outcome(parse_file, path) == outcome(parse_file_by_rows, path)


def test_a_bad_row_anywhere_sends_the_whole_file_to_the_row_parser(tmp_path: Path) -> None:
    sample = next(p for p in SAMPLES if p.name.startswith("IDXFUT.1m"))
    lines = sample.read_text().splitlines(keepends=True)
    lines[20000] = lines[20000].split(",")[0] + ",nan,1,1,1,1\n"
    path = tmp_path / "IDXFUT.1m.csv"
    path.write_text("".join(lines))
    parsed = outcome(parse_file, path)
    assert parsed == outcome(parse_file_by_rows, path)
    assert [p.line for p in parsed[1].problems] == [20001]
    assert parsed[1].lines[19997:20000] == [19999, 20000, 20002]


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x01garbage")
    return path
