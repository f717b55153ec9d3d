"""`tradd backtest --risk`: the live risk gate inside the simulated broker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import backtrader as bt
import pytest

from strategies.sma_cross import SmaCross
from tradd.config.risk import RiskSettings
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine, RunResult
from tradd.research.riskbroker import RiskBroker
from tradd.risk import Rule

from ..conftest import SAMPLE_DATA, RunCli

START, END = date(2005, 1, 1), date(2012, 12, 31)
PARAMS = {"fast": 10, "slow": 50}


def risk_toml(**sections: str) -> str:
    """A [risk] table with every rule off except `sections` (rule key -> TOML lines)."""
    off = {rule.key: "limit = 'off'" for rule in Rule}
    off["max_daily_loss"] = "limit_pct = 'off'"
    return "".join(f"[risk.{key}]\n{body}\n" for key, body in {**off, **sections}.items())


class RecordingSmaCross(SmaCross):
    """SmaCross that notes every order notification it gets, in `statuses` (a list param)."""

    params = (("statuses", None),)

    def notify_order(self, order: Any) -> None:
        self.p.statuses.append((order.getstatusname(), order.isbuy(), abs(order.size)))


def only(**sections: Any) -> RiskSettings:
    off: dict[str, Any] = {rule.key: {"limit": None} for rule in Rule}
    off["max_daily_loss"] = {"limit": None, "limit_pct": None}
    return RiskSettings(**{**off, **sections})


@dataclass(frozen=True)
class Run:
    report: dict[str, Any]
    statuses: list[tuple[str, bool, float]]
    """(status, is buy, size) of every order notification the strategy got."""
    result: RunResult
    days: list[str]
    """The bars' dates, YYYY-MM-DD, aligned with result.equity."""


def run(settings: RiskSettings) -> Run:
    bars = DataStore(SAMPLE_DATA).load("GOOG", "1d", START, END)
    broker = RiskBroker(settings)
    statuses: list[tuple[str, bool, float]] = []
    engine = BacktestEngine(RecordingSmaCross, [bars], BrokerConfig(), backtrader_broker=broker)
    result = engine.run({**PARAMS, "statuses": statuses})
    days = [str(day) for day in engine.clock.astype("datetime64[D]")]
    return Run(broker.report(), statuses, result, days)


def backtest(run_cli: RunCli, tmp_path: Path, name: str, risk_toml: str | None) -> Any:
    out = tmp_path / name
    args = ["backtest", "--strategy", "strategies.sma_cross.SmaCross", "--symbols", "GOOG"]
    args += ["--start", str(START), "--end", str(END), "--param", "fast=10", "--param", "slow=50"]
    args += ["--output", str(out), "--data-dir", str(SAMPLE_DATA)]
    if risk_toml is not None:
        config = tmp_path / f"{name}.toml"
        config.write_text(risk_toml)
        args += ["--config", str(config), "--risk"]
    else:
        args += ["--config", str(tmp_path / "none.toml")]
        (tmp_path / "none.toml").write_text("")
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    return json.loads((out / "result.json").read_text()), result.stdout


@pytest.mark.slow
def test_reduce_size_shrinks_every_entry_and_the_exposure(run_cli: RunCli, tmp_path: Path) -> None:
    tight = risk_toml(max_position_size="limit = 20\naction = 'REDUCE_SIZE'")
    plain, plain_out = backtest(run_cli, tmp_path, "plain", None)
    risky, risky_out = backtest(run_cli, tmp_path, "risky", tight)
    assert "risk" not in plain and "risk:" not in plain_out
    report = risky["risk"]
    assert report["enabled"] is True
    decisions = report["decisions"]
    assert decisions and all(d["verdict"] == "RESIZED" for d in decisions)
    assert report["counts"] == {"blocked": 0, "resized": len(decisions), "alerts": 0, "closes": 0}
    for d in decisions:
        assert d["rules"] == ["MAX_POSITION_SIZE"]
        assert d["requested"] * d["price"] / d["equity"] > 0.9  # the sizer's 95%
        assert d["approved"] * d["price"] / d["equity"] <= 0.20
        assert d["approved"] == int(d["approved"])
    assert f"risk: 0 blocked, {len(decisions)} resized, 0 alerts, 0 closes" in risky_out
    # same signals, a fifth of the capital: the same trades with far smaller swings
    assert len(risky["trades"]) == len(plain["trades"])
    swing = sum(abs(t["pnl"]) for t in risky["trades"])
    assert swing < 0.4 * sum(abs(t["pnl"]) for t in plain["trades"])
    assert risky["metrics"]["max_drawdown"] < 0.5 * plain["metrics"]["max_drawdown"]


def test_blocked_orders_are_rejected_to_the_strategy() -> None:
    done = run(only(max_order_value={"limit": 10_000, "action": "BLOCK"}))
    report = done.report
    assert done.result.trades == [] and report["counts"]["blocked"] > 0
    assert {d["verdict"] for d in report["decisions"]} == {"BLOCKED"}
    assert all(d["rules"] == ["MAX_ORDER_VALUE"] for d in report["decisions"])
    assert {status for status, _, _ in done.statuses} == {"Rejected"}
    # Backtrader delivers a notification at the next bar: none after the last one
    delivered = [d for d in report["decisions"] if d["time"][:10] != done.days[-1]]
    assert len(done.statuses) == len(delivered) >= report["counts"]["blocked"] - 1


def test_resized_orders_fill_at_the_approved_size() -> None:
    done = run(only(max_position_size={"limit": 20, "action": "REDUCE_SIZE"}))
    approved = [d["approved"] for d in done.report["decisions"]]
    filled = [size for status, isbuy, size in done.statuses if status == "Completed" and isbuy]
    assert approved and filled == approved


def test_drawdown_close_sends_system_closes_and_stops_new_entries() -> None:
    done = run(only(max_drawdown={"limit": 5, "action": "CLOSE_POSITION"}))
    decisions = done.report["decisions"]
    assert decisions[0]["verdict"] == "BREACH"
    assert decisions[0]["rules"] == ["MAX_DRAWDOWN"] and decisions[0]["close"] == ["GOOG"]
    close = decisions[1]
    assert (close["verdict"], close["side"], close["symbol"]) == ("SYSTEM", "SELL", "GOOG")
    assert done.report["counts"]["closes"] == 1
    assert done.report["final_state"] == "REDUCING"  # nobody resumes a backtest
    later = decisions[2:]
    assert later and all(d["verdict"] == "BLOCKED" and "REDUCING" in d["reason"] for d in later)
    sells = [size for status, isbuy, size in done.statuses if status == "Completed" and not isbuy]
    assert sells[-1] == close["requested"]
    assert len(done.result.trades) == 1  # the trade the close ended; no entry after it


def test_daily_loss_is_measured_from_the_previous_close_and_resets_each_day() -> None:
    done = run(only(max_daily_loss={"limit_pct": 1, "action": "BLOCK"}))
    breaches = [d for d in done.report["decisions"] if d["verdict"] == "BREACH"]
    equity = done.result.equity
    losing_days = {
        done.days[i]
        for i in range(1, len(equity))
        if equity[i - 1] - equity[i] > 0.01 * equity[i - 1]
    }
    assert len(losing_days) > 5
    assert {d["time"][:10] for d in breaches} == losing_days
    # each breach found the strategy ACTIVE again: the day before's REDUCING had ended
    assert all(d["reason"].endswith("trading now REDUCING") for d in breaches)
    assert all(d["rules"] == ["MAX_DAILY_LOSS"] for d in breaches)


class BracketOnce(bt.Strategy):  # type: ignore[misc]
    """Sends one bracket (limit entry, stop-loss, take-profit) of 1000 shares on day one."""

    params = (("statuses", None),)

    def next(self) -> None:
        if len(self) == 1:
            price = self.data.close[0]
            self.buy_bracket(size=1000, price=price, stopprice=price / 2, limitprice=price * 2)

    def notify_order(self, order: Any) -> None:
        self.p.statuses.append((order.getstatusname(), order.isbuy(), abs(order.size)))


def bracket_statuses(settings: RiskSettings) -> list[tuple[str, bool, float]]:
    bars = DataStore(SAMPLE_DATA).load("GOOG", "1d", START, date(2005, 2, 28))
    engine = BacktestEngine(
        BracketOnce, [bars], BrokerConfig(), backtrader_broker=RiskBroker(settings)
    )
    statuses: list[tuple[str, bool, float]] = []
    engine.run({"statuses": statuses})
    return statuses


def test_bracket_children_follow_their_parent() -> None:
    resized = bracket_statuses(only(max_position_size={"limit": 20, "action": "REDUCE_SIZE"}))
    parent_size = next(size for status, isbuy, size in resized if isbuy and status == "Accepted")
    assert parent_size < 1000
    child_sizes = {size for status, isbuy, size in resized if not isbuy and status == "Accepted"}
    assert child_sizes == {parent_size}
    refused = bracket_statuses(only(max_position_size={"limit": 20, "action": "BLOCK"}))
    assert [status for status, _, _ in refused] == ["Rejected"] * 3
