from __future__ import annotations

from pathlib import Path

from tradd.marketdata.calendars import calendar_for
from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.validate import QualityRules, validate_file

from ..conftest import SAMPLE_DATA, RunCli

EUREX = calendar_for(load_definitions(SAMPLE_DATA).spec("IDXFUT"))


def test_every_kind_of_problem_is_found_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "X.1d.csv"
    rows = [f"2020-01-{d:02d},10,11,9,10,100" for d in (2, 3, 6, 7, 8, 9, 10)]
    rows[2] = "2020-01-06,10,9,11,10,100"  # line 4: high < low
    rows[3] = "2020-01-07,10,11,9,0,100"  # line 5: non-positive, close outside
    rows.append("2020-01-10,10,11,9,10,100")  # line 9: duplicate
    rows.append("2020-01-31,10,11,9,10,100")  # line 10: 13 sessions missing before it
    rows.append("2020-02-03,10,11,9,oops,1")  # line 11: malformed
    path.write_text("datetime,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    report = validate_file(path, "X", "1d", QualityRules(outlier_sigma=8, max_gap_bars=3))
    text = "\n".join(report.errors + report.warnings)
    assert f"{path}:4: high below low" in text
    assert f"{path}:5: non-positive price" in text
    assert f"{path}:5: close outside the high-low range" in text
    assert f"{path}:9: duplicate timestamp 2020-01-10T00:00:00 (first at line 8)" in text
    assert f"{path}:11: close: not a number: 'oops'" in text
    assert (
        "13 of 21 XNYS sessions missing between 2020-01-02 and 2020-01-31 (61.9%): 2020-01-13, "
        "2020-01-14, 2020-01-15, 2020-01-16, 2020-01-17, 2020-01-21," in text
    )  # Martin Luther King day, 2020-01-20, is a holiday
    assert not report.ok


def test_outlier_return_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "X.1d.csv"
    closes = [100 + (i % 3) * 0.5 for i in range(60)]
    closes[40] = 50.0  # a 2:1 split left unadjusted
    days = [f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}" for i in range(60)]
    lines = [f"{d},{c},{c},{c},{c},1" for d, c in zip(days, closes, strict=True)]
    path.write_text("datetime,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    rules = QualityRules(outlier_sigma=5, max_gap_bars=30, missing_sessions_error_pct=100)
    report = validate_file(path, "X", "1d", rules)
    assert report.ok
    assert any(":42: outlier return -50.0%" in w for w in report.warnings)


def test_validate_cli_on_sample_data_and_exit_65(run_cli: RunCli, data_dir: Path) -> None:
    result = run_cli("data", "validate", "--symbols", "GOOG", "ORCL", "--data-dir", str(data_dir))
    assert result.code == 0, result.stderr
    assert "GOOG" in result.stdout and "ORCL" in result.stdout
    broken = data_dir / "BAD.1d.csv"
    broken.write_text("datetime,open,high,low,close,volume\n2020-01-02,1,0.5,2,1,1\n")
    result = run_cli("data", "validate", "--symbols", "BAD", "--data-dir", str(data_dir))
    assert result.code == 65
    assert "BAD.1d.csv:2: high below low" in result.stdout


def test_intraday_gaps_use_the_bar_spacing_and_ignore_overnight(tmp_path: Path) -> None:
    path = tmp_path / "IDXFUT.1m.csv"
    stamps = [
        f"2006-01-0{day}T{m // 60:02d}:{m % 60:02d}:00"
        for day in (2, 3)
        for m in range(9 * 60 + 1, 22 * 60 + 1)  # 09:01 .. 22:00, stamped at the bar's end
        if not (day == 2 and 9 * 60 + 3 <= m <= 9 * 60 + 9)  # 09:03 .. 09:09 missing
    ]
    path.write_text(
        "datetime,open,high,low,close,volume\n" + "".join(f"{s},1,1,1,1,1\n" for s in stamps)
    )
    report = validate_file(
        path, "IDXFUT", "1m", QualityRules(outlier_sigma=8, max_gap_bars=3), EUREX
    )
    assert report.ok
    assert report.warnings == [
        "7 1m bar(s) missing within liquid hours in 1 of 2 session(s) with bars; "
        "worst: 2006-01-02 (7 of 780)",
        f"{path}:4: gap of 7 1m bar(s) in the 2006-01-02 session, 09:03..09:09",
    ]  # line 4 is 09:10; the night between the sessions is no gap
    assert "bar times read as end-stamped (decided from the data)" in report.notes


def test_structured_log_file_records_the_run(
    run_cli: RunCli, data_dir: Path, tmp_path: Path
) -> None:
    import json

    assert run_cli("data", "validate", "--symbols", "GOOG", "--data-dir", str(data_dir)).code == 0
    lines = (tmp_path / "logs" / "cli.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert any(e["event"] == "data validated" and e["symbol"] == "GOOG" for e in events)
    assert all(e["component"] == "cli" for e in events)
