"""A drift schedule end to end: the daemon's scheduler (injected clock) runs `tradd drift`
for a live strategy as a job over the bars its worker recorded, the run is a `drift` run
under the job's id, the result is stored for the summary and the alert, and the report
that goes out by email is the command's own self-contained `drift.html`."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import ROOT
from tests.fixtures.database import OpenedDatabase
from tests.fixtures.simulator import eventually
from tests.fixtures.web import write_console_config
from tradd.alerts.model import AlertEvent
from tradd.config.loader import load_settings
from tradd.persistence.drift_results import DriftResults
from tradd.persistence.live_bars import LiveBar, LiveBars, LiveSession
from tradd.research.runs.store import RunStore
from tradd.supervisor.schedules.scheduler import Scheduler

SMA = "strategies.sma_cross.SmaCross"
OPEN = datetime(2026, 12, 4, 14, 30, tzinfo=UTC)  # Friday 09:30 New York


def record_a_session(database: OpenedDatabase) -> None:
    """What a worker on `sma` leaves behind: its session and 120 one-minute bars of a
    swinging price, so the fast and slow averages cross several times."""
    store = LiveBars(database.sessions)
    session = store.start_session(LiveSession(
        "sma", OPEN - timedelta(minutes=1), SMA, {"fast": 3, "slow": 8, "threshold": 0.0},
        ("GOOG",), 60, 5.0, {},
    ))  # fmt: skip
    bars = []
    for minute in range(120):
        start = OPEN + timedelta(minutes=minute)
        close = 100.0 + 3.0 * math.sin(minute / 6.0)
        bars.append(LiveBar(session, "sma", "GOOG", 60, start, close, close + 0.2, close - 0.2,
                            close, 1000.0, minute < 10, start + timedelta(seconds=61)))  # fmt: skip
    assert store.add(bars) == 120


def test_a_drift_schedule_runs_tradd_drift_and_mails_its_report(
    tmp_path: Path, database: OpenedDatabase
) -> None:
    record_a_session(database)
    schedule = {"name": "drift-sma", "kind": "drift", "strategy": "sma",
                "args": ["--from", "2026-12-04", "--to", "2026-12-04"],
                "cron": "30 17 * * 1-5", "timezone": "America/New_York"}  # fmt: skip
    strategy = {"name": "sma", "strategy": SMA, "symbols": ["GOOG"], "client_id": 11}
    config = write_console_config(tmp_path, database.url, schedules=[schedule],
                                  strategies=[strategy])  # fmt: skip
    now = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # 17:30 New York: due
    events: list[AlertEvent] = []
    scheduler = Scheduler(load_settings(config), config, database.sessions, lambda: now,
                          events.append, dict(os.environ), ROOT)  # fmt: skip

    def reported() -> list[AlertEvent]:
        scheduler.tick()
        return events

    [event] = eventually(reported, 120, "the drift job reported")
    assert event.kind == "schedule_complete", event.message
    fire = scheduler.fires.last("drift-sma")
    assert fire is not None and event.data["job_id"] == fire.job_id
    report = Path(event.data["report_html"])
    assert report.name == "drift.html" and report.parent.name == fire.job_id
    assert "Drift of sma" in report.read_text()  # what the email attaches
    run = RunStore(database.sessions, lambda: now).get(fire.job_id)
    assert run is not None and run.kind == "drift" and run.status == "complete"
    stored = DriftResults(database.sessions, lambda: now).latest()["sma"]
    assert stored.run_id == fire.job_id and stored.report_path == str(report.resolve())
    assert str(stored.period_from) == "2026-12-04" == str(stored.period_to)
