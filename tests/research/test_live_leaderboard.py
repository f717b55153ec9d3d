"""`leaderboard.json`: the best so far of a running search, written at most once per
interval (by an injected clock) and always at the end; and the hidden `--run-id`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunCli
from tests.research.conftest import Tradd
from tradd.research.leaderboard import LEADERBOARD_FILE, LiveLeaderboard, read_leaderboard


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_board_keeps_the_best_distinct_sets_and_writes_at_most_once_a_second(
    tmp_path: Path,
) -> None:
    clock = Clock()
    board = LiveLeaderboard(tmp_path / "out", "optimize", "sharpe", monotonic=clock)
    board.trial(0, "complete", {"fast": 5}, 0.5)  # the first is written at once
    assert read_leaderboard(tmp_path / "out")["top"][0]["params"] == {"fast": 5}  # type: ignore[index]
    board.trial(1, "complete", {"fast": 10}, 0.9)
    board.trial(2, "complete", {"fast": 10}, 0.7)  # a repeat of a set: counted once, best kept
    board.trial(3, "failed", {"fast": 15}, None)
    board.trial(4, "complete", {"fast": 20}, float("nan"))  # no trades: never ranked
    assert len(read_leaderboard(tmp_path / "out")["top"]) == 1  # type: ignore[index]
    clock.now += 1.0
    board.trial(5, "skipped", {"fast": 25}, None)  # a second later: written
    written = read_leaderboard(tmp_path / "out")
    assert written is not None
    assert [(r["rank"], r["trial"], r["objective"]) for r in written["top"]] == [
        (1, 1, 0.9),
        (2, 0, 0.5),
    ]
    assert written["counts"] == {"complete": 4, "failed": 1, "skipped": 1}
    board.window({"index": 1, "best_params": {"fast": 5}})
    board.window({"index": 0, "best_params": {"fast": 10}})
    board.flush()  # the end: whatever changed is written
    final = json.loads((tmp_path / "out" / LEADERBOARD_FILE).read_text())
    assert [w["index"] for w in final["windows"]] == [0, 1]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [LEADERBOARD_FILE]  # no temporary left


def test_a_bad_run_id_is_refused_before_any_work(run_cli: RunCli, tmp_path: Path) -> None:
    for command in ("optimize", "walkforward"):
        result = run_cli(command, "--strategy", "strategies.sma_cross.SmaCross", "--symbols", "GOOG",
                         "--output", str(tmp_path / command), "--param", "fast=5:10:5",
                         "--run-id", "scan-20260101-abcdef")  # fmt: skip
        assert result.code == 2, result.stderr
        assert "--run-id: 'scan-20260101-abcdef' is not a" in result.stderr
        assert not (tmp_path / command).exists()


def test_a_compare_run_id_must_be_a_compare_ones(tradd: Tradd, tmp_path: Path) -> None:
    """`tradd compare --run-id` (in this process: refused before any work, no fork)."""
    out = tmp_path / "cmp" / "comparison.html"
    code, _, err = tradd("compare", "--strategies", "strategies.sma_cross.SmaCross",
                         "strategies.rsi.RsiReversion", "--symbols", "GOOG", "--output",
                         str(out), "--run-id", "optimize-20260101-abcdef")  # fmt: skip
    assert code == 2, err
    assert "--run-id: 'optimize-20260101-abcdef' is not a compare run id" in err
    assert not out.parent.exists() and not (tmp_path / "state").exists()
