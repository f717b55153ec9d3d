"""`enter` end to end: the control socket, the supervisor, the worker, the simulator, and
tradctl as operators run it (exit 0 executed, 1 blocked)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually, strategy_entry
from tests.worker.conftest import assert_ledger_matches_simulator, sim_ledger
from tradd.persistence.models import OrderStatus

from .conftest import daemon_document


def tradctl(daemon, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tradd.control.tradctl", "--socket", str(daemon.socket), *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip


def held(daemon, name: str, symbol: str) -> float | None:
    return daemon.strategies()[name]["worker"]["positions"].get(symbol, {}).get("quantity")


def test_an_entry_by_value_is_placed_once_filled_and_shown(
    tmp_path, simulator, sqlite_url, start_daemon, ledger_for
) -> None:
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, [strategy_entry()]))
    status = daemon.wait_trading("s1")
    assert status["strategy_class"] == "tests.worker.strategies.Scripted"
    assert status["symbols"] == ["GOOG"]
    args = {"strategy": "s1", "symbol": "GOOG", "side": "BUY", "value": 2000,
            "requested_by": "test", "client_ref": "scan-1-GOOG"}  # fmt: skip
    first = daemon.result("enter", **args)
    assert first["status"] == "executed" and first["order_ref"] == "s1-1", first
    shares = first["quantity"]
    assert shares == 2000 // first["price"] and first["value"] == shares * first["price"]
    assert daemon.result("enter", **args) == first  # a repeat: the first reply, no order
    simulator.call(simulator.gw.advance, 60)
    eventually(lambda: sim_ledger(simulator)["positions"] == {"GOOG": shares}, 20, "filled")
    eventually(lambda: held(daemon, "s1", "GOOG") == shares, 20, "status shows the position")
    ledger = ledger_for()
    eventually(lambda: ledger.order("s1-1").status == OrderStatus.FILLED, 10, "ledger filled")
    (decision,) = ledger.risk_decisions()
    assert decision.action == "APPROVED" and decision.order_ref == "s1-1"
    assert "operator entry by test (client_ref scan-1-GOOG)" in decision.reason
    assert len(assert_ledger_matches_simulator(simulator, ledger)["orders"]) == 1
    out = tradctl(daemon, "enter", "s1", "goog", "buy", "--quantity", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("executed: BUY 1 GOOG for s1 at ~") and "order s1-2" in out.stdout


def test_refused_entries_say_why_and_place_nothing(
    tmp_path, simulator, sqlite_url, start_daemon, ledger_for
) -> None:
    entries = [strategy_entry(risk={"max_order_value": {"limit": 5000, "action": "BLOCK"}}),
               strategy_entry("s2", client_id=12, symbols=["ORCL"], enabled=False)]  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, entries))
    daemon.wait_trading("s1")
    blocked = daemon.result("enter", strategy="s1", symbol="GOOG", side="BUY", value=20_000)
    assert blocked["status"] == "blocked", blocked
    assert [r["rule"] for r in blocked["rules"]] == ["MAX_ORDER_VALUE"]
    (decision,) = ledger_for().risk_decisions()
    assert decision.action == "BLOCKED" and decision.rule == "MAX_ORDER_VALUE"

    def error(**args):
        reply = daemon.call("enter", **{"side": "BUY", "quantity": 1, **args})
        assert reply["ok"] is False, reply
        return reply["error"]["code"], reply["error"]["message"]

    code, message = error(strategy="s1", symbol="ORCL")
    assert code == "bad_argument" and "s1 does not trade 'ORCL' (its symbols: GOOG)" in message
    assert error(strategy="nope", symbol="GOOG")[0] == "unknown_strategy"
    assert error(strategy="s2", symbol="ORCL") == ("unavailable", "s2 is STOPPED, not RUNNING")
    assert error(strategy="s1", symbol="GOOG", quantity=-1)[0] == "bad_argument"
    out = tradctl(daemon, "enter", "s1", "GOOG", "BUY", "--value", "20000")
    assert out.returncode == 1 and out.stdout.startswith("BLOCKED: BUY ")
    assert "MAX_ORDER_VALUE (BLOCK)" in out.stdout
    assert sim_ledger(simulator) == {"orders": [], "fills": {}, "positions": {}}
