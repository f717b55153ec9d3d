"""A worker whose broker view lists its symbol twice keeps running (issue 15: with two
strategies on GOOG, the rehearsal's `rsi` worker exited 1 on "position snapshot lists a
symbol twice"). Why the view repeated GOOG, and its fix in the IB client, is in
tests/ib/test_positions_shared.py; here the worker is made robust to whatever the broker
view holds: rows of one symbol are added up and the repeat is logged."""

from __future__ import annotations

from dataclasses import replace

from tradd.ib.events import LinkState
from tradd.ib.types import BrokerPosition


def test_a_symbol_listed_twice_at_reconciliation_is_added_up(launch, ledger_for, simulator):
    live = launch("1:BUY:10")
    live.advance(120)
    assert [(p.symbol, p.quantity) for p in live.worker.link.positions()] == [("GOOG", 10.0)]
    real = live.worker.link.positions

    def twice() -> list[BrokerPosition]:  # GOOG as two rows, 4 + 6
        rows = real()
        return [r2 for r in rows for r2 in ((replace(r, quantity=4.0), replace(r, quantity=6.0))
                                            if r.symbol == "GOOG" else (r,))]  # fmt: skip

    live.worker.link.positions = twice  # type: ignore[method-assign]
    simulator.call(simulator.gw.faults.connectivity_lost)
    live.wait_until(lambda: live.worker.link.state is LinkState.CONNECTIVITY_LOST, 5, "1100")
    simulator.call(simulator.gw.faults.connectivity_restored)  # 1102: reconcile again
    live.wait_until(lambda: live.engine.ready_count >= 2 and live.worker.link.usable,
                    20, "reconciled after 1102")  # fmt: skip
    live.sync()
    assert live.exit_code is None and live.thread.is_alive()
    broker = ledger_for().latest_positions("broker")
    assert [(p.symbol, p.quantity) for p in broker] == [("GOOG", 10.0)]
