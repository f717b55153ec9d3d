"""Schedules through the real daemon (`tradd run`): `tradctl schedules list|run` over the
control socket, the job seen by `tradd runs`, its report emailed (the HTML report
attached) through a real SMTP server, and a job that outlives a daemon restart reported
exactly once by the daemon started after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually
from tests.fixtures.web import Console, open_console, write_console_config
from tradd.control.tradctl import main as tradctl_main

SCAN = ["--symbols", "ORCL", "--strategies", "strategies.sma_cross.SmaCross",
        "--start", "2011-01-03", "--end", "2011-06-30", "--workers", "1"]  # fmt: skip


def document_for(tmp_path, sqlite_url: str, smtp) -> tuple[dict[str, Any], dict[str, str]]:
    import tomllib

    config = write_console_config(tmp_path, sqlite_url)
    document: dict[str, Any] = tomllib.loads(config.read_text())
    document.pop("web")
    document["supervisor"] = {"heartbeat_interval": 0.2, "stop_timeout": 15.0}
    document["metrics"] = {"enabled": False}
    document["alerts"] = {
        "dedup_window": 300, "retry_initial": 0.1, "retry_max": 0.5,
        "summary": {"enabled": False},
        "email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "security": "none",
                  "username": smtp.username, "recipients": ["ops@example.com"], "timeout": 5},
    }  # fmt: skip
    document["schedules"] = [
        {"name": "nightly", "kind": "scan", "args": SCAN, "owner": "alice",
         "cron": "30 17 * * 1-5", "timezone": "America/New_York"},
        {"name": "closing", "kind": "scan", "args": SCAN, "at": "after_close",
         "calendar": "XNYS", "enabled": False},
    ]  # fmt: skip
    return document, {"TRADD_ALERTS__EMAIL__PASSWORD": smtp.password}


def tradctl(daemon, capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = tradctl_main(["--socket", str(daemon.socket), *args])
    return code, capsys.readouterr().out


def test_tradctl_schedules_list_and_run_email_the_report_across_a_restart(
    tmp_path, sqlite_url, start_daemon, smtp_server, capsys
) -> None:
    document, env = document_for(tmp_path, sqlite_url, smtp_server)
    daemon = start_daemon(document, env=env)
    started = eventually(lambda: daemon.call("schedules", action="list")["ok"], 30)
    assert started
    listed = daemon.result("schedules", action="list")["schedules"]
    assert [(s["name"], s["kind"], s["enabled"], s["last"]) for s in listed] == [
        ("nightly", "scan", True, None), ("closing", "scan", False, None)]  # fmt: skip
    assert listed[0]["when"] == "cron 30 17 * * 1-5 (America/New_York)"
    assert listed[0]["next_due"] is not None and listed[1]["next_due"] is None
    code, out = tradctl(daemon, capsys, "schedules", "list")
    assert code == 0 and "nightly" in out and "disabled" in out and "NEXT RUN" in out

    code, out = tradctl(daemon, capsys, "schedules", "run", "nightly")
    assert code == 0 and out.startswith("schedule nightly: started job scan-")
    job_id = out.split()[-1]
    [mail] = smtp_server.wait_for(1, 90)
    assert "schedule complete" in mail.subject and job_id in mail.subject
    assert "top picks: ORCL SmaCross" in mail.subject
    [report] = list(mail.message.iter_attachments())
    assert report.get_content_type() == "text/html" and "ORCL" in report.get_content()
    listed = daemon.result("schedules", action="list")["schedules"]
    assert listed[0]["last"]["job_id"] == job_id and listed[0]["last"]["manual"]
    assert listed[0]["last"]["state"] == "complete"
    runs = subprocess.run([sys.executable, "-m", "tradd", "runs", "show", job_id, "--config",
                           str(daemon.config)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, check=False)  # fmt: skip
    assert runs.returncode == 0 and "complete" in runs.stdout, runs.stderr

    code, out = tradctl(daemon, capsys, "schedules", "run", "nope")
    assert code == 1
    console = open_console(tmp_path / "console", sqlite_url, control={"socket": str(daemon.socket)},
                           state_dir=str(tmp_path / "state"))  # fmt: skip
    try:
        seen_by_console(console, job_id)
    finally:
        console.close()

    # A job started just before the daemon stops is reported by the next one, once.
    code, out = tradctl(daemon, capsys, "schedules", "run", "nightly")
    second = out.split()[-1]
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.proc.wait(60)
    restarted = start_daemon(document, env=env)
    mails = eventually(lambda: [m for m in smtp_server.messages if second in m.subject], 90)
    assert len(mails) == 1
    listed = restarted.result("schedules", action="list")["schedules"]
    assert listed[0]["last"]["job_id"] == second and listed[0]["last"]["state"] == "complete"
    assert len(smtp_server.messages) == 2


def seen_by_console(console: Console, job_id: str) -> None:
    """The console lists the schedules (asking the daemon) and shows the scheduled job in
    its owner's history, with the report among its files."""
    listed = console.client("victor").get("/api/v1/schedules")
    assert listed.status_code == 200, listed.text
    [nightly, closing] = listed.json()["schedules"]
    assert nightly["last"]["job_id"] == job_id and closing["next_due"] is None
    history = console.client("alice").get("/api/v1/optimizer/history").json()
    [job] = [j for j in history["jobs"] if j["job_id"] == job_id]
    assert job["owner"] == "alice" and job["status"] == "completed"
    alice = console.client("alice")
    assert alice.get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed"
    results = alice.get(f"/api/v1/optimizer/results/{job_id}").json()["results"]
    assert results[0]["symbol"] == "ORCL"
    page = console.client("alice").get("/jobs")
    assert page.status_code == 200 and "schedules-table" in page.text
