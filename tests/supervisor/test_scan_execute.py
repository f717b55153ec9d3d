"""`tradd scan --execute` against a real daemon: the best strategy of each symbol entered
through the control socket, refused by the risk gate, or failed and skipped with reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.conftest import SAMPLE_DATA
from tests.fixtures.simulator import eventually, strategy_entry
from tests.worker.conftest import sim_ledger
from tradd.persistence.db import open_database
from tradd.research.runs import RunStore

from .conftest import daemon_document

PROFIT = "tests.research.scan.strategies.TakesAProfit"
"""In the scan one winning trade per symbol (a positive return and Sharpe: eligible);
live it never acts, so every order the simulator sees is the scan's."""


def test_scan_execute_enters_blocks_fails_and_skips_per_symbol(
    tmp_path, simulator, sqlite_url, start_daemon, run_cli
) -> None:
    entries = [  # on the scan's daily bars; s2 sets its one parameter to the default
        strategy_entry("s1", strategy=PROFIT, bar="1d"),  # on GOOG
        strategy_entry("s2", strategy=PROFIT, bar="1d", client_id=12, symbols=["ORCL"],
                       params={"hold": 20},
                       risk={"max_order_value": {"limit": 100, "action": "BLOCK"}}),
    ]  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, entries))
    equity = daemon.wait_trading("s1")["worker"]["equity"]
    s2 = daemon.wait_trading("s2")
    assert (s2["strategy_class"], s2["params"], s2["bar"]) == (PROFIT, {"hold": 20}, "1d")
    out = tmp_path / "scan"
    scan = run_cli(
        "scan", "--symbols", "GOOG,ORCL,NVDA", "--strategies", PROFIT, "--start",
        "2012-10-01", "--end", "2012-12-31", "--data-dir", str(SAMPLE_DATA), "--output",
        str(out), "--config", str(daemon.config), "--execute", "--position-pct", "5",
        "--allow-stale",  # a rehearsal on the simulator with the 2012 sample data
    )  # fmt: skip
    assert scan.code == 1, scan.stderr  # NVDA failed: no daemon strategy trades it
    execution = json.loads((out / "execution.json").read_text())
    run_id = json.loads((out / "scan.json").read_text())["run_id"]
    rows = {r["symbol"]: r for r in execution["rows"]}
    goog, orcl, nvda = rows["GOOG"], rows["ORCL"], rows["NVDA"]
    assert (goog["status"], goog["daemon_strategy"], goog["order_ref"]) == (
        "executed",
        "s1",
        "s1-1",
    )
    assert goog["requested_value"] == round(equity * 0.05, 2)
    assert goog["quantity"] == goog["requested_value"] // goog["price"] > 0
    assert orcl["status"] == "blocked" and orcl["daemon_strategy"] == "s2"
    assert [r["rule"] for r in orcl["rules"]] == ["MAX_ORDER_VALUE"]
    assert (nvda["status"], nvda["reason"]) == (
        "failed", "no strategy in the daemon runs TakesAProfit on NVDA",
    )  # fmt: skip
    assert "executed" in scan.stdout and "MAX_ORDER_VALUE" in scan.stdout
    simulator.call(simulator.gw.advance, 60)
    shares = goog["quantity"]
    eventually(lambda: sim_ledger(simulator, "s")["positions"] == {"GOOG": shares}, 20, "filled")
    eventually(
        lambda: (
            daemon.strategies()["s1"]["worker"]["positions"].get("GOOG", {}).get("quantity")
            == shares
        ),
        20,
        "the daemon shows the position",
    )
    again = run_cli(
        "scan", "--execute", "--from-run", run_id, "--symbols", "GOOG", "--config",
        str(daemon.config), "--allow-stale",
    )  # fmt: skip
    assert again.code == 0, again.stderr
    (skipped,) = json.loads((out / "execution.json").read_text())["rows"]
    assert (
        skipped["status"] == "skipped" and skipped["reason"] == f"s1 already holds {shares:g} GOOG"
    )
    assert sim_ledger(simulator, "s")["orders"] == ["s1-1"]  # nothing else was ever placed
    engine, sessions = open_database(sqlite_url)  # the daemon's database holds the run
    try:
        run = RunStore(sessions, lambda: datetime.now(UTC)).get(run_id)
    finally:
        engine.dispose()
    assert run is not None and (run.kind, run.status) == ("scan", "complete")
    summary = run.summary or {}
    assert summary["best"]["GOOG"]["strategy"] == PROFIT
    assert summary["best"]["GOOG"]["total_return"] > 0 and summary["bar"] == "1d"
    assert [r["status"] for r in summary["execution"]["rows"]] == ["skipped"]
