"""`--execute` decisions against a fake daemon: what is sent, and each outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tradd.control.client import Unreachable
from tradd.errors import TemporaryError, UsageError
from tradd.research.scan.execute import (
    Candidate,
    DaemonFailed,
    Previous,
    candidates_from_summary,
    document,
    execute,
)

SMA, RSI = "strategies.sma_cross.SmaCross", "strategies.rsi.RsiReversion"
RUN = "scan-20261202-abcdef"


def strategy(name: str, cls: str, symbols: list[str], equity: float | None = 50_000.0,
             positions: dict[str, Any] | None = None,
             working: dict[str, float] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"name": name, "strategy_class": cls, "symbols": symbols, "state": "RUNNING",
            "worker": {"equity": equity, "positions": positions or {},
                       "working_exposure": working or {}}}  # fmt: skip


def test_a_symbol_with_a_working_entry_is_not_entered_again() -> None:
    """Another scan's entry is sent but not filled: no position yet, still no second one."""
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG", "ORCL"], working={"GOOG": 50.0})])
    rows = execute([Candidate("GOOG", SMA, 40.0), Candidate("ORCL", SMA, 30.0)], daemon, RUN,
                   position_pct=10.0)  # fmt: skip
    by = {r.symbol: r for r in rows}
    assert (
        by["GOOG"].status == "skipped" and by["GOOG"].reason == "s1 has working orders for +50 GOOG"
    )
    assert [e["symbol"] for e in daemon.entries()] == ["ORCL"]


class FakeDaemon:
    """Answers status with `fleet`, and enter with `answers[symbol]` (default: executed)."""

    def __init__(self, fleet: list[dict[str, Any]], answers: dict[str, Any] | None = None):
        self.fleet, self.answers = fleet, answers or {}
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, cmd: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.sent.append((cmd, dict(args)))
        if cmd == "status":
            return {"ok": True, "result": {"strategies": self.fleet}}
        answer = self.answers.get(args["symbol"])
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            return answer  # type: ignore[no-any-return]
        quantity = args["value"] // 100.0
        return {"ok": True, "result": {
            "status": "executed", "strategy": args["strategy"], "symbol": args["symbol"],
            "side": "BUY", "quantity": quantity, "price": 100.0, "value": quantity * 100.0,
            "order_ref": f"{args['strategy']}-1"}}  # fmt: skip

    def entries(self) -> list[dict[str, Any]]:
        return [args for cmd, args in self.sent if cmd == "enter"]


def test_the_best_strategy_of_each_symbol_is_entered_through_its_daemon_strategy() -> None:
    blocked = {"ok": True, "result": {
        "status": "blocked", "reason": "order value 5000 > 100", "quantity": 50, "price": 100.0,
        "rules": [{"rule": "MAX_ORDER_VALUE", "action": "BLOCK", "message": "too big",
                   "value": 5000.0, "limit": 100.0}]}}  # fmt: skip
    refused = {"ok": False, "error": {"code": "unavailable", "message": "s4 is BACKOFF"}}
    daemon = FakeDaemon(
        [
            strategy("s1", SMA, ["GOOG", "AAPL"]),
            strategy("s2", "strategies.sma_cross.SmaCross", ["ORCL"], equity=40_000.0),
            strategy("s3", RSI, ["NVDA"], positions={"NVDA": {"quantity": 12.0}}),
            strategy("s4", RSI, ["MSFT"]),
            strategy("s5", RSI, ["GOOG"]),
        ],
        {"ORCL": blocked, "MSFT": refused},
    )
    candidates = [
        Candidate("GOOG", SMA, 40.0), Candidate("ORCL", SMA, 12.5),
        Candidate("NVDA", RSI, 50.0), Candidate("MSFT", RSI, 33.0),
        Candidate("TSLA", SMA, 20.0), Candidate("AAPL", SMA, 0.0),
        Candidate("IBM", None, None),
    ]  # fmt: skip
    rows = execute(candidates, daemon, RUN, position_pct=10.0)
    outcome = {r.symbol: (r.status, r.daemon_strategy) for r in rows}
    assert outcome == {
        "GOOG": ("executed", "s1"), "ORCL": ("blocked", "s2"), "NVDA": ("skipped", "s3"),
        "MSFT": ("failed", "s4"), "TSLA": ("failed", None), "AAPL": ("skipped", None),
        "IBM": ("skipped", None),
    }  # fmt: skip
    by = {r.symbol: r for r in rows}
    assert (by["GOOG"].quantity, by["GOOG"].value, by["GOOG"].order_ref) == (50.0, 5000.0, "s1-1")
    assert by["ORCL"].rules[0]["rule"] == "MAX_ORDER_VALUE" and "5000" in str(by["ORCL"].reason)
    assert by["NVDA"].reason == "s3 already holds 12 NVDA"
    assert by["MSFT"].reason == "[unavailable] s4 is BACKOFF"
    assert by["TSLA"].reason == "no strategy in the daemon runs SmaCross on TSLA"
    assert "not positive" in str(by["AAPL"].reason) and "every strategy failed" in str(
        by["IBM"].reason
    )
    assert daemon.sent[0] == ("status", {})
    assert daemon.entries() == [
        {"strategy": "s1", "symbol": "GOOG", "side": "BUY", "value": 5000.0,
         "requested_by": f"tradd scan {RUN}", "client_ref": f"{RUN}:GOOG"},
        {"strategy": "s2", "symbol": "ORCL", "side": "BUY", "value": 4000.0,
         "requested_by": f"tradd scan {RUN}", "client_ref": f"{RUN}:ORCL"},
        {"strategy": "s4", "symbol": "MSFT", "side": "BUY", "value": 5000.0,
         "requested_by": f"tradd scan {RUN}", "client_ref": f"{RUN}:MSFT"},
    ]  # fmt: skip
    record = document(rows, RUN, 10.0, "2026-12-02T10:00:00+00:00")
    assert record["counts"] == {"executed": 1, "blocked": 1, "failed": 2, "skipped": 3}


def test_a_lost_answer_and_an_ambiguous_or_idle_strategy_fail_without_guessing() -> None:
    daemon = FakeDaemon(
        [strategy("a", SMA, ["GOOG"]), strategy("b", SMA, ["GOOG"]),
         strategy("c", SMA, ["ORCL"], equity=None), strategy("d", SMA, ["NVDA"])],
        {"NVDA": Unreachable("no answer from /x within 60s")},
    )  # fmt: skip
    rows = execute([Candidate(s, SMA, 30.0) for s in ("GOOG", "ORCL", "NVDA")], daemon, RUN, 5)
    assert [r.status for r in rows] == ["failed"] * 3
    assert "ambiguous: a, b all run SmaCross on GOOG" in str(rows[0].reason)
    assert "c reports no equity" in str(rows[1].reason)
    assert "may have been placed" in str(rows[2].reason)
    assert [a["symbol"] for a in daemon.entries()] == ["NVDA"]


def test_a_daemon_refusing_status_sends_nothing() -> None:
    def refuse(cmd: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert cmd == "status"
        return {"ok": False, "error": {"code": "internal", "message": "boom"}}

    with pytest.raises(DaemonFailed, match=r"\[internal\] boom"):
        execute([Candidate("GOOG", SMA, 30.0)], refuse, RUN, 5)


def test_a_stored_scan_gives_its_best_per_symbol_or_the_subset_asked_for() -> None:
    summary = {"best": {"GOOG": {"strategy": SMA, "composite_score": 41.5}, "NOPE": None}}
    assert candidates_from_summary(summary, None) == [
        Candidate("GOOG", SMA, 41.5), Candidate("NOPE", None, None),
    ]  # fmt: skip
    assert candidates_from_summary(summary, ["GOOG"]) == [Candidate("GOOG", SMA, 41.5)]
    with pytest.raises(UsageError, match="--symbols ORCL: not in that scan"):
        candidates_from_summary(summary, ["ORCL", "GOOG"])


def test_a_strategy_whose_worker_is_not_running_gets_nothing_from_its_stale_snapshot() -> None:
    idle = strategy("s1", SMA, ["GOOG"])  # its last snapshot still shows equity
    daemon = FakeDaemon([{**idle, "state": "BACKOFF"}])
    (row,) = execute([Candidate("GOOG", SMA, 30.0)], daemon, RUN, 10.0)
    assert (row.status, row.reason) == ("failed", "s1 is BACKOFF, not RUNNING: nothing sent")
    assert daemon.entries() == []


def test_a_repeat_of_a_run_resends_the_first_request_and_never_a_done_entry() -> None:
    """--from-run: same client_ref and value as before (equity moved since), so the worker
    answers as it did the first time; an entry this run made is not sent again."""
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG", "ORCL", "NVDA"], equity=61_234.0)])
    previous = {
        "GOOG": Previous(10.0, 5000.0, "sending"),  # the answer was lost
        "ORCL": Previous(10.0, 4000.0, "executed", "s1-7"),  # not filled yet: no position
        "NVDA": Previous(5.0, 2500.0, "failed"),  # another size asked for now: resized
    }
    heard: list[dict[str, float]] = []

    def planned(values: Mapping[str, float]) -> None:
        assert daemon.entries() == []  # recorded before anything is sent
        heard.append(dict(values))

    candidates = [Candidate(s, SMA, 30.0) for s in ("GOOG", "ORCL", "NVDA")]
    rows = execute(candidates, daemon, RUN, 10.0, previous, planned)
    assert [r.status for r in rows] == ["executed", "skipped", "executed"]
    assert rows[1].reason == "already entered by this run (order s1-7): not sent again"
    assert heard == [{"GOOG": 5000.0, "NVDA": 6123.4}]
    assert [(a["symbol"], a["value"], a["client_ref"]) for a in daemon.entries()] == [
        ("GOOG", 5000.0, f"{RUN}:GOOG"), ("NVDA", 6123.4, f"{RUN}:NVDA"),
    ]  # fmt: skip


def test_nothing_is_sent_when_what_would_be_sent_cannot_be_recorded() -> None:
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG"])])

    def database_down(values: Mapping[str, float]) -> None:
        raise TemporaryError("cannot open database")

    with pytest.raises(TemporaryError):
        execute([Candidate("GOOG", SMA, 30.0)], daemon, RUN, 10.0, planned=database_down)
    assert daemon.entries() == []
