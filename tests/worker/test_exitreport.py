"""The exit report a failing worker leaves for the supervisor's crash alert."""

from __future__ import annotations

import sqlite3

from tradd.errors import ConfigError
from tradd.supervisor.lastwords import exit_report_path, why_it_exited
from tradd.worker.exitreport import ExitReport


def test_the_report_names_the_exception_and_masks_url_passwords(tmp_path) -> None:
    path = exit_report_path(tmp_path / "run" / "s1.sock")
    error = sqlite3.OperationalError("cannot reach postgresql://tradd:hunter2@db:5432/tradd")
    ExitReport.of(error).write(path)
    said = why_it_exited(1, path, None, "")
    assert said == "sqlite3.OperationalError: cannot reach postgresql://tradd:***@db:5432/tradd"
    problems = ConfigError("invalid strategies: 1 problem(s)", ["strategies.s1.params: x = 1"])
    ExitReport.of(problems).write(path)
    assert why_it_exited(78, path, None, "").endswith(": strategies.s1.params: x = 1")


def test_without_a_report_a_signal_or_a_labelled_log_line_stands_in(tmp_path) -> None:
    report = tmp_path / "none.exit.json"
    assert why_it_exited(-9, report, None, "") == "killed by SIGKILL"
    log = tmp_path / "worker-s1.log"
    log.write_text('{"level": "error", "event": "boom", "timestamp": "2026-01-01T00:00:01Z"}\n')
    said = why_it_exited(1, report, log, "2026-01-01T00:00:00")
    assert said == "no exit report; last error it logged: boom"
    report.write_text("not json")
    assert why_it_exited(1, report, None, "") == ""
