"""`tradd backtest` through the CLI's entry point, in this process: the tests are about its
outputs, messages and exit codes, not about a process of its own."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Tradd

STRATEGY = "strategies.sma_cross.SmaCross"


def test_backtest_writes_result_and_chart(tradd: Tradd, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    code, stdout, stderr = tradd(
        "backtest",
        "--strategy",
        STRATEGY,
        "--symbols",
        "GOOG",
        "ORCL",
        "--start",
        "2006-01-01",
        "--end",
        "2010-12-31",
        "--param",
        "fast=10",
        "--param",
        "slow=50",
        "--cash",
        "50000",
        "--output",
        str(out),
        "--data-dir",
        str(data_dir),
    )
    assert code == 0, stderr
    document = json.loads((out / "result.json").read_text())
    assert document["symbols"] == ["GOOG", "ORCL"]
    assert document["params"] == {"fast": 10, "slow": 50, "threshold": 0.0}
    assert document["broker"]["cash"] == 50000
    for key in (
        "total_return",
        "cagr",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "win_rate",
        "total_trades",
        "exposure",
    ):
        assert key in document["metrics"]
    assert document["metrics"]["total_trades"] == len(document["trades"]) > 0
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Sharpe" in stdout


def test_backtest_errors_have_clear_messages_and_exit_codes(
    tradd: Tradd, data_dir: Path, tmp_path: Path
) -> None:
    base = [
        "backtest",
        "--symbols",
        "GOOG",
        "--output",
        str(tmp_path / "x"),
        "--data-dir",
        str(data_dir),
    ]
    cases = [
        (["--strategy", "strategies.nope.Nope"], 2, "module 'strategies.nope' not found"),
        (
            ["--strategy", "strategies.sma_cross.Nope"],
            2,
            "has no 'Nope'; strategies there: SmaCross",
        ),
        (["--strategy", STRATEGY, "--param", "speed=3"], 2, "unknown parameter 'speed'"),
        (["--strategy", STRATEGY, "--param", "fast=50"], 2, "fast must be shorter than slow"),
        (["--strategy", STRATEGY, "--start", "2030-01-01"], 65, "no bars between 2030-01-01"),
        (["--strategy", STRATEGY, "--start", "2020-02-30"], 2, "--start '2020-02-30': not a date"),
        (["--strategy", STRATEGY, "--bar", "1m"], 65, "no 1m data for GOOG"),
    ]
    for extra, expected, message in cases:
        code, _, stderr = tradd(*base, *extra)
        assert code == expected, (extra, stderr)
        assert message in stderr, (extra, stderr)
        assert "Traceback" not in stderr


def test_missing_required_option_is_usage_error(tradd: Tradd) -> None:
    code, _, stderr = tradd("backtest", "--symbols", "GOOG")
    assert code == 2
    assert "--strategy" in stderr
