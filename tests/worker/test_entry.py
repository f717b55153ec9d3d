"""Operator entries (`enter`) in a live worker: the normal order path, the strategy owns
the position, a client_ref is placed once (and one refused may be asked again), and every
refusal says why."""

from __future__ import annotations

import queue
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradd.control.commands import Enter
from tradd.control.protocol import ProtocolError
from tradd.errors import TemporaryError
from tradd.ib.orders import Accepted
from tradd.persistence.book import Book
from tradd.persistence.ledger import Ledger
from tradd.records.worker_protocol import WorkerCommand, WorkerErrorCode
from tradd.worker import channel as channel_module
from tradd.worker.channel import Command, CommandChannel, CommandError, request
from tradd.worker.entry import LOOKBACK, Entries, checked_entry, ref_note
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
    assert decision.client_ref == "r1"
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
    assert enter(live, symbol="GOOG", side="BUY", value=10_000, client_ref="b")["result"] == big
    assert len(ledger_for().risk_decisions()) == 3  # asked the gate again: nothing remembered
    smaller = enter(live, symbol="GOOG", side="BUY", quantity=1, client_ref="b")["result"]
    assert smaller["status"] == "executed"  # a blocked ref placed nothing: free to use
    with monkeypatch.context() as patched:  # persisted, then the send fails: maybe sent
        patched.setattr(live.worker.link, "place", refuse_to_send)
        lost = enter(live, symbol="GOOG", side="BUY", quantity=2, client_ref="s")["error"]
    assert lost["code"] == "unavailable" and "sending to IB failed" in lost["message"]
    assert enter(live, symbol="GOOG", side="BUY", quantity=2, client_ref="s")["error"] == lost
    wrong = enter(live, symbol="ORCL", side="BUY", quantity=1)["error"]
    assert wrong["code"] == "bad_argument" and "'ORCL': not traded" in wrong["message"]
    assert request(live.worker.channel_path, "pause")["ok"]
    paused = enter(live, symbol="GOOG", side="BUY", quantity=1, client_ref="p")["result"]
    assert paused["status"] == "blocked" and paused["rules"][0]["rule"] == "TRADING_STATE"
    assert "REDUCING" in paused["reason"] or "reducing" in paused["reason"]
    assert request(live.worker.channel_path, "resume")["ok"]
    resent = enter(live, symbol="GOOG", side="BUY", quantity=1, client_ref="p")["result"]
    assert resent["status"] == "executed"  # the scan's --from-run retry, once resumed
    del live.engine.store.last_price["GOOG"]  # the simulator is paused: no bar brings it back
    none = enter(live, symbol="GOOG", side="SELL", quantity=1)["error"]
    assert none == {"code": "unavailable", "message": "no price for GOOG yet"}
    simulator.call(simulator.gw.faults.connectivity_lost)
    live.wait_until(lambda: not live.worker.link.usable, 5, "link down")
    down = enter(live, symbol="GOOG", side="BUY", quantity=1)["error"]
    assert down["code"] == "unavailable" and "not connected to IB" in down["message"]
    assert [o.quantity for o in ledger_for().orders()] == [done["quantity"], 1, 2, 1]
    assert sim_ledger(simulator)["orders"] == ["s1-1", "s1-2", "s1-4"]  # s1-3's send was lost


def test_a_client_ref_used_before_a_restart_is_not_placed_again(launch, ledger_for, simulator):
    """The supervisor restarts a hung worker; the operator repeats the timed-out entry with
    its client_ref, as told: the new process finds the ref in the ledger, places nothing.
    A ref whose persisted decision refused it placed nothing: it is placed after all."""
    risk = only(1_000_000)
    live = launch("", risk=risk)
    args = {"symbol": "GOOG", "side": "BUY", "quantity": 3, "client_ref": "scan-9:GOOG"}
    assert enter(live, **args)["result"]["order_ref"] == "s1-1"
    huge = {"symbol": "GOOG", "side": "BUY", "value": 5_000_000, "client_ref": "scan-8:GOOG"}
    assert enter(live, **huge)["result"]["status"] == "blocked"
    live.advance(60)
    assert live.stop() == 0
    again = launch("", risk=risk)
    retried = enter(again, **{**huge, "value": None, "quantity": 1})["result"]
    assert retried["status"] == "executed" and retried["order_ref"] == "s1-2", retried
    refused = enter(again, **args)["error"]
    assert refused["code"] == "conflict", refused
    assert "'scan-9:GOOG' was used before this worker restarted" in refused["message"]
    assert "APPROVED BUY 3 GOOG, order s1-1" in refused["message"]
    assert enter(again, **{**args, "quantity": 4})["error"]["code"] == "conflict"
    fresh = enter(again, **{**args, "client_ref": "scan-10:GOOG"})["result"]
    assert fresh["status"] == "executed" and fresh["order_ref"] == "s1-3"
    assert [o.order_ref for o in ledger_for().orders()] == ["s1-1", "s1-2", "s1-3"]
    assert sorted(sim_ledger(simulator)["orders"]) == ["s1-1", "s1-2", "s1-3"]


class FakeManager:
    gate = None

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.book = Book()  # multipliers: none defined, so every symbol's is 1

    def submit_checked(self, intents, blocked, note, client_ref=None):
        self.sent.append(intents[0])
        return Accepted([f"s1-{len(self.sent)}"], intents[0].quantity), None


class CrashingManager(FakeManager):
    """Fails unexpectedly, before or (`ledger` given) after persisting the order's decision,
    as `OrderManager._send` commits it with the order, before the send."""

    def __init__(self, ledger: Ledger | None = None) -> None:
        super().__init__()
        self.ledger = ledger

    def submit_checked(self, intents, blocked, note, client_ref=None):
        self.sent.append(intents[0])
        if self.ledger is not None:
            decide(self.ledger, "APPROVED", "approved" + note, f"s1-{len(self.sent)}",
                   ref=client_ref)  # fmt: skip
        raise RuntimeError("boom")


def decide(ledger: Ledger, action: str, reason: str, order_ref: str | None = None,
           at: datetime | None = None, ref: str | None = None) -> None:  # fmt: skip
    ledger.record_risk_decision(action=action, reason=reason, trading_state="ACTIVE",
                                order_ref=order_ref, symbol="GOOG", side="BUY", requested_qty=1,
                                approved_qty=1 if order_ref else 0, at=at,
                                client_ref=ref)  # fmt: skip


def no_decision(client_ref: str, since: datetime) -> None:
    return None


def fake_engine(price: float, ledger: Any = None, manager: Any = None) -> Any:
    """What `Entries` and `Operator` read of a connected, reconciled worker."""
    return SimpleNamespace(
        strategy=SimpleNamespace(name="s1", symbols=("GOOG",)), link=SimpleNamespace(usable=True),
        ready_count=1, store=SimpleNamespace(last_price={"GOOG": price}),
        operator=SimpleNamespace(flatten=None), manager=manager or FakeManager(), broker=None,
        events=SimpleNamespace(emit=lambda *a, **k: None, on_emit=None),
        ledger=ledger or SimpleNamespace(latest_order_decision=no_decision),
    )  # fmt: skip


def outcome(entries: Entries, ref: str, quantity: float = 1) -> str:
    """executed or blocked, or the error code."""
    args = {"symbol": "GOOG", "side": "BUY", "quantity": quantity, "client_ref": ref}
    try:
        return str(entries.enter(args)["status"])
    except CommandError as exc:
        return str(exc.code)


def test_value_sizing_is_not_a_share_short_from_float_division() -> None:
    engine = fake_engine(10.21)  # 102.10 / 10.21 == 9.999999999999998
    result = Entries(engine).enter({"symbol": "GOOG", "side": "BUY", "value": 102.10})
    assert result["quantity"] == 10.0 and engine.manager.sent[0].quantity == 10.0


def test_only_a_persisted_order_of_that_very_ref_refuses_it_after_a_restart(ledger_for) -> None:
    ledger = ledger_for()
    decide(ledger, "BLOCKED", "paused" + ref_note("op", "blocked-1"), ref="blocked-1")
    decide(ledger, "APPROVED", "approved" + ref_note("op", "A%B"), "s1-9", ref="A%B")
    decide(ledger, "RESIZED", "resized" + ref_note("op", "r"), "s1-10", ref="r")
    decide(ledger, "APPROVED", "approved" + ref_note("op", "old"), "s1-1",
           at=datetime.now(UTC) - LOOKBACK - timedelta(hours=1), ref="old")  # fmt: skip
    decide(ledger, "APPROVED", "approved" + ref_note("op", "text"), "s1-11")  # no column
    engine = fake_engine(100.0, ledger)
    entries = Entries(engine)  # a new process: it remembers nothing yet
    with pytest.raises(CommandError) as caught:
        entries.enter({"symbol": "GOOG", "side": "BUY", "quantity": 1, "client_ref": "A%B"})
    assert caught.value.code is WorkerErrorCode.CONFLICT
    assert "(APPROVED BUY 1 GOOG, order s1-9)" in str(caught.value)
    assert outcome(entries, "r") == "conflict"
    assert outcome(entries, "a%b") == "executed"  # SQLite's LIKE ignores case; refs do not
    assert outcome(entries, "A_B") == "executed"  # LIKE's wildcards are the ref's own text
    assert outcome(entries, "blocked-1") == "executed"  # refused: nothing was placed
    assert outcome(entries, "old") == "executed"  # older than LOOKBACK
    assert outcome(entries, "text") == "executed"  # the reason's text is never parsed
    assert len(engine.manager.sent) == 5


def test_an_internal_error_is_remembered_only_once_the_order_was_persisted(ledger_for) -> None:
    ledger = ledger_for()
    engine = fake_engine(100.0, ledger, CrashingManager())
    entries = Entries(engine)
    with pytest.raises(CommandError) as before:
        entries.enter({"symbol": "GOOG", "side": "BUY", "quantity": 1, "client_ref": "x"})
    assert before.value.code is WorkerErrorCode.INTERNAL and str(before.value).endswith(
        "; nothing placed"
    )
    engine.manager = FakeManager()
    assert outcome(entries, "x") == "executed"  # nothing was placed: asked again
    engine.manager = crashing = CrashingManager(ledger)
    with pytest.raises(CommandError) as after:
        entries.enter({"symbol": "GOOG", "side": "BUY", "quantity": 1, "client_ref": "y"})
    assert "the order may have been placed" in str(after.value)
    with pytest.raises(CommandError) as again:
        entries.enter({"symbol": "GOOG", "side": "BUY", "quantity": 1, "client_ref": "y"})
    assert str(again.value) == str(after.value) and len(crashing.sent) == 1  # never re-sent


@pytest.mark.parametrize(
    "args",
    [
        {"quantity": 2.5},
        {"quantity": 10**400},
        {"value": float("nan")},
        {"value": 2e11},
        {"value": True},
        {"quantity": 1, "value": 1},
        {},
        {"side": "buy", "quantity": 1},
        {"quantity": 1, "client_ref": "a\x00b"},
        {"quantity": 1, "requested_by": "x" * 65},
    ],
)
def test_the_worker_refuses_what_the_daemon_would(args: dict[str, Any]) -> None:
    """One set of checks (tradd.records.entry): the same refusal, word for word."""
    asked = {"symbol": "GOOG", "side": "BUY", **args}
    with pytest.raises(ProtocolError) as daemon:
        Enter().validate({"strategy": "s1", **asked})
    with pytest.raises(CommandError) as worker:
        checked_entry(asked, ("GOOG",))
    assert worker.value.code == daemon.value.code == "bad_argument"
    assert str(daemon.value) == f"enter: {worker.value}"


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
    operator = Operator(engine, lambda: None, lambda: 0.0, dict)
    operator.handle(late)
    assert engine.manager.sent == []
    running = Command(WorkerCommand.ENTER, dict(late.args))
    operator.handle(running)
    assert running.reply.result(0)["status"] == "executed" and len(engine.manager.sent) == 1
