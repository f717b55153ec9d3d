"""Missing sessions and bars found with the exchange calendar (`tradd data validate`)."""

from __future__ import annotations

import json
import random
import shutil
from datetime import date
from pathlib import Path

import pytest

from tradd.errors import UsageError
from tradd.marketdata.calendars import calendar_for
from tradd.marketdata.contracts import default_spec, load_definitions
from tradd.marketdata.gaps import session_gaps
from tradd.marketdata.store import DataStore
from tradd.marketdata.validate import QualityRules, validate_file
from tradd.research.broker import BrokerConfig
from tradd.research.setup import ResearchInputs
from tradd.research.walkforward.runner import (
    WalkForwardProgress,
    WalkForwardRequest,
    run_walkforward,
)

from ..conftest import SAMPLE_DATA, RunCli

HEADER = "datetime,open,high,low,close,volume\n"


def holed_copy(source: Path, target: Path, share: float, seed: int) -> list[str]:
    """Copy a daily file without a random `share` of its rows (never the first or last);
    the removed dates, in order."""
    header, *rows = source.read_text().splitlines()
    rng = random.Random(seed)
    removed = set(rng.sample(range(1, len(rows) - 1), round(share * len(rows))))
    target.write_text(
        "\n".join([header, *(r for i, r in enumerate(rows) if i not in removed)]) + "\n"
    )
    return [rows[i].split(",")[0] for i in sorted(removed)]


def test_validate_flags_exactly_the_removed_sessions(run_cli: RunCli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE_DATA / "GOOG.1d.csv", data / "GOOG.1d.csv")
    removed = holed_copy(SAMPLE_DATA / "GOOG.1d.csv", data / "HOLED.1d.csv", 0.10, seed=17)
    args = ("data", "validate", "--symbols", "GOOG,HOLED", "--data-dir", str(data))
    result = run_cli(*args, "--json")
    assert result.code == 65, result.stderr  # 10% missing: more than the default 5%
    assert "data problems in HOLED" in result.stderr
    original, holed = json.loads(result.stdout)
    assert original["ok"]
    # whatever the vendor file already lacks, plus exactly the rows removed
    already = set(original["sessions"]["dates"])
    assert holed["sessions"]["dates"] == sorted(already | set(removed))
    assert holed["sessions"]["count"] == len(already) + len(removed) == 215
    assert holed["sessions"]["expected"] == original["sessions"]["expected"]
    assert holed["sessions"]["non_session_days"] == original["sessions"]["non_session_days"]
    # the table, piped as here, is whole: rich would cut it to 80 columns ("2004-08…")
    table = run_cli(*args, env={"COLUMNS": ""}).stdout
    (row,) = [line for line in table.splitlines() if line.startswith("│ HOLED")]
    assert "2004-08-19" in row and "215 of 2148" in row, table
    assert any("215 of 2148 XNYS sessions missing" in e for e in holed["errors"])

    # a looser error threshold: the same finding is a warning, the run succeeds
    text = run_cli(*args, env={"TRADD_DATA__MISSING_SESSIONS_ERROR_PCT": "20"})
    assert text.code == 0, text.stderr
    line = next(x for x in text.stdout.splitlines() if "sessions missing" in x)
    assert line.startswith("warning HOLED: 215 of 2148 XNYS sessions missing between ")
    assert f": {', '.join(removed[:20])} ... and 195 more" in line


def test_thresholds_decide_warning_or_error(tmp_path: Path) -> None:
    path = tmp_path / "X.1d.csv"
    days = calendar_for(default_spec("X")).session_dates(date(2020, 1, 2), date(2020, 3, 31))
    gone = {days[10], days[30]}  # 2 of 62 sessions: 3.2%
    path.write_text(HEADER + "".join(f"{d},1,1,1,1,1\n" for d in days if d not in gone))

    def findings(**rules: float) -> tuple[list[str], list[str]]:
        report = validate_file(path, "X", "1d", QualityRules(**rules))  # type: ignore[arg-type]
        return report.errors, report.warnings

    message = (
        "2 of 62 XNYS sessions missing between 2020-01-02 and 2020-03-31 (3.2%): "
        "2020-01-16, 2020-02-14"
    )
    assert findings() == ([], [message])  # default: any missing session warns
    assert findings(missing_sessions_warn=2) == ([], [])
    errors, warnings = findings(missing_sessions_error_pct=3.0)
    assert errors == [f"{message} (more than data.missing_sessions_error_pct, 3%)"]
    assert warnings == []


def test_bars_on_closed_days_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "X.1d.csv"
    # 2012-10-29/30: the NYSE closed for Hurricane Sandy; a bar on a Saturday
    days = ["2012-10-25", "2012-10-26", "2012-10-27", "2012-10-29", "2012-10-31"]
    path.write_text(HEADER + "".join(f"{d},1,1,1,1,1\n" for d in days))
    report = validate_file(path, "X", "1d", QualityRules())
    assert report.ok and report.sessions is not None
    assert report.sessions.missing == ()
    assert report.warnings == ["2 bar date(s) on non-trading days of XNYS: 2012-10-27, 2012-10-29"]


def test_intraday_block_and_whole_session_missing(tmp_path: Path) -> None:
    header, *rows = (SAMPLE_DATA / "IDXFUT.1m.csv").read_text().splitlines()
    block = {f"2006-01-10T{h:02d}:{m:02d}:00" for h in (14, 15) for m in range(60)}  # 120 bars
    kept = [r for r in rows if r[:19] not in block and not r.startswith("2006-01-19")]
    path = tmp_path / "IDXFUT.1m.csv"
    path.write_text("\n".join([header, *kept]) + "\n")
    calendar = calendar_for(load_definitions(SAMPLE_DATA).spec("IDXFUT"))
    rules = QualityRules(max_gap_bars=3)
    before = validate_file(SAMPLE_DATA / "IDXFUT.1m.csv", "IDXFUT", "1m", rules, calendar)
    after = validate_file(path, "IDXFUT", "1m", rules, calendar)
    assert before.sessions is not None and after.sessions is not None
    assert before.sessions.missing == ()
    assert after.sessions.missing == (date(2006, 1, 19),)
    assert any("1 of 41 XEUR sessions missing" in w for w in after.warnings)
    assert before.intraday is not None and after.intraday is not None
    assert after.intraday.stamping == "end"  # 09:01 .. 22:00
    had = before.intraday.per_session.get(date(2006, 1, 10), 0)
    assert after.intraday.per_session[date(2006, 1, 10)] == had + 120
    assert date(2006, 1, 19) not in after.intraday.per_session
    runs = [r for r in after.intraday.runs if r.session == date(2006, 1, 10) and r.count >= 120]
    assert [
        (r.first_missing.time().isoformat(), r.last_missing.time().isoformat()) for r in runs
    ] == [("14:00:00", "15:59:00")]
    assert any("in the 2006-01-10 session, 14:00..15:59" in w for w in after.warnings)


def test_start_stamped_bars_and_half_days(tmp_path: Path) -> None:
    """A bar at the opening time means start-stamped; the day after Thanksgiving closes at
    13:00 by the NYSE calendar, so a session ending then lacks nothing."""
    path = tmp_path / "X.30m.csv"
    stamps = [
        f"2012-11-21T{9 + (30 + 30 * i) // 60:02d}:{(30 + 30 * i) % 60:02d}" for i in range(13)
    ]
    stamps += [
        f"2012-11-23T{9 + (30 + 30 * i) // 60:02d}:{(30 + 30 * i) % 60:02d}" for i in range(7)
    ]
    path.write_text(HEADER + "".join(f"{s},1,1,1,1,1\n" for s in stamps))
    report = validate_file(path, "X", "30m", QualityRules(max_gap_bars=0))
    assert report.intraday is not None
    assert report.intraday.stamping == "start"
    assert report.intraday.expected == {date(2012, 11, 21): 13, date(2012, 11, 23): 7}
    assert report.intraday.per_session == {}
    assert report.warnings == []


def test_data_before_a_calendars_first_date_is_said_not_crashed() -> None:
    calendar = calendar_for(default_spec("X").model_copy(update={"calendar": "XBOM"}))
    gaps = session_gaps([date(1995, 1, 2), date(1997, 3, 3)], calendar)
    assert gaps.first == date(1997, 1, 8)
    assert gaps.notes == (
        "sessions before 1997-01-08 not checked: the XBOM calendar starts at 1997-01-01",
    )
    assert gaps.expected > 30


def test_backtest_warns_and_records_missing_sessions(run_cli: RunCli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    removed = holed_copy(SAMPLE_DATA / "GOOG.1d.csv", data / "GOOG.1d.csv", 0.10, seed=17)
    out = tmp_path / "bt"
    result = run_cli(
        "backtest", "--strategy", "strategies.sma_cross.SmaCross", "--symbols", "GOOG",
        "--start", "2010-01-01", "--output", str(out), "--data-dir", str(data),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    in_run = [d for d in removed if d >= "2010-01-01"]
    gaps = json.loads((out / "result.json").read_text())["data_gaps"]["GOOG"]
    assert gaps["dates"] == in_run and gaps["count"] == len(in_run)
    assert (
        f"warning: GOOG: {len(in_run)} of {gaps['expected']:,} XNYS sessions missing between "
        f"{gaps['first']} and 2013-03-01; first: {in_run[0]}; run `tradd data validate`"
    ) in result.stderr


def test_walkforward_notices_missing_sessions(tmp_path: Path) -> None:
    """The notice comes as soon as the data is loaded, before any window is planned (so a
    request no window fits, quick to run, shows it too)."""
    data = tmp_path / "data"
    data.mkdir()
    removed = holed_copy(SAMPLE_DATA / "ORCL.1d.csv", data / "ORCL.1d.csv", 0.02, seed=5)
    in_run = [d for d in removed if "2005-01-01" <= d <= "2006-06-30"]
    inputs = ResearchInputs(
        "strategies.sma_cross.SmaCross", ("ORCL",), date(2005, 1, 1), date(2006, 6, 30), "1d",
        BrokerConfig(),
    )  # fmt: skip
    request = WalkForwardRequest(
        inputs=inputs, is_months=24, oos_months=6, mode="rolling", method="grid",
        param_args=("fast=10", "slow=50,60"), params_file=None, objective="sharpe",
        output=tmp_path / "wf", workers=1, seed=1,
    )  # fmt: skip
    notices: list[str] = []
    with pytest.raises(UsageError, match="no walk-forward window fits"):
        run_walkforward(request, DataStore(data), WalkForwardProgress(notice=notices.append))
    assert len(notices) == 1
    assert notices[0] == (
        f"warning: ORCL: {len(in_run)} of 377 XNYS sessions missing between 2005-01-03 and "
        f"2006-06-30; first: {in_run[0]}; run `tradd data validate`"
    )


def test_optimize_and_walkforward_warn_and_record_missing_sessions(
    run_cli: RunCli, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    removed = holed_copy(SAMPLE_DATA / "ORCL.1d.csv", data / "ORCL.1d.csv", 0.02, seed=5)
    in_run = [d for d in removed if "2005-01-01" <= d <= "2007-12-31"]
    common = ("--strategy", "strategies.sma_cross.SmaCross", "--symbols", "ORCL",
              "--start", "2005-01-01", "--end", "2007-12-31", "--param", "fast=10",
              "--param", "slow=50,60", "--data-dir", str(data))  # fmt: skip
    line = f"warning: ORCL: {len(in_run)} of "
    optimized = run_cli("optimize", *common, "--workers", "1", "--output", str(tmp_path / "o"))
    assert optimized.code == 0, optimized.stderr
    assert line in optimized.stderr and f"first: {in_run[0]}" in optimized.stderr
    gaps = json.loads((tmp_path / "o" / "optimization.json").read_text())["data_gaps"]
    assert gaps["ORCL"]["dates"] == in_run
    walked = run_cli("walkforward", *common, "--is-months", "12", "--oos-months", "12",
                     "--workers", "1", "--output", str(tmp_path / "wf"))  # fmt: skip
    assert walked.code == 0, walked.stderr
    assert line in " ".join((walked.stdout + walked.stderr).split())
    document = json.loads((tmp_path / "wf" / "walkforward.json").read_text())
    assert document["data_gaps"]["ORCL"]["dates"] == in_run
