"""`--execute` decisions against a fake daemon: what is sent, and each outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tradd.errors import TemporaryError
from tradd.research.scan.candidates import Candidate
from tradd.research.scan.execute import (
    DaemonFailed,
    DaemonUnreachable,
    Policy,
    Previous,
    document,
    execute,
    recorded,
)
from tradd.research.scoring import composite_score

from .conftest import Refs, executed

SMA, RSI = "strategies.sma_cross.SmaCross", "strategies.rsi.RsiReversion"
RUN = "scan-20261202-abcdef"
TEN = Policy(position_pct=10.0)


def strategy(name: str, cls: str, symbols: list[str], equity: float | None = 50_000.0,
             positions: dict[str, Any] | None = None, working: dict[str, float] | None = None,
             **setup: Any) -> dict[str, Any]:  # fmt: skip
    """A `status` strategy: by default running `cls` with its defaults on daily bars."""
    return {"name": name, "strategy_class": cls, "symbols": symbols, "state": "RUNNING",
            "params": {}, "params_file": None, "bar": "1d", **setup,
            "worker": {"equity": equity, "positions": positions or {},
                       "working_exposure": working or {}}}  # fmt: skip


def pick(symbol: str, path: str | None = SMA, score: float | None = 40.0,
         **changes: Any) -> Candidate:  # fmt: skip
    """A candidate whose backtest is eligible (a profitable trade), tested on 1d bars."""
    metrics: dict[str, Any] = {"total_return": 5.0, "sharpe": 1.2, "total_trades": 3,
                               "bar": "1d", **changes}  # fmt: skip
    return Candidate(symbol, path, score, **metrics)


class FakeDaemon:
    """Answers status with `fleet`, and enter with `answers[symbol]` (default: executed;
    an exception is raised, as a lost answer: the entry was placed), remembering refs as
    a worker does (`Refs`)."""

    def __init__(self, fleet: list[dict[str, Any]], answers: dict[str, Any] | None = None):
        self.fleet, self.answers = fleet, answers or {}
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.refs = Refs()

    def __call__(self, cmd: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.sent.append((cmd, dict(args)))
        if cmd == "status":
            return {"ok": True, "result": {"strategies": self.fleet}}
        answer = self.answers.get(args["symbol"])
        placed = answer is None or isinstance(answer, Exception)
        order_ref = f"{args['strategy']}-{len(self.entries())}"
        reply = self.refs.enter(args, lambda: executed(args, order_ref) if placed else answer)
        if isinstance(answer, Exception):
            raise answer
        return reply

    def entries(self) -> list[dict[str, Any]]:
        return [args for cmd, args in self.sent if cmd == "enter"]


def test_a_symbol_with_a_working_entry_is_not_entered_again() -> None:
    """Another scan's entry is sent but not filled: no position yet, still no second one."""
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG", "ORCL"], working={"GOOG": 50.0})])
    rows = execute([pick("GOOG"), pick("ORCL", score=30.0)], daemon, RUN, TEN)
    by = {r.symbol: r for r in rows}
    assert (
        by["GOOG"].status == "skipped" and by["GOOG"].reason == "s1 has working orders for +50 GOOG"
    )
    assert [e["symbol"] for e in daemon.entries()] == ["ORCL"]


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
        pick("GOOG", score=40.0), pick("ORCL", score=12.5), pick("NVDA", RSI, 50.0),
        pick("MSFT", RSI, 33.0), pick("TSLA", score=20.0),
        pick("AAPL", score=20.0, total_return=0.0, sharpe=0.0, total_trades=0),
        Candidate("IBM", None, None),
    ]  # fmt: skip
    rows = execute(candidates, daemon, RUN, TEN)
    assert [r.symbol for r in rows] == ["NVDA", "GOOG", "MSFT", "TSLA", "AAPL", "ORCL", "IBM"]
    outcome = {r.symbol: (r.status, r.daemon_strategy) for r in rows}
    assert outcome == {
        "GOOG": ("executed", "s1"), "ORCL": ("blocked", "s2"), "NVDA": ("skipped", "s3"),
        "MSFT": ("failed", "s4"), "TSLA": ("failed", None), "AAPL": ("skipped", None),
        "IBM": ("skipped", None),
    }  # fmt: skip
    by = {r.symbol: r for r in rows}
    assert (by["GOOG"].quantity, by["GOOG"].value, by["GOOG"].order_ref) == (50.0, 5000.0, "s1-1")
    assert by["GOOG"].client_ref == f"{RUN}:GOOG"
    assert by["ORCL"].rules[0]["rule"] == "MAX_ORDER_VALUE" and "5000" in str(by["ORCL"].reason)
    assert by["NVDA"].reason == "s3 already holds 12 NVDA"
    assert by["MSFT"].reason == "[unavailable] s4 is BACKOFF"
    assert by["TSLA"].reason == "no strategy in the daemon runs SmaCross on TSLA"
    assert str(by["AAPL"].reason).startswith("not eligible: total return 0.00% is not positive")
    assert "every strategy failed" in str(by["IBM"].reason)
    assert daemon.sent[0] == ("status", {})
    assert daemon.entries() == [
        {"strategy": "s1", "symbol": "GOOG", "side": "BUY", "value": 5000.0,
         "requested_by": f"tradd scan {RUN}", "client_ref": f"{RUN}:GOOG"},
        {"strategy": "s4", "symbol": "MSFT", "side": "BUY", "value": 5000.0,
         "requested_by": f"tradd scan {RUN}", "client_ref": f"{RUN}:MSFT"},
        {"strategy": "s2", "symbol": "ORCL", "side": "BUY", "value": 4000.0,
         "requested_by": f"tradd scan {RUN}", "client_ref": f"{RUN}:ORCL"},
    ]  # fmt: skip
    record = document(rows, RUN, TEN, "2026-12-02T10:00:00+00:00")
    assert record["counts"] == {"executed": 1, "blocked": 1, "failed": 2, "skipped": 3}
    assert (record["position_pct"], record["max_total_pct"], record["min_score"]) == (10, 100, 0)


def test_idle_losing_and_low_scoring_strategies_are_not_bought() -> None:
    """The score alone is no evidence: never trading scores 20, a 20% loss 6."""
    idle = composite_score(0.0, 0.0, 0.0, 0.0, 0)
    losing = composite_score(-20.0, -0.8, 10.0, 40.0, 4)
    assert idle == 20.0 and losing > 0
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG", "ORCL", "NVDA", "YHOO", "IBM"])])
    candidates = [
        pick("GOOG", score=idle, total_return=0.0, sharpe=0.0, total_trades=0),
        pick("ORCL", score=losing, total_return=-20.0, sharpe=-0.8, total_trades=4),
        pick("NVDA", score=24.9),
        Candidate("YHOO", SMA, 41.5),  # a stored scan from before the metrics were kept
        pick("IBM", score=25.0),
    ]  # fmt: skip
    rows = execute(candidates, daemon, RUN, Policy(10.0, min_score=25.0))
    reasons = {r.symbol: r.reason for r in rows if r.status == "skipped"}
    assert reasons == {
        "GOOG": "not eligible: total return 0.00% is not positive; Sharpe 0.000 is not "
        "positive; 0 trades in the backtest (at least 1 needed); composite score 20.0 is "
        "below --min-score 25",
        "ORCL": f"not eligible: total return -20.00% is not positive; Sharpe -0.800 is not "
        f"positive; composite score {losing:.1f} is below --min-score 25",
        "NVDA": "not eligible: composite score 24.9 is below --min-score 25",
        "YHOO": "the scan recorded no total_return, sharpe, total_trades for its best "
        "strategy (a scan by an older tradd?): not eligible; run the scan again",
    }
    assert [e["symbol"] for e in daemon.entries()] == ["IBM"]


def test_a_daemon_strategy_running_another_setup_gets_nothing_unless_any_setup() -> None:
    fleet = [
        strategy("s1", SMA, ["GOOG"], params={"fast": 5, "slow": 30}),  # slow: the default
        strategy("s2", SMA, ["ORCL"], bar="1m"),
        strategy("s3", SMA, ["NVDA"], params={"fast": 10}),  # the default: the same setup
        strategy("s4", SMA, ["YHOO"], params_file="/etc/tradd/best.toml"),
        {key: v for key, v in strategy("s5", SMA, ["IBM"]).items() if key != "params"},
    ]
    candidates = [pick(s) for s in ("GOOG", "ORCL", "NVDA", "YHOO", "IBM")]
    rows = {r.symbol: r for r in execute(candidates, FakeDaemon(fleet), RUN, TEN)}
    assert {s: r.status for s, r in rows.items()} == {
        "GOOG": "failed", "ORCL": "failed", "NVDA": "executed", "YHOO": "failed", "IBM": "failed",
    }  # fmt: skip
    assert rows["GOOG"].reason == (
        "s1 runs SmaCross with fast=5 (scanned: defaults fast=10): not the tested setup "
        "(--any-setup to enter anyway); nothing sent"
    )
    assert str(rows["ORCL"].reason).startswith(
        "s2 runs SmaCross on 1m bars (scanned 1d): not the tested setup"
    )
    assert "with params_file /etc/tradd/best.toml (not compared" in str(rows["YHOO"].reason)
    assert "does not report its params and bar" in str(rows["IBM"].reason)
    assert rows["NVDA"].note is None

    daemon = FakeDaemon(fleet)
    anyway = {r.symbol: r for r in execute(candidates, daemon, RUN, Policy(10.0, any_setup=True))}
    assert {r.status for r in anyway.values()} == {"executed"}
    assert anyway["GOOG"].note == (
        "s1 runs SmaCross with fast=5 (scanned: defaults fast=10): not the tested setup: "
        "entered anyway (--any-setup)"
    )
    assert len(daemon.entries()) == 5


def test_the_entries_of_one_execution_stay_within_the_total_cap_best_scores_first() -> None:
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG", "ORCL", "NVDA", "YHOO"])])
    candidates = [pick("GOOG", score=30.0), pick("ORCL", score=50.0), pick("NVDA", score=45.0),
                  pick("YHOO", score=20.0)]  # fmt: skip
    rows = execute(candidates, daemon, RUN, Policy(position_pct=30.0, max_total_pct=70.0))
    assert [(r.symbol, r.status) for r in rows] == [
        ("ORCL", "executed"), ("NVDA", "executed"), ("GOOG", "skipped"), ("YHOO", "skipped"),
    ]  # fmt: skip
    assert rows[2].reason == (
        "total cap reached (30,000.00 of 35,000.00 in this execution, --max-total-pct 70): "
        "15,000.00 more is over it"
    )
    assert [e["value"] for e in daemon.entries()] == [15_000.0, 15_000.0]


def test_a_lost_answer_and_an_ambiguous_or_idle_strategy_fail_without_guessing() -> None:
    daemon = FakeDaemon(
        [strategy("a", SMA, ["GOOG"]), strategy("b", SMA, ["GOOG"]),
         strategy("c", SMA, ["ORCL"], equity=None), strategy("d", SMA, ["NVDA"])],
        {"NVDA": DaemonUnreachable("no answer from /x within 60s")},
    )  # fmt: skip
    rows = execute([pick(s) for s in ("GOOG", "ORCL", "NVDA")], daemon, RUN, Policy(5))
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
        execute([pick("GOOG")], refuse, RUN, TEN)


def test_a_strategy_whose_worker_is_not_running_gets_nothing_from_its_stale_snapshot() -> None:
    idle = strategy("s1", SMA, ["GOOG"])  # its last snapshot still shows equity
    daemon = FakeDaemon([{**idle, "state": "BACKOFF"}])
    (row,) = execute([pick("GOOG")], daemon, RUN, TEN)
    assert (row.status, row.reason) == ("failed", "s1 is BACKOFF, not RUNNING: nothing sent")
    assert daemon.entries() == []


def test_a_repeat_of_a_run_never_enters_twice_and_the_worker_never_sees_a_reused_ref() -> None:
    """The worker answers a ref seen before with its first reply and refuses one reused
    for another amount. So a request whose outcome is unknown is repeated as it was (not
    resized from today's equity), a done one is not sent, and one the risk gate blocked
    (nothing placed) is a new attempt under a new ref."""
    blocked = {"ok": True, "result": {"status": "blocked", "reason": "too big", "rules": []}}
    unavailable = {"ok": False, "error": {"code": "unavailable", "message": "not connected"}}
    symbols = ["GOOG", "ORCL", "NVDA", "YHOO"]
    daemon = FakeDaemon([strategy("s1", SMA, symbols)],
                        {"GOOG": DaemonUnreachable("no answer"), "NVDA": blocked,
                         "YHOO": unavailable})  # fmt: skip
    candidates = [pick(s) for s in symbols]
    first = execute(candidates, daemon, RUN, TEN)
    assert [r.status for r in first] == ["failed", "executed", "blocked", "failed"]
    previous = recorded(first, 10.0)
    assert previous["ORCL"] == Previous(10.0, 5000.0, "executed", "s1-2", 1)

    daemon.fleet = [strategy("s1", SMA, symbols, equity=61_234.0)]  # ORCL not filled yet
    daemon.answers = {}
    heard: list[dict[str, Previous]] = []

    def planned(sending: Mapping[str, Previous]) -> None:
        assert len(daemon.entries()) == 4  # recorded before anything more is sent
        heard.append(dict(sending))

    again = execute(candidates, daemon, RUN, TEN, previous, planned)
    assert [r.status for r in again] == ["executed", "skipped", "executed", "executed"]
    assert again[0].order_ref == "s1-1"  # the first reply: it was placed the first time
    assert again[1].reason == "already entered by this run (order s1-2): not sent again"
    assert {s: (p.value, p.attempt) for s, p in heard[0].items()} == {
        "GOOG": (5000.0, 1), "NVDA": (6123.4, 2), "YHOO": (5000.0, 1),
    }  # fmt: skip
    assert [(a["symbol"], a["value"], a["client_ref"]) for a in daemon.entries()[4:]] == [
        ("GOOG", 5000.0, f"{RUN}:GOOG"), ("NVDA", 6123.4, f"{RUN}:NVDA:2"),
        ("YHOO", 5000.0, f"{RUN}:YHOO"),
    ]  # fmt: skip
    assert all(r.reason is None or "conflict" not in r.reason for r in again)


def test_a_request_with_no_known_outcome_is_not_resized() -> None:
    """Resized under its ref the worker would answer `conflict`; under a new ref it could
    place the entry twice. So it is refused, naming the size that learns the outcome."""
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG", "ORCL"])])
    previous = {"GOOG": Previous(10.0, 5000.0, "sending"), "ORCL": Previous(10.0, 5000.0, "failed")}
    rows = execute([pick("GOOG"), pick("ORCL")], daemon, RUN, Policy(5.0), previous)
    assert [r.status for r in rows] == ["failed", "failed"]
    assert rows[0].reason == (
        "this run's earlier entry (10%: 5,000.00) has no known outcome (sending; it may have "
        "been placed): repeat with --position-pct 10 to learn it; nothing sent"
    )
    assert daemon.entries() == []
    first = {"symbol": "GOOG", "side": "BUY", "value": 5000.0, "client_ref": f"{RUN}:GOOG"}
    daemon.refs.enter(first, lambda: executed({**first, "strategy": "s1"}, "s1-1"))
    resized = daemon.refs.enter({**first, "value": 2500.0}, dict)
    assert resized["error"]["code"] == "conflict"  # what the old resize would have met


def test_nothing_is_sent_when_what_would_be_sent_cannot_be_recorded() -> None:
    daemon = FakeDaemon([strategy("s1", SMA, ["GOOG"])])

    def database_down(sending: Mapping[str, Previous]) -> None:
        raise TemporaryError("cannot open database")

    with pytest.raises(TemporaryError):
        execute([pick("GOOG")], daemon, RUN, TEN, planned=database_down)
    assert daemon.entries() == []
