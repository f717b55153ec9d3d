"""Bar sizes from the spacing of a file's bars: intraday, daily, weekly, monthly; an
irregular spacing refused (exit 65) unless `--bar` says what it is."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import backtrader as bt
import numpy as np
import pytest

from tradd.errors import DataError
from tradd.marketdata.bars import infer_bar
from tradd.marketdata.store import DataStore
from tradd.marketdata.validate import QualityRules, validate_file
from tradd.research.feed import make_feed

from ..conftest import SAMPLE_DATA, RunCli

HEADER = "datetime,open,high,low,close,volume\n"


def write(path: Path, days: list[date]) -> Path:
    path.write_text(HEADER + "".join(f"{d},10,11,9,10,100\n" for d in days))
    return path


def stamps(days: list[date]) -> np.ndarray:
    return np.array(days, dtype="datetime64[s]")


def fridays(n: int) -> list[date]:
    days = [date(2020, 1, 3) + timedelta(weeks=i) for i in range(n)]
    days[5] -= timedelta(days=1)  # Good Friday 2020-04-10: the week's bar on Thursday
    return days


def month_ends(n: int) -> list[date]:
    """The last weekday of each month from January 2015."""
    out = []
    for i in range(n):
        first_of_next = date(2015 + (i + 1) // 12, (i + 1) % 12 + 1, 1)
        day = first_of_next - timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        out.append(day)
    return out


def test_weekly_and_monthly_files_are_stored_as_1w_and_1mo(tmp_path: Path) -> None:
    store = DataStore(tmp_path / "data")
    weekly = store.import_file(write(tmp_path / "w.csv", fridays(60)), "SPY")
    monthly = store.import_file(write(tmp_path / "m.csv", month_ends(40)), "SPY")
    assert (weekly.bar, weekly.path.name) == ("1w", "SPY.1w.csv")
    assert (monthly.bar, monthly.path.name) == ("1mo", "SPY.1mo.csv")
    assert len(store.load("SPY", "1mo")) == 40
    report = validate_file(weekly.path, "SPY", "1w", QualityRules())
    assert report.ok and report.sessions is None
    assert report.notes == ["1w bars: no session check (a bar spans several sessions)"]


def test_daily_intraday_and_first_of_month_spacings() -> None:
    weekdays = [d for d in (date(2020, 1, 1) + timedelta(i) for i in range(90)) if d.weekday() < 5]
    assert infer_bar(stamps(weekdays)) == "1d"
    assert infer_bar(stamps(weekdays[3:5])) == "1d"  # Friday to Monday: one session apart
    assert infer_bar(stamps([date(2020, 1, 1) + timedelta(i) for i in range(60)])) == "1d"
    firsts = [date(2010 + i // 12, i % 12 + 1, 1) for i in range(36)]
    assert infer_bar(stamps(firsts)) == "1mo"
    minutes = np.datetime64("2006-01-02T09:05") + np.arange(100) * np.timedelta64(5, "m")
    assert infer_bar(minutes.astype("datetime64[s]")) == "5m"


@pytest.mark.parametrize(
    ("spacing", "seen"),
    [
        (np.timedelta64(3, "D"), "the most common gap is 3 day(s) (39 of 39 gaps)"),
        (np.timedelta64(2, "m"), "the most common gap is 2 minute(s) (39 of 39 gaps)"),
        (np.timedelta64(91, "D"), "the most common gap is 91 day(s) (39 of 39 gaps)"),
    ],
)
def test_a_spacing_that_fits_no_bar_size_is_refused(spacing: np.timedelta64, seen: str) -> None:
    times = (np.datetime64("2020-01-01T00:00") + np.arange(40) * spacing).astype("datetime64[s]")
    with pytest.raises(DataError, match=r"^x\.csv: the spacing of the bars fits no bar size") as e:
        infer_bar(times, "x.csv")
    assert seen in str(e.value)


def test_import_refuses_an_irregular_file_and_bar_overrides(
    run_cli: RunCli, tmp_path: Path
) -> None:
    source = write(tmp_path / "odd.csv", [date(2020, 1, 1) + timedelta(3 * i) for i in range(30)])
    data = tmp_path / "data"
    result = run_cli("data", "import", str(source), "--symbol", "ODD", "--data-dir", str(data))
    assert result.code == 65
    assert f"{source}: the spacing of the bars fits no bar size: the most common gap is " in (
        result.stderr
    )
    assert "3 day(s) (29 of 29 gaps)" in result.stderr and "--bar" in result.stderr
    assert not (data / "ODD.1d.csv").exists()
    forced = run_cli("data", "import", str(source), "--symbol", "ODD", "--bar", "1w",
                     "--data-dir", str(data))  # fmt: skip
    assert forced.code == 0, forced.stderr
    assert (data / "ODD.1w.csv").is_file()


def test_feeds_carry_backtraders_time_frame() -> None:
    bars = DataStore(SAMPLE_DATA).load("IDXFUT", "5m")
    daily = DataStore(SAMPLE_DATA).load("GOOG", "1d")
    expected = {
        "1mo": (bt.TimeFrame.Months, 1),
        "1w": (bt.TimeFrame.Weeks, 1),
        "1d": (bt.TimeFrame.Days, 1),
    }
    for bar, frame in expected.items():
        feed = make_feed(replace(daily, bar=bar))
        assert (feed.p.timeframe, feed.p.compression) == frame, bar
    feed = make_feed(bars)
    assert (feed.p.timeframe, feed.p.compression) == (bt.TimeFrame.Minutes, 5)
