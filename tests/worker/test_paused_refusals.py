"""A paused or flattened strategy's refused entries are the trading state doing its job,
not risk breaches (issue 15): no `risk_breach` event (nothing to alert), counted apart
under rule `TRADING_STATE`, and logged once per state rather than on every bar."""

from __future__ import annotations

from structlog.testing import capture_logs

from tradd.worker.channel import request


def decisions(status: dict) -> dict[tuple[str, str], int]:
    return {(d["rule"], d["action"]): d["count"] for d in status["stats"]["risk_decisions"]}


def test_entries_refused_while_paused_or_flattened_are_no_risk_breach(launch, ledger_for):
    buys = ";".join(f"{bar}:BUY:1" for bar in range(2, 7))
    live = launch(f"1:BUY:10;{buys}")
    live.advance(60)  # bar 1: long 10
    sock = live.worker.channel_path
    with capture_logs() as logs:
        assert request(sock, "pause")["result"]["trading_state"] == "REDUCING"
        for _bar in range(2, 5):  # three entries refused while paused
            live.advance(60)
        flattened = request(sock, "flatten", requested_by="ops", timeout=30)
        assert flattened["ok"], flattened
        for _bar in range(5, 7):  # two more while flattened (HALTED)
            live.advance(60)
    ledger = ledger_for()
    refused = [(d.rule, d.trading_state) for d in ledger.risk_decisions() if d.action == "BLOCKED"]
    assert refused == [("TRADING_STATE", "REDUCING")] * 3 + [("TRADING_STATE", "HALTED")] * 2
    assert "risk_breach" not in live.engine.events.kinds()
    counted = decisions(live.worker.command("status"))
    assert counted[("TRADING_STATE", "BLOCKED")] == 5
    assert not [key for key in counted if key[0] == "none" and key[1] == "BLOCKED"]
    lines = [e for e in logs if e["event"] == "orders refused by the trading state"]
    assert [e["state"] for e in lines] == ["REDUCING", "HALTED"]  # once per state
    assert not [e for e in logs if e["event"] == "order refused"]
    assert ledger.account_positions() == {}
