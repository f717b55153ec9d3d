"""`run_walkforward`, the programmatic entry point: argument checks, outputs, stitching."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from tradd.errors import UsageError
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.progress import Progress
from tradd.research.setup import ResearchInputs
from tradd.research.walkforward.runner import (
    WalkForwardProgress,
    WalkForwardRequest,
    run_walkforward,
)

from ...conftest import SAMPLE_DATA

SMA = "strategies.sma_cross.SmaCross"


def request(output: Path, **changes: object) -> WalkForwardRequest:
    inputs = ResearchInputs(
        SMA, ("ORCL",), date(2005, 1, 1), date(2007, 6, 30), "1d", BrokerConfig(cash=50_000)
    )
    base = WalkForwardRequest(
        inputs=inputs,
        is_months=12,
        oos_months=6,
        mode="rolling",
        method="grid",
        param_args=("fast=10,20", "slow=50,100"),
        params_file=None,
        objective="sharpe",
        output=output,
        workers=2,
        seed=3,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"is_months": 0}, "--is-months 0"),
        ({"oos_months": -1}, "--oos-months -1"),
        ({"mode": "sideways"}, "--mode 'sideways'"),
        ({"method": "random"}, "--method 'random'"),
        ({"objective": "luck"}, "--objective 'luck'"),
        ({"method": "bayesian", "trials": 0}, "--trials 0"),
        ({"workers": 0}, "--workers 0"),
        ({"param_args": ("fast=10",)}, "nothing to optimize"),
        ({"param_args": ("fast=60,70", "slow=20,30")}, "all 4 combinations are invalid"),
        ({"is_months": 30}, "no walk-forward window fits"),
    ],
)
def test_bad_requests_are_usage_errors(
    tmp_path: Path, changes: dict[str, object], needle: str
) -> None:
    with pytest.raises(UsageError, match=needle):
        run_walkforward(request(tmp_path, **changes), DataStore(SAMPLE_DATA), WalkForwardProgress())
    assert not (tmp_path / "walkforward.json").exists()


def test_programmatic_run_reports_progress_and_writes_the_report(tmp_path: Path) -> None:
    reports: list[Progress] = []
    done: list[int] = []
    progress = WalkForwardProgress(
        progress=reports.append,
        window_done=lambda r: done.append(r.window.index),
    )
    result = run_walkforward(request(tmp_path), DataStore(SAMPLE_DATA), progress)
    assert [w.index for w in result.windows] == [0, 1, 2]
    assert [(p.done, p.total) for p in reports] == [(n, 12) for n in range(13)]
    assert sorted(done) == [0, 1, 2]
    assert result.result_path == tmp_path / "walkforward.json"
    assert not result.interrupted
    document = json.loads(result.result_path.read_text())
    assert document["summary"]["windows"] == 3
    assert document["broker"]["cash"] == 50_000
    with (tmp_path / "oos_equity.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(w["oos_bars"] for w in document["windows"])
    assert float(rows[0]["equity"]) == 50_000
    final = float(rows[-1]["equity"])
    assert document["summary"]["oos_total_return"] == pytest.approx((final / 50_000 - 1) * 100)
    # chained: the stitched growth is the product of the windows' growth
    growth = 1.0
    for window in document["windows"]:
        growth *= 1 + window["oos_return"] / 100
    assert final == pytest.approx(50_000 * growth, rel=1e-6)


def test_the_default_range_is_the_days_every_symbol_has() -> None:
    """ORCL from 1995 and GOOG from 2004: without dates, windows start when both trade."""
    from datetime import datetime
    from types import SimpleNamespace

    from tradd.research.walkforward.runner import _date_range

    bars = [SimpleNamespace(first=datetime(1995, 1, 3), last=datetime(2014, 12, 31)),
            SimpleNamespace(first=datetime(2004, 8, 19), last=datetime(2013, 3, 1))]  # fmt: skip
    inputs = replace(request(Path("out")).inputs, start=None, end=None)
    loaded = SimpleNamespace(bars=bars)
    assert _date_range(inputs, loaded) == (date(2004, 8, 19), date(2013, 3, 1))  # type: ignore[arg-type]
    given = replace(inputs, start=date(2006, 1, 1))
    assert _date_range(given, loaded)[0] == date(2006, 1, 1)  # type: ignore[arg-type]
