"""Windows in worker processes: same answers as in-process, clean stops, failures reported."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date

import backtrader as bt
import pytest

from strategies.sma_cross import SmaCross
from tradd.research.walkforward.evaluate import run_window
from tradd.research.walkforward.pool import PoolCallbacks, run_windows
from tradd.research.walkforward.windows import plan_windows

from .test_evaluate import Exploding, plan

WINDOWS = plan_windows(date(2005, 1, 1), date(2006, 12, 31), 12, 6, "rolling")


def quiet(trials: list[int] | None = None) -> PoolCallbacks:
    return PoolCallbacks(
        trial=(trials.append if trials is not None else lambda _: None),
        window=lambda _: None,
        notice=lambda _: None,
    )


def test_parallel_windows_equal_in_process_ones() -> None:
    trials: list[int] = []
    outcome = run_windows(plan(), WINDOWS, 2, quiet(trials))
    assert not outcome.errors and not outcome.interrupted
    assert sorted(outcome.results) == [0, 1]
    assert sorted(trials) == [0] * 4 + [1] * 4
    for window in WINDOWS:
        here = run_window(plan(), window, lambda: None, lambda: False)
        there = outcome.results[window.index]
        assert there.best_params == here.best_params
        assert there.oos_equity.tolist() == here.oos_equity.tolist()
    assert not multiprocessing.active_children()


def test_a_failing_window_is_reported() -> None:
    outcome = run_windows(plan(Exploding), WINDOWS, 2, quiet())
    assert outcome.errors
    assert all("StrategyError: window" in e and "boom" in e for e in outcome.errors)
    assert not outcome.results
    assert not multiprocessing.active_children()


def test_first_ctrl_c_inside_a_callback_is_still_the_gentle_stop() -> None:
    notices: list[str] = []
    calls: list[int] = []

    def first_raises(window: int) -> None:
        calls.append(window)
        if len(calls) == 1:
            raise KeyboardInterrupt

    callbacks = PoolCallbacks(trial=first_raises, window=lambda _: None, notice=notices.append)
    outcome = run_windows(plan(), WINDOWS, 2, callbacks)
    assert outcome.interrupted and not outcome.errors
    assert notices and "stopping after the current trials" in notices[0]
    assert not multiprocessing.active_children()


def test_second_ctrl_c_kills_the_workers() -> None:
    def interrupt(_: object) -> None:
        raise KeyboardInterrupt

    # the first Ctrl-C lands in a trial callback; the second one while telling the user
    callbacks = PoolCallbacks(trial=interrupt, window=lambda _: None, notice=interrupt)
    outcome = run_windows(plan(), WINDOWS, 2, callbacks)
    assert outcome.interrupted
    assert len(outcome.results) < len(WINDOWS)
    assert not multiprocessing.active_children()


def test_a_failing_callback_propagates_and_leaves_no_worker_running() -> None:
    def broken(_window: int) -> None:
        raise RuntimeError("progress store went away")

    callbacks = PoolCallbacks(trial=broken, window=lambda _: None, notice=lambda _: None)
    with pytest.raises(RuntimeError, match="progress store went away"):
        run_windows(plan(), WINDOWS, 2, callbacks)
    assert not multiprocessing.active_children()


class DiesInFirstWindow(SmaCross):
    """The worker running window 0 (the only one whose data starts in January 2005) dies
    as if killed; every other window runs normally."""

    def next(self) -> None:
        if bt.num2date(self.data.datetime.array[0]).date() < date(2005, 2, 1):
            os._exit(7)
        super().next()


def test_a_dead_worker_fails_the_run_at_once_and_the_others_are_killed() -> None:
    windows = plan_windows(date(2005, 1, 1), date(2007, 12, 31), 12, 6, "rolling")
    assert len(windows) == 4
    outcome = run_windows(plan(DiesInFirstWindow), windows, 2, quiet())
    assert len(outcome.errors) == 1  # whichever worker took window 0
    assert outcome.errors[0] == "window 0: worker process died (exit code 7)"
    # noticed while the other worker was still reporting trials, not after it ran out of
    # windows (all three healthy windows finished first, once)
    assert len(outcome.results) < 3
    assert not multiprocessing.active_children()
