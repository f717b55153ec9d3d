from __future__ import annotations

from pathlib import Path

from tradd.marketdata.validate import QualityRules, validate_file

from ..conftest import RunCli


def test_every_kind_of_problem_is_found_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "X.1d.csv"
    rows = [f"2020-01-{d:02d},10,11,9,10,100" for d in (2, 3, 6, 7, 8, 9, 10)]
    rows[2] = "2020-01-06,10,9,11,10,100"  # line 4: high < low
    rows[3] = "2020-01-07,10,11,9,0,100"  # line 5: non-positive, close outside
    rows.append("2020-01-10,10,11,9,10,100")  # line 9: duplicate
    rows.append("2020-01-31,10,11,9,10,100")  # line 10: gap of 14 business days
    rows.append("2020-02-03,10,11,9,oops,1")  # line 11: malformed
    path.write_text("datetime,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    report = validate_file(path, "X", "1d", QualityRules(outlier_sigma=8, max_gap_bars=3))
    text = "\n".join(report.errors + report.warnings)
    assert f"{path}:4: high below low" in text
    assert f"{path}:5: non-positive price" in text
    assert f"{path}:5: close outside the high-low range" in text
    assert f"{path}:9: duplicate timestamp 2020-01-10T00:00:00 (first at line 8)" in text
    assert f"{path}:11: close: not a number: 'oops'" in text
    assert f"{path}:10: gap of 14 business day(s)" in report.warnings[0]
    assert not report.ok


def test_outlier_return_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "X.1d.csv"
    closes = [100 + (i % 3) * 0.5 for i in range(60)]
    closes[40] = 50.0  # a 2:1 split left unadjusted
    days = [f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}" for i in range(60)]
    lines = [f"{d},{c},{c},{c},{c},1" for d, c in zip(days, closes, strict=True)]
    path.write_text("datetime,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    report = validate_file(path, "X", "1d", QualityRules(outlier_sigma=5, max_gap_bars=30))
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
    path = tmp_path / "X.1m.csv"
    stamps = [
        "2006-01-02T09:01:00",
        "2006-01-02T09:02:00",
        "2006-01-02T09:10:00",
        "2006-01-03T09:01:00",
    ]  # 7 bars missing before 09:10; overnight is not a gap
    path.write_text(
        "datetime,open,high,low,close,volume\n" + "".join(f"{s},1,1,1,1,1\n" for s in stamps)
    )
    report = validate_file(path, "X", "1m", QualityRules(outlier_sigma=8, max_gap_bars=3))
    assert report.ok
    assert len(report.warnings) == 1
    assert f"{path}:4: gap of 7 1m bar(s)" in report.warnings[0]


def test_structured_log_file_records_the_run(
    run_cli: RunCli, data_dir: Path, tmp_path: Path
) -> None:
    import json

    assert run_cli("data", "validate", "--symbols", "GOOG", "--data-dir", str(data_dir)).code == 0
    lines = (tmp_path / "logs" / "cli.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert any(e["event"] == "data validated" and e["symbol"] == "GOOG" for e in events)
    assert all(e["component"] == "cli" for e in events)
