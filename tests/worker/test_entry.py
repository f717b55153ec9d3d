"""Operator entries (`enter`) in a live worker: the normal order path, the strategy owns
the position, a client_ref is placed once, and every refusal says why."""

from __future__ import annotations

import queue
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradd.errors import TemporaryError
from tradd.ib.orders import Accepted
from tradd.worker import channel as channel_module
from tradd.worker.channel import Command, CommandChannel, CommandError, request
from tradd.worker.entry import Entries, parse_entry
from tradd.worker.operator import Operator

from .conftest import assert_ledger_matches_simulator, sim_ledger


def enter(live, **args):
    return request(live.worker.channel_path, "enter", **args)


def only(max_order_value):
    """[risk] with every rule off but max_order_value (BLOCK at this limit)."""
    rules = ("max_position_size", "max_drawdown", "max_leverage", "position_limit",
             "max_orders_per_minute")  # fmt: skip
    base = {k: {"limit": None} for k in rules}
    base["max_daily_loss"] = {"limit": None, "limit_pct": None}
    base["max_order_value"] = {"limit": max_order_value, "action": "BLOCK"}
    return base


def test_an_entry_becomes_the_strategys_position_and_its_own_logic_exits_it(
    launch, ledger_for, simulator
) -> None:
    live = launch("2:CLOSE")  # the strategy closes whatever it holds on its second bar
    price = live.engine.store.last_price["GOOG"]
    args = {"symbol": "GOOG", "side": "BUY", "quantity": 7, "requested_by": "test",
            "client_ref": "r1"}  # fmt: skip
    reply = enter(live, **args)
    assert reply == {"ok": True, "result": {
        "status": "executed", "strategy": "s1", "symbol": "GOOG", "side": "BUY",
        "quantity": 7.0, "price": price, "value": 7 * price, "order_ref": "s1-1"}}  # fmt: skip
    assert enter(live, **args) == reply  # the same client_ref again: the first answer
    other = enter(live, **{**args, "quantity": 8})
    assert other["error"]["code"] == "conflict" and "'r1'" in other["error"]["message"]
    live.advance(60)  # bar 1: the entry fills
    strategy = live.worker.cerebro.runningstrats[0]
    assert strategy.getposition(strategy.datas[0]).size == 7
    assert [s for r, s, _, _ in strategy.notes if r == "s1-1"][-1] == "Completed"
    assert sim_ledger(simulator)["positions"] == {"GOOG": 7.0}
    ledger = ledger_for()
    (decision,) = ledger.risk_decisions()
    assert decision.action == "APPROVED" and decision.order_ref == "s1-1"
    assert decision.reason == "approved; operator entry by test (client_ref r1)"
    assert "operator_entry" in live.engine.events.kinds()
    live.advance(60)  # bar 2: the strategy's CLOSE sells the entry
    assert sim_ledger(simulator)["positions"] == {}
    theirs = assert_ledger_matches_simulator(simulator, ledger)
    assert len(theirs["orders"]) == 2  # the entry once, and the strategy's close
    trades = [t for ts in strategy._trades[strategy.datas[0]].values() for t in ts]
    assert len(trades) == 1 and trades[0].isclosed


def refuse_to_send(_specs):
    raise TemporaryError("the gateway went away mid-send")


def test_sizing_by_value_and_every_refusal(launch, ledger_for, simulator, monkeypatch) -> None:
    live = launch("", risk=only(3000))
    price = live.engine.store.last_price["GOOG"]
    done = enter(live, symbol="GOOG", side="BUY", value=1000)["result"]
    assert done["quantity"] == 1000 // price and done["value"] == done["quantity"] * price
    tiny = enter(live, symbol="GOOG", side="BUY", value=10)["error"]
    assert tiny == {"code": "bad_argument", "message": f"value 10 buys 0 shares at {price:g}"}
    big = enter(live, symbol="GOOG", side="BUY", value=10_000, client_ref="b")["result"]
    assert big["status"] == "blocked" and big["quantity"] == 10_000 // price
    (rule,) = big["rules"]
    assert rule["rule"] == "MAX_ORDER_VALUE" and rule["action"] == "BLOCK"
    assert rule["limit"] == 3000 and rule["message"] in big["reason"]
    decision = ledger_for().risk_decisions()[-1]
    assert decision.action == "BLOCKED" and decision.rule == "MAX_ORDER_VALUE"
    assert decision.reason.endswith("; operator entry by operator (client_ref b)")
    with monkeypatch.context() as patched:  # persisted, then the send fails: maybe sent
        patched.setattr(live.worker.link, "place", refuse_to_send)
        lost = enter(live, symbol="GOOG", side="BUY", quantity=2, client_ref="s")["error"]
    assert lost["code"] == "unavailable" and "sending to IB failed" in lost["message"]
    assert enter(live, symbol="GOOG", side="BUY", quantity=2, client_ref="s")["error"] == lost
    wrong = enter(live, symbol="ORCL", side="BUY", quantity=1)["error"]
    assert wrong["code"] == "bad_argument" and "'ORCL': not traded" in wrong["message"]
    assert request(live.worker.channel_path, "pause")["ok"]
    paused = enter(live, symbol="GOOG", side="BUY", quantity=1)["result"]
    assert paused["status"] == "blocked" and paused["rules"][0]["rule"] == "TRADING_STATE"
    assert "REDUCING" in paused["reason"] or "reducing" in paused["reason"]
    del live.engine.store.last_price["GOOG"]  # the simulator is paused: no bar brings it back
    none = enter(live, symbol="GOOG", side="SELL", quantity=1)["error"]
    assert none == {"code": "unavailable", "message": "no price for GOOG yet"}
    simulator.call(simulator.gw.faults.connectivity_lost)
    live.wait_until(lambda: not live.worker.link.usable, 5, "link down")
    down = enter(live, symbol="GOOG", side="BUY", quantity=1)["error"]
    assert down["code"] == "unavailable" and "not connected to IB" in down["message"]
    assert [o.quantity for o in ledger_for().orders()] == [done["quantity"], 2]
    assert sim_ledger(simulator)["orders"] == ["s1-1"]  # the lost send never reached IB


def test_a_client_ref_used_before_a_restart_is_not_placed_again(launch, ledger_for, simulator):
    """The supervisor restarts a hung worker; the operator repeats the timed-out entry with
    its client_ref, as told: the new process finds the ref in the ledger, places nothing."""
    live = launch("")
    args = {"symbol": "GOOG", "side": "BUY", "quantity": 3, "client_ref": "scan-9:GOOG"}
    assert enter(live, **args)["result"]["order_ref"] == "s1-1"
    live.advance(60)
    assert live.stop() == 0
    again = launch("")
    refused = enter(again, **args)["error"]
    assert refused["code"] == "conflict", refused
    assert "'scan-9:GOOG' was used before this worker restarted" in refused["message"]
    assert "APPROVED BUY 3 GOOG, order s1-1" in refused["message"]
    assert enter(again, **{**args, "quantity": 4})["error"]["code"] == "conflict"
    fresh = enter(again, **{**args, "client_ref": "scan-10:GOOG"})["result"]
    assert fresh["status"] == "executed" and fresh["order_ref"] == "s1-2"
    assert [o.order_ref for o in ledger_for().orders()] == ["s1-1", "s1-2"]
    assert sorted(sim_ledger(simulator)["orders"]) == ["s1-1", "s1-2"]


class FakeManager:
    gate = None

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def submit_checked(self, intents, blocked, note):
        self.sent.append(intents[0])
        return Accepted([f"s1-{len(self.sent)}"], intents[0].quantity), None


def fake_engine(price: float) -> Any:
    """What `Entries` and `Operator` read of a connected, reconciled worker."""
    return SimpleNamespace(
        strategy=SimpleNamespace(name="s1", symbols=("GOOG",)), link=SimpleNamespace(usable=True),
        ready_count=1, store=SimpleNamespace(last_price={"GOOG": price}),
        operator=SimpleNamespace(flatten=None), manager=FakeManager(), broker=None,
        events=SimpleNamespace(emit=lambda *a, **k: None, on_emit=None),
        ledger=SimpleNamespace(risk_decisions=lambda since: []),
    )  # fmt: skip


def test_value_sizing_is_not_a_share_short_from_float_division() -> None:
    engine = fake_engine(10.21)  # 102.10 / 10.21 == 9.999999999999998
    result = Entries(engine).enter({"symbol": "GOOG", "side": "BUY", "value": 102.10})
    assert result["quantity"] == 10.0 and engine.manager.sent[0].quantity == 10.0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"quantity": 2.5}, "quantity 2.5: whole shares"),
        ({"quantity": 10**400}, "a positive number"),
        ({"value": float("nan")}, "a positive number"),
        ({"quantity": 1, "client_ref": "a\x00b"}, "printable"),
    ],
)
def test_the_worker_refuses_what_the_daemon_would(args: dict[str, Any], says: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_entry({"symbol": "GOOG", "side": "BUY", **args}, ("GOOG",))
    assert caught.value.code == "bad_argument" and says in str(caught.value)


def test_an_entry_withdrawn_by_the_channels_timeout_is_never_placed(monkeypatch) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tradd-en-", dir="/tmp"))  # AF_UNIX: short paths
    inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
    channel = CommandChannel(folder / "w.sock", inbox, 5.0)
    channel.start()
    monkeypatch.setattr(channel_module, "ANSWER_TIMEOUT", -1.9)  # waits 0.1 s
    try:
        reply = request(channel.path, "enter", timeout=5, symbol="GOOG", side="BUY", quantity=1)
    finally:
        channel.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert reply["error"] == {"code": "timeout", "message": "the worker did not answer "
                              "'enter' in time: withdrawn before it ran, nothing placed"}  # fmt: skip
    late = inbox.get_nowait()  # the busy main loop gets to it only now
    assert isinstance(late, Command) and late.reply.cancelled()
    engine = fake_engine(100.0)
    operator = Operator(engine, lambda: None, lambda: 0.0)
    operator.handle(late)
    assert engine.manager.sent == []
    running = Command("enter", dict(late.args))
    operator.handle(running)
    assert running.reply.result(0)["status"] == "executed" and len(engine.manager.sent) == 1
