"""Progress: done/total after every step, and the time left at the rate so far."""

from __future__ import annotations

from tradd.research.progress import Progress, ProgressCounter


def test_counts_steps_and_estimates_the_time_left() -> None:
    reports: list[Progress] = []
    now = [100.0]
    counter = ProgressCounter(reports.append, clock=lambda: now[0])
    counter.start(4)
    now[0] = 110.0
    counter.advance()
    now[0] = 120.0
    counter.advance(2)
    assert reports == [Progress(0, 4, None), Progress(1, 4, 30.0), Progress(3, 4, 20.0 / 3)]


def test_without_a_total_there_is_no_estimate() -> None:
    reports: list[Progress] = []
    counter = ProgressCounter(reports.append, clock=lambda: 0.0)
    counter.advance()
    assert reports == [Progress(1, None, None)]
