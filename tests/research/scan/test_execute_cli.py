"""`tradd scan --execute --from-run` on a fake control socket: the stored scan's size, and
a repeat that resends the first request (same ref, same value) and never a done entry."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradd.persistence.db import open_database
from tradd.research.runs import RunRecord, RunStore

from .conftest import FakeDaemon, Tradd, environment

SMA = "strategies.sma_cross.SmaCross"
BEST = {"strategy": SMA, "composite_score": 40.0, "total_return": 4.0, "sharpe": 1.1,
        "max_drawdown": 3.0, "win_rate": 50.0, "total_trades": 4, "params": {}}  # fmt: skip


def fleet(equity: float) -> list[dict[str, Any]]:
    return [{"name": "s1", "strategy_class": SMA, "symbols": ["GOOG", "ORCL"],
             "params": {}, "params_file": None, "bar": "1d", "state": "RUNNING",
             "worker": {"equity": equity, "positions": {}}}]  # fmt: skip


def stored_scan(tmp_path: Path, ended: date | None = None) -> str:
    """A complete scan, as `tradd scan --execute --position-pct 5` would have stored it;
    by default of a period that ended 3 days ago (fresh for --max-age-days 7)."""
    end = ended or date.today() - timedelta(days=3)
    engine, sessions = open_database(environment(tmp_path)["TRADD_DATABASE__URL"])
    try:
        store = RunStore(sessions, lambda: datetime.now(UTC))
        request = {"symbols": ["GOOG", "ORCL"], "max_position_pct": 20.0, "position_pct": 5.0}
        run_id = store.start("scan", request, tmp_path / "scan")
        best = dict.fromkeys(("GOOG", "ORCL"), BEST)
        period = {"start": str(end - timedelta(days=364)), "end": str(end)}
        store.finish(run_id, "complete", {"period": period, "bar": "1d", "best": best})
    finally:
        engine.dispose()
    return run_id


def stored(tmp_path: Path, run_id: str) -> RunRecord:
    engine, sessions = open_database(environment(tmp_path)["TRADD_DATABASE__URL"])
    try:
        run = RunStore(sessions, lambda: datetime.now(UTC)).get(run_id)
    finally:
        engine.dispose()
    assert run is not None
    return run


def test_a_repeated_execution_of_a_run_sends_the_same_request_and_not_a_done_one(
    tradd: Tradd, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    run_id = stored_scan(tmp_path)
    fake_daemon.fleet = fleet(50_000.0)
    fake_daemon.answers = {"GOOG": "lost"}
    execute = ("scan", "--execute", "--from-run", run_id, "--socket", str(fake_daemon.path))
    code, _, err = tradd(*execute)
    assert code == 1, err  # GOOG failed: its answer was lost
    first = json.loads((tmp_path / "scan" / "execution.json").read_text())
    assert first["position_pct"] == 5.0  # the scan's --position-pct, not its 20% sizing
    goog, orcl = first["rows"]
    assert (goog["status"], orcl["status"]) == ("failed", "executed")
    assert "may have been placed" in goog["reason"]
    assert [(e["symbol"], e["value"]) for e in fake_daemon.entries()] == [
        ("GOOG", 2500.0), ("ORCL", 2500.0),
    ]  # fmt: skip
    entries = stored(tmp_path, run_id).summary["entries"]  # type: ignore[index]
    assert entries["GOOG"] == {"position_pct": 5.0, "value": 2500.0, "status": "failed",
                               "order_ref": None, "attempt": 1}  # fmt: skip
    assert entries["ORCL"]["status"] == "executed" and entries["ORCL"]["order_ref"] == "s1-2"

    fake_daemon.fleet = fleet(80_000.0)  # the market moved; ORCL not filled yet
    fake_daemon.answers = {}
    code, _, err = tradd(*execute)
    assert code == 0, err
    again = {r["symbol"]: r for r in json.loads((tmp_path / "scan" / "execution.json")
                                                 .read_text())["rows"]}  # fmt: skip
    assert again["GOOG"]["status"] == "executed" and again["ORCL"]["status"] == "skipped"
    assert again["ORCL"]["reason"] == "already entered by this run (order s1-2): not sent again"
    goog_first, _, goog_again = fake_daemon.entries()  # ORCL is never sent twice
    assert goog_again == goog_first  # same client_ref and value: the worker's first reply
    assert goog_again["client_ref"] == f"{run_id}:GOOG"
    summary = stored(tmp_path, run_id).summary or {}
    assert summary["entries"]["GOOG"]["status"] == "executed"
    assert summary["entries"]["ORCL"]["order_ref"] == "s1-2"  # kept from the first execution
    assert [r["status"] for r in summary["execution"]["rows"]] == ["executed", "skipped"]


@pytest.mark.parametrize(
    ("args", "sent"), [([], True), (["--max-age-days", "2"], False),
                       (["--max-age-days", "2", "--allow-stale"], True)],
)  # fmt: skip
def test_a_stored_scan_is_executed_only_while_its_period_is_recent(
    tradd: Tradd, fake_daemon: FakeDaemon, tmp_path: Path, args: list[str], sent: bool
) -> None:
    run_id = stored_scan(tmp_path)  # ended 3 days ago
    fake_daemon.fleet = fleet(50_000.0)
    code, _, err = tradd("scan", "--execute", "--from-run", run_id, "--socket",
                         str(fake_daemon.path), *args)  # fmt: skip
    if sent:
        assert code == 0, err
        assert [e["symbol"] for e in fake_daemon.entries()] == ["GOOG", "ORCL"]
    else:
        ended = date.today() - timedelta(days=3)
        assert code == 2 and f"the scan's period ended {ended}, 3 days before today" in err
        assert fake_daemon.requests == []


def test_a_stored_scan_the_daemon_stops_answering_for_exits_3_with_nothing_sent(
    tradd: Tradd, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    run_id = stored_scan(tmp_path)
    fake_daemon.fleet, fake_daemon.status_replies = fleet(50_000.0), 1
    code, _, err = tradd("scan", "--execute", "--from-run", run_id, "--socket",
                         str(fake_daemon.path))  # fmt: skip
    assert code == 3 and "the daemon stopped answering" in err and "nothing sent" in err
    assert fake_daemon.entries() == []
