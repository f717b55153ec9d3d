"""Walk-forward window arithmetic: calendar months, month ends, the last partial window."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from tradd.errors import UsageError
from tradd.research.walkforward.windows import Window, add_months, plan_windows


def spans(windows: tuple[Window, ...]) -> list[tuple[str, str, str, str]]:
    return [(str(w.is_start), str(w.is_end), str(w.oos_start), str(w.oos_end)) for w in windows]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2021, 1, 31), 1, date(2021, 2, 28)),
        (date(2020, 1, 31), 1, date(2020, 2, 29)),  # leap year
        (date(2020, 2, 29), 12, date(2021, 2, 28)),
        (date(2020, 2, 29), 48, date(2024, 2, 29)),
        (date(2021, 1, 31), 2, date(2021, 3, 31)),  # from the anchor, not chained via Feb 28
        (date(2020, 12, 15), 1, date(2021, 1, 15)),
        (date(2021, 3, 31), -1, date(2021, 2, 28)),
        (date(2021, 5, 10), 0, date(2021, 5, 10)),
    ],
)
def test_add_months_clamps_to_the_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_rolling_windows_step_by_the_oos_length() -> None:
    windows = plan_windows(date(2020, 1, 1), date(2024, 12, 31), 12, 6, "rolling")
    assert len(windows) == 8
    assert spans(windows)[:2] == [
        ("2020-01-01", "2020-12-31", "2021-01-01", "2021-06-30"),
        ("2020-07-01", "2021-06-30", "2021-07-01", "2021-12-31"),
    ]
    assert spans(windows)[-1] == ("2023-07-01", "2024-06-30", "2024-07-01", "2024-12-31")
    assert [w.index for w in windows] == list(range(8))
    assert not any(w.truncated for w in windows)


def test_anchored_windows_keep_the_start_and_grow() -> None:
    windows = plan_windows(date(2020, 1, 1), date(2022, 12, 31), 12, 6, "anchored")
    assert spans(windows) == [
        ("2020-01-01", "2020-12-31", "2021-01-01", "2021-06-30"),
        ("2020-01-01", "2021-06-30", "2021-07-01", "2021-12-31"),
        ("2020-01-01", "2021-12-31", "2022-01-01", "2022-06-30"),
        ("2020-01-01", "2022-06-30", "2022-07-01", "2022-12-31"),
    ]


def test_month_end_start_uses_month_ends_without_gaps() -> None:
    windows = plan_windows(date(2021, 1, 31), date(2021, 5, 31), 1, 1, "rolling")
    assert spans(windows) == [
        ("2021-01-31", "2021-02-27", "2021-02-28", "2021-03-30"),
        ("2021-02-28", "2021-03-30", "2021-03-31", "2021-04-29"),
        ("2021-03-31", "2021-04-29", "2021-04-30", "2021-05-30"),
    ]


def test_leap_day_boundaries() -> None:
    windows = plan_windows(date(2020, 1, 31), date(2020, 4, 30), 1, 1, "rolling")
    assert spans(windows)[0] == ("2020-01-31", "2020-02-28", "2020-02-29", "2020-03-30")


@pytest.mark.parametrize("mode", ["rolling", "anchored"])
@pytest.mark.parametrize("start", [date(2019, 1, 31), date(2019, 8, 30), date(2020, 2, 29)])
def test_oos_periods_tile_the_time_after_the_first_is(mode: str, start: date) -> None:
    windows = plan_windows(start, date(2024, 3, 15), 7, 5, mode)  # type: ignore[arg-type]
    assert windows[0].is_start == start
    for w in windows:
        assert w.is_start <= w.is_end < w.oos_start <= w.oos_end
        assert w.oos_start - w.is_end == timedelta(days=1)
    for before, after in itertools.pairwise(windows):
        assert after.oos_start - before.oos_end == timedelta(days=1)
    assert windows[-1].oos_end <= date(2024, 3, 15)


def test_last_partial_window_is_kept_when_at_least_half_long() -> None:
    # window 1's OOS would run 2021-07-01..12-31 (184 days); to 10-15 is 107 days
    windows = plan_windows(date(2020, 1, 1), date(2021, 10, 15), 12, 6, "rolling")
    assert len(windows) == 2
    assert windows[1].oos_start == date(2021, 7, 1)
    assert windows[1].oos_end == date(2021, 10, 15)
    assert windows[1].truncated and not windows[0].truncated


def test_last_partial_window_is_dropped_when_shorter_than_half() -> None:
    windows = plan_windows(date(2020, 1, 1), date(2021, 8, 15), 12, 6, "rolling")  # 46 days
    assert len(windows) == 1
    assert windows[0].oos_end == date(2021, 6, 30)


def test_half_oos_boundary_is_inclusive() -> None:
    # the OOS 2021-01-01..06-30 has 181 days; 91 (to 04-01) is enough, 90 is not
    assert len(plan_windows(date(2020, 1, 1), date(2021, 4, 1), 12, 6, "rolling")) == 1
    with pytest.raises(UsageError, match="--end on or after 2021-04-01"):
        plan_windows(date(2020, 1, 1), date(2021, 3, 31), 12, 6, "rolling")


def test_no_window_names_the_options() -> None:
    with pytest.raises(UsageError) as caught:
        plan_windows(date(2020, 1, 1), date(2020, 10, 1), 12, 6, "rolling")
    message = str(caught.value)
    for part in ("--start 2020-01-01", "--end 2020-10-01", "--is-months 12", "--oos-months 6"):
        assert part in message


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((0, 6, "rolling"), "--is-months 0"),
        ((12, 0, "rolling"), "--oos-months 0"),
        ((12, 6, "sideways"), "--mode 'sideways'"),
    ],
)
def test_bad_arguments(args: tuple[int, int, str], needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        plan_windows(date(2020, 1, 1), date(2024, 1, 1), *args)  # type: ignore[arg-type]


def test_start_after_end() -> None:
    with pytest.raises(UsageError, match="--start 2024-01-02 is after --end 2024-01-01"):
        plan_windows(date(2024, 1, 2), date(2024, 1, 1), 1, 1, "rolling")
