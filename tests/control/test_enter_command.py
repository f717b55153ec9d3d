"""`enter`'s arguments: checked by the daemon before any worker hears of them; and
tradctl's side of it (request, exit code, text)."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradd.control.commands import COMMANDS, Enter
from tradd.control.protocol import ErrorCode, ProtocolError
from tradd.control.render import enter_text
from tradd.control.tradctl import EXIT_FAILED, EXIT_UNREACHABLE, main, parser, report, request_args
from tradd.records.busy import Busy, BusyKind
from tradd.records.entry import EntryArgs
from tradd.records.states import WorkerState

GOOD = {"strategy": "s1", "symbol": "GOOG", "side": "BUY", "value": 2000}


def refused(**changes: object) -> ProtocolError:
    args = {k: v for k, v in {**GOOD, **changes}.items() if v is not ...}
    with pytest.raises(ProtocolError) as caught:
        Enter().validate(args)
    assert caught.value.code == ErrorCode.BAD_ARGUMENT
    return caught.value


def test_a_good_request_passes_with_requested_by_defaulted() -> None:
    assert COMMANDS["enter"].mutating is False
    assert Enter().validate(GOOD) == {
        "strategy": "s1", "entry": EntryArgs("GOOG", "BUY", value=2000.0, requested_by="tradctl")
    }  # fmt: skip
    by_quantity = {**GOOD, "value": None, "quantity": 3.0, "client_ref": "scan-1-GOOG"}
    assert Enter().validate(by_quantity)["entry"].quantity == 3
    assert Enter().validate({**GOOD, "client_ref": "ré:ÄÖ-1"})["entry"].client_ref == "ré:ÄÖ-1"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"value": ...}, "exactly one of value or quantity, got neither"),
        ({"quantity": 5}, "exactly one of value or quantity, got ['value', 'quantity']"),
        ({"value": -5}, "value must be a positive number up to 1e+11, got -5"),
        ({"value": 0}, "value must be a positive number up to 1e+11, got 0"),
        ({"value": math.nan}, "value must be a positive number up to 1e+11, got nan"),
        ({"value": math.inf}, "value must be a positive number up to 1e+11, got inf"),
        ({"value": True}, "value must be a positive number up to 1e+11, got True"),
        ({"value": "100"}, "value must be a positive number up to 1e+11, got '100'"),
        ({"value": 2e11}, "value must be a positive number up to 1e+11, got 200000000000.0"),
        ({"value": ..., "quantity": -1}, "quantity must be a positive number up to 1e+08"),
        ({"value": ..., "quantity": 10**400}, "quantity must be a positive number up to 1e+08"),
        ({"value": ..., "quantity": 2.5}, "quantity must be whole shares, got 2.5"),
        ({"side": "buy"}, "side must be BUY or SELL, got 'buy'"),
        ({"side": ...}, "side must be BUY or SELL, got None"),
        ({"symbol": ""}, "symbol must be given as text, got ''"),
        ({"strategy": 7}, "strategy must be a name, got 7"),
        ({"client_ref": ""}, "client_ref must be 1 to 64 printable characters, got ''"),
        ({"client_ref": "a\nb"}, "client_ref must be 1 to 64 printable characters"),
        ({"requested_by": "x" * 65}, "requested_by must be 1 to 64 printable characters"),
        ({"price": 10}, "unknown argument(s) ['price']"),
    ],
)
def test_bad_arguments_name_the_field_and_value(changes: dict[str, object], says: str) -> None:
    assert says in str(refused(**changes))


def test_tradctl_sends_the_request_and_exits_1_unless_executed(capsys) -> None:
    ns = parser().parse_args(["enter", "s1", "goog", "buy", "--value", "2000", "--client-ref", "r"])
    assert request_args(ns) == {"strategy": "s1", "symbol": "GOOG", "side": "BUY",
                                "value": 2000.0, "client_ref": "r"}  # fmt: skip
    executed = {"status": "executed", "strategy": "s1", "symbol": "GOOG", "side": "BUY",
                "quantity": 4.0, "price": 432.1, "value": 1728.4, "order_ref": "s1-3"}  # fmt: skip
    assert report(ns, {"ok": True, "result": executed}) == 0
    assert capsys.readouterr().out.strip() == (
        "executed: BUY 4 GOOG for s1 at ~432.10 (value 1,728.40), order s1-3"
    )
    rule = {"rule": "MAX_ORDER_VALUE", "action": "BLOCK", "message": "order value 9,000 > 1,000"}
    blocked = {"status": "blocked", "strategy": "s1", "symbol": "GOOG", "side": "BUY",
               "quantity": 20.0, "reason": "order value too big", "rules": [rule]}  # fmt: skip
    assert report(ns, {"ok": True, "result": blocked}) == 1
    assert "MAX_ORDER_VALUE (BLOCK): order value 9,000 > 1,000" in capsys.readouterr().out
    error = {"ok": False, "error": {"code": "unavailable", "message": "no price for GOOG yet"}}
    assert report(ns, error) == 1


def test_enter_text_shows_a_refusal_without_a_quantity() -> None:
    result = {"status": "blocked", "strategy": "s1", "symbol": "GOOG", "side": "BUY",
              "reason": "flatten in progress", "rules": []}  # fmt: skip
    assert enter_text(result) == "BLOCKED: BUY ? GOOG for s1: flatten in progress"


def fake_daemon(tmp_path: Path, busy: Busy | None = None, stopping: bool = False) -> Any:
    config = SimpleNamespace(symbols=("GOOG",))
    worker = SimpleNamespace(name="s1", config=config, state=WorkerState.RUNNING,
                             channel=tmp_path / "no-worker.sock")  # fmt: skip
    return SimpleNamespace(fleet={"s1": worker}, busy=busy, stopping=stopping)


def test_an_entry_while_the_daemon_stops_is_refused_without_asking_the_worker(tmp_path) -> None:
    args = Enter().validate(GOOD)
    with pytest.raises(ProtocolError) as caught:
        asyncio.run(Enter().execute(fake_daemon(tmp_path, stopping=True), args))
    assert caught.value.code == ErrorCode.UNAVAILABLE
    assert str(caught.value) == "s1 is stopping, not RUNNING"


def test_an_entry_during_a_flatten_is_blocked_without_asking_the_worker(tmp_path) -> None:
    args = Enter().validate(GOOD)
    result = asyncio.run(Enter().execute(fake_daemon(tmp_path, busy=Busy(BusyKind.FLATTEN)), args))
    assert result["status"] == "blocked" and result["reason"] == "flatten in progress"
    assert [r["rule"] for r in result["rules"]] == ["TRADING_GATE"]


def test_a_worker_that_does_not_answer_may_have_placed_it(tmp_path) -> None:
    args = Enter().validate({**GOOD, "client_ref": "r7"})
    with pytest.raises(ProtocolError) as caught:
        asyncio.run(Enter().execute(fake_daemon(tmp_path), args))
    assert caught.value.code == ErrorCode.TIMEOUT
    assert "may have been placed: repeat it with the same client_ref" in str(caught.value)


class OneShotDaemon:
    """A control socket that reads one request and answers `reply` (None: never answers)."""

    def __init__(self, folder: Path, reply: dict[str, Any] | None) -> None:
        self.path, self.reply, self.request = folder / "c.sock", reply, b""
        self.done = threading.Event()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            self.request = conn.makefile("rb").readline()
            if self.reply is not None:
                conn.sendall(json.dumps(self.reply).encode() + b"\n")
            self.done.wait(10)

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.server.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="tradd-ctl-", dir="/tmp"))  # AF_UNIX: short paths
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def enter_main(socket_path: Path, *extra: str) -> int:
    return main(["--socket", str(socket_path), *extra, "enter", "s1", "GOOG", "BUY",
                 "--quantity", "1"])  # fmt: skip


@pytest.mark.parametrize(
    ("reply", "code"),
    [(None, EXIT_UNREACHABLE),
     ({"ok": False, "error": {"code": "timeout", "message": "s1: no answer"}}, EXIT_FAILED)],
)  # fmt: skip
def test_an_entry_with_an_unknown_outcome_names_the_client_ref_to_repeat(
    short_dir, capsys, reply, code
) -> None:
    daemon = OneShotDaemon(short_dir, reply)
    try:
        assert enter_main(daemon.path, "--timeout", "0.3") == code
    finally:
        daemon.close()
    ref = json.loads(daemon.request)["args"]["client_ref"]  # made up: none was given
    assert ref.startswith("tradctl-") and len(ref) <= 64
    assert f"may have been placed. Repeat it with --client-ref {ref}" in capsys.readouterr().err


@pytest.mark.parametrize("amount", ["nan", "inf", "-3", "0", "lots", "2e11"])
def test_tradctl_refuses_an_amount_that_is_not_a_positive_number(amount, capsys) -> None:
    assert main(["enter", "s1", "GOOG", "BUY", "--value", amount]) == 2
    err = capsys.readouterr().err
    assert f"--value: must be a positive number up to 1e+11, got {amount!r}" in err


@pytest.mark.parametrize(
    ("option", "says"),
    [(["--quantity", "2.5"], "--quantity: must be whole shares, got '2.5'"),
     (["--quantity", "1e9"], "--quantity: must be a positive number up to 1e+08, got '1e9'"),
     (["--value", "1", "--client-ref", "r" * 65], "--client-ref: must be 1 to 64 printable")],
)  # fmt: skip
def test_tradctl_checks_what_the_daemon_checks_before_sending(option, says, capsys) -> None:
    assert main(["--socket", "/nonexistent.sock", "enter", "s1", "GOOG", "BUY", *option]) == 2
    assert says in capsys.readouterr().err


def test_tradctl_help_says_a_sell_may_open_or_flip_a_short(capsys) -> None:
    assert main(["enter", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "with no position it opens a short, and one larger than a long flips it short" in text
    assert "SELL may open or flip to a short" in " ".join(parser().description.split())


def test_an_entry_that_never_reached_the_daemon_says_nothing_of_a_placement(
    short_dir, capsys
) -> None:
    assert enter_main(short_dir / "absent.sock") == EXIT_UNREACHABLE
    err = capsys.readouterr().err
    assert "no control socket" in err and "may have been placed" not in err
    withdrawn = {"ok": False, "error": {"code": "timeout", "message": "s1: the worker did not "
                 "answer 'enter' in time: withdrawn before it ran, nothing placed"}}  # fmt: skip
    daemon = OneShotDaemon(short_dir, withdrawn)
    try:
        assert enter_main(daemon.path) == EXIT_FAILED
    finally:
        daemon.close()
    assert "may have been placed" not in capsys.readouterr().err
