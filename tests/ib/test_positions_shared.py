"""Two clients on one account trading one symbol (two strategies on GOOG): a positions
answer lists each contract once. The gateway keeps sending position updates to a client
that asked before, and the client library files every position message that arrives while
a request is open under that request: a fill by the other client just before the answer
put GOOG in it twice (the update, then the list), and the worker that asked exited 1 with
"position snapshot lists a symbol twice" (issue 15, found by the rehearsal)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.fixtures.simulator import GOOG_OPEN, eventually, worker_settings
from tradd.ib.link import IBLink
from tradd.ib.types import BrokerPosition, OrderSpec
from tradd.simgw.background import BackgroundGateway


@pytest.mark.parametrize("library", ["ib_async", "ib_insync"])
def test_an_update_arriving_with_the_answer_is_not_a_second_position(
    tmp_path: Path, simulator: BackgroundGateway, library: str
) -> None:
    settings = worker_settings(tmp_path, simulator.port, "sqlite://", [],
                               broker={"library": library, "request_timeout": 10.0})  # fmt: skip
    asking, trading = (IBLink(settings.broker, cid, symbols=("GOOG",)) for cid in (41, 42))
    for link in (asking, trading):
        link.start()
    try:
        assert asking.wait_connected(10) and trading.wait_connected(10)
        assert asking.positions() == []  # and from now on it gets every position update
        trading.place([OrderSpec("other-1", "GOOG", "BUY", 10.0)])  # fills at the open
        eventually(
            lambda: simulator.call(simulator.gw.status)["open_orders"], 5, "order at the gateway"
        )
        simulator.call(simulator.gw.faults.stall)
        answers: list[list[BrokerPosition]] = []
        asker = threading.Thread(target=lambda: answers.append(asking.positions()))
        asker.start()
        futures = asking.client._ib.wrapper._futures  # the request is open at the client
        eventually(lambda: "positions" in futures, 5, "positions request sent")
        simulator.call(simulator.gw.advance, GOOG_OPEN - simulator.gw.sim_time + 60)
        simulator.call(simulator.gw.faults.unstall)  # the update first, then the answer
        asker.join(15)
        assert len(answers) == 1
        assert [(p.symbol, p.quantity) for p in answers[0]] == [("GOOG", 10.0)]
        assert [p.symbol for p in trading.positions()] == ["GOOG"]
    finally:
        for link in (asking, trading):
            link.stop()
