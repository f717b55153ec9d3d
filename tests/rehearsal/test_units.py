"""The rehearsal's own parts, without processes: the schedule, the journal, the verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from tradd.rehearsal import schedule
from tradd.rehearsal.invariants import Ledger, LedgerFill, LedgerOrder, check
from tradd.rehearsal.probes import GatewayJournal, Tradable, why_blocked
from tradd.rehearsal.runner import trading_days
from tradd.simgw.faults import CATALOGUE


def test_schedule_is_the_seeds_and_covers_every_kind() -> None:
    a = schedule.build(7, 200.0, ["churn", "sma", "rsi"])
    assert a == schedule.build(7, 200.0, ["churn", "sma", "rsi"])
    assert a != schedule.build(8, 200.0, ["churn", "sma", "rsi"])
    assert {e.kind for e in a} == set(schedule.KINDS)
    assert all(10.0 <= e.at <= 200.0 * 0.85 for e in a)
    assert [e.at for e in a] == sorted(e.at for e in a)
    assert all(e.target for e in a if schedule.SCOPE[e.kind] == "one")


def test_schedule_covers_the_simulators_whole_catalogue() -> None:
    undo_names = {"unstall", "accept", "restored", "release", "heed"}  # each kind's undo
    covered = {k.removesuffix("_reset").removesuffix("_data_lost") for k in schedule.SIM_FAULTS}
    assert set(CATALOGUE) - undo_names <= covered


def test_the_sample_data_gives_a_weekend_and_a_holiday() -> None:
    from datetime import date

    warmup, days = trading_days(date(2006, 2, 17), 2)
    assert warmup == "2006-02-16"  # a session to start up in
    assert days == ["2006-02-17", "2006-02-21"]  # Sat, Sun and Presidents' Day skipped


def _journal(tmp_path: Path, *entries: dict[str, object]) -> GatewayJournal:
    path = tmp_path / "simgw.log"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + '{"event": "half')
    journal = GatewayJournal(path)
    journal.read(0.0)
    return journal


def _placed(ref: str, order_id: int = 1) -> dict[str, object]:
    return {"event": "simgw.order_placed", "ref": ref, "client_id": 21, "order_id": order_id}


def _exec(exec_id: str, ref: str, shares: float = 10, commission: float = 1.0) -> dict[str, object]:
    return {"event": "simgw.execution", "exec_id": exec_id, "ref": ref, "shares": shares,
            "commission": commission, "side": "BUY", "symbol": "GOOG"}  # fmt: skip


def _ledger(*fills: LedgerFill, orders: tuple[LedgerOrder, ...] = ()) -> Ledger:
    return Ledger({o.ref: o for o in orders}, {f.exec_id: f for f in fills})


def test_journal_reads_whole_lines_only(tmp_path: Path) -> None:
    journal = _journal(tmp_path, _placed("a-1"), _exec("e1", "a-1"))
    assert set(journal.placed) == {"a-1"} and set(journal.executions) == {"e1"}
    with journal.path.open("a") as log:
        log.write('", "ref": "x"}\n')  # the rest of the half line: not an event we know
    journal.read(1.0)
    assert set(journal.executions) == {"e1"}


def test_agreeing_books_pass(tmp_path: Path) -> None:
    journal = _journal(tmp_path, _placed("a-1"), _exec("e1", "a-1"))
    order = LedgerOrder("a-1", "a", "GOOG", "Filled", 10.0)
    ledger = _ledger(LedgerFill("e1", "a-1", "GOOG", "BUY", 10.0, 1.0), orders=(order,))
    verdict = check(journal, ledger, {"GOOG": 10.0}, now=100.0, grace=10.0)
    assert verdict.ok, verdict.problems
    assert verdict.counts["lost"] == 0 and verdict.counts["fills"] == 1


def test_lost_fill_wrong_commission_and_ref_twice_are_caught(tmp_path: Path) -> None:
    journal = _journal(
        tmp_path, _placed("a-1", 1), _placed("a-1", 2), _exec("e1", "a-1"),
        _exec("e2", "a-1", commission=1.25), _placed("stranger"),
    )  # fmt: skip
    order = LedgerOrder("a-1", "a", "GOOG", "Filled", 0.0)
    ledger = _ledger(LedgerFill("e2", "a-1", "GOOG", "BUY", 10.0, 1.24), orders=(order,))
    verdict = check(journal, ledger, {"GOOG": 20.0}, now=100.0, grace=10.0)
    p = verdict.problems
    assert p["fills equal (execId, qty)"] == ["lost: e1 (a-1)"]
    assert len(p["commissions to the cent"]) == 1
    assert len(p["no orderRef twice"]) == 1
    assert p["gateway orders in ledger"] == ["stranger: 1 at the gateway"]
    assert p["positions equal"] == ["GOOG: gateway 20, ledger 10"]
    assert p["order rows agree with fills"] == ["a-1: Filled with filled=0, fills 10"]
    assert verdict.counts["lost"] == 1 and verdict.counts["duplicated"] == 1  # a-1 twice


def test_in_flight_differences_wait_for_the_grace(tmp_path: Path) -> None:
    journal = _journal(tmp_path, _placed("a-1"), _exec("e1", "a-1"))
    verdict = check(journal, _ledger(), None, now=5.0, grace=10.0)
    assert verdict.ok, verdict.problems
    assert not check(journal, _ledger(), None, now=15.0, grace=10.0).ok


def test_tradable_share_and_why_blocked() -> None:
    view = {"state": "RUNNING", "worker": {"connection": "connected", "trading_state": "ACTIVE",
                                           "blocked_reason": ""}}  # fmt: skip
    assert why_blocked(view) == ""
    assert why_blocked({**view, "state": "BACKOFF"}) == "worker BACKOFF"
    stale = {**view, "worker": {**view["worker"], "blocked_reason": "market data stale for X"}}
    tradable = Tradable()
    for v in (view, view, view, stale):
        tradable.record("s", 0.5, why_blocked(v))
    assert tradable.share("s") == 0.75
    assert tradable.reasons["s"] == {"market data stale for X": 0.5}


def test_cli_refuses_bad_arguments_and_a_used_workdir(tmp_path: Path, capsys) -> None:
    import pytest

    from tradd.rehearsal.cli import main

    (tmp_path / "old.txt").write_text("a previous run")
    assert main(["--workdir", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["--days", "0"])
    assert exited.value.code == 2
    assert main(["--days", "5000", "--workdir", str(tmp_path / "new")]) == 2
    assert "the sample data has" in capsys.readouterr().err


def test_an_order_being_sent_is_judged_only_at_the_end(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    sending = LedgerOrder("a-2", "a", "GOOG", "PendingSubmit", 0.0)
    unsent = LedgerOrder("a-3", "a", "GOOG", "NotSent", 0.0)
    ledger = _ledger(orders=(sending, unsent))
    assert check(journal, ledger, None, now=100.0, grace=10.0).ok
    final = check(journal, ledger, {}, now=100.0, grace=10.0)
    assert final.problems["ledger orders at gateway"] == ["a-2 (PendingSubmit) never reached it"]


def test_an_order_called_unsent_that_the_gateway_placed_fails(tmp_path: Path) -> None:
    """The rehearsal's lost fills began as orders marked `NotSent` that had been placed."""
    journal = _journal(tmp_path, _placed("a-1"))
    ledger = _ledger(orders=(LedgerOrder("a-1", "a", "GOOG", "NotSent", 0.0),))
    final = check(journal, ledger, {}, now=100.0, grace=10.0)
    assert final.problems["ledger orders at gateway"] == ["a-1 (NotSent) was placed at the gateway"]
    unknown = _ledger(orders=(LedgerOrder("a-1", "a", "GOOG", "Unknown", 0.0),))
    assert check(_journal(tmp_path), unknown, {}, now=100.0, grace=10.0).ok


def test_the_summary_passes_or_names_each_failure_and_the_seed(tmp_path: Path) -> None:
    from tradd.rehearsal.probes import Usage
    from tradd.rehearsal.report import summary
    from tradd.rehearsal.runner import Runner, describe
    from tradd.rehearsal.stack import Options

    outcome = Runner(Options(days=2, seed=42), tmp_path / "w").outcome  # nothing started
    outcome.tradable.record("churn", 100.0, "")
    life = Usage("supervisor", 1, 0.0, (80_000, 16), (81_000, 17), 300.0)
    outcome.resources.lives[("supervisor", 1)] = life
    text, passed = summary(outcome)
    assert passed and text.endswith("PASS")
    assert "supervisor" in text and "+1.2%" in text

    outcome.tradable.record("churn", 2.0, "market data stale for GOOG (no bars)")
    life.last = (81_000, 40)
    outcome.latency.record("status", 1.5, 10.0)
    text, passed = summary(outcome)
    assert not passed
    assert "churn could trade 98.0% of open-market time (target 99%)" in text
    assert "supervisor descriptors grew 16 -> 40" in text
    assert "slow answer: status took 1.50s at +10s" in text
    assert "reproduce with seed 42: python -m tradd.rehearsal --days 2 --seed 42" in text
    data = json.loads(json.dumps(describe(outcome)))
    assert data["seed"] == 42 and data["tradable"]["churn"] == 100 / 102
    assert data["answers"]["slow"] == ["status took 1.50s at +10s"]
    assert data["resources"]["supervisor"]["last"] == [81_000, 40]


def test_the_soak_judges_rss_growth_of_tradd_not_of_the_simulator(tmp_path: Path) -> None:
    """`make soak` (no faults) fails on RSS growth past the limit after warm-up; the
    simulator is shown but not judged, and a run with faults (restarts) is not judged."""
    from tradd.rehearsal.probes import Usage
    from tradd.rehearsal.report import failures
    from tradd.rehearsal.runner import Runner
    from tradd.rehearsal.stack import Options

    soak = Runner(Options(days=2, seed=1, faults=False), tmp_path / "soak").outcome
    soak.resources.lives[("rsi", 7)] = Usage("rsi", 7, 0.0, (100_000, 14), (105_100, 14), 600.0)
    soak.resources.lives[("sma", 8)] = Usage("sma", 8, 0.0, (100_000, 14), (104_900, 14), 600.0)
    soak.resources.lives[("simgw", 9)] = Usage("simgw", 9, 0.0, (100_000, 9), (150_000, 9), 600.0)
    assert failures(soak) == ["rsi RSS grew +5.1% after warm-up"]
    faulted = Runner(Options(days=2, seed=1), tmp_path / "faults").outcome
    faulted.resources.lives[("rsi", 7)] = Usage("rsi", 7, 0.0, (100_000, 14), (150_000, 14), 600.0)
    assert failures(faulted) == []
