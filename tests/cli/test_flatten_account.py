"""`tradd flatten-account`, the kill switch without the daemon, as operators run it."""

from __future__ import annotations

import json
import time

from tests.fixtures.simulator import eventually
from tests.supervisor.test_emergency import Manual, closed_port, load, sim_open_orders
from tests.worker.conftest import sim_ledger
from tests.worker.test_process import bar, write_config
from tradd.persistence.db import open_database
from tradd.persistence.ledger import Ledger


def states(url: str, *names: str) -> dict[str, tuple[str, str | None]]:
    engine, sessions = open_database(url)
    try:
        return {n: (s.trading_state, s.reason) for n in names
                if (s := Ledger(sessions, n).state()) is not None}  # fmt: skip
    finally:
        engine.dispose()


def test_flatten_account_closes_everything_and_halts_every_strategy(
    tmp_path, simulator, run_cli
) -> None:
    url = f"sqlite:///{tmp_path / 'tradd.db'}"
    config = write_config(tmp_path, simulator, url)
    bar(simulator)  # the session's first trades
    with Manual(load(config)) as manual:
        manual.order("GOOG", "BUY", 12)
        manual.order("ORCL", "BUY", 40, limit=1.0)  # far below the market: keeps working
        eventually(lambda: len(sim_open_orders(simulator)) == 1, 10, "the limit working")
    assert sim_ledger(simulator, "")["positions"] == {"GOOG": 12.0}

    done = run_cli("flatten-account", "--config", str(config), "--timeout", "20")

    assert done.code == 0, done.stderr
    assert "flatten-account: FLAT" in done.stdout
    assert "GOOG" in done.stdout and "flat" in done.stdout and "manual-2" in done.stdout
    assert sim_ledger(simulator, "")["positions"] == {}
    assert sim_open_orders(simulator) == []
    assert states(url, "s1") == {"s1": ("HALTED", "flattened by flatten-account")}


def test_flatten_account_json_reports_an_already_flat_account(tmp_path, simulator, run_cli) -> None:
    url = f"sqlite:///{tmp_path / 'tradd.db'}"
    config = write_config(tmp_path, simulator, url)
    done = run_cli("flatten-account", "--config", str(config), "--json")
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["path"] == "sweep" and result["halted"] == ["s1"]
    assert result["symbols"] == {} and result["orders"] == [] and result["message"] == "flat"


def test_flatten_account_without_a_gateway_fails_fast_with_exit_1(
    tmp_path, simulator, run_cli
) -> None:
    url = f"sqlite:///{tmp_path / 'tradd.db'}"
    config = write_config(tmp_path, simulator, url)
    port = closed_port()
    started = time.monotonic()
    done = run_cli("flatten-account", "--config", str(config), "--timeout", "2",
                   env={"TRADD_BROKER__PORT": str(port)}, timeout=60)  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.code == 1
    assert f"could not connect to IB at 127.0.0.1:{port} as clientId 0 within 2s" in done.stderr
    assert "NOT confirmed flat" in done.stderr
    assert elapsed < 20, elapsed  # 2 s of trying, plus the interpreter's start
    assert states(url, "s1") == {"s1": ("HALTED", "flattened by flatten-account")}


def test_flatten_account_refuses_a_non_positive_timeout(tmp_path, simulator, run_cli) -> None:
    config = write_config(tmp_path, simulator, f"sqlite:///{tmp_path / 'tradd.db'}")
    done = run_cli("flatten-account", "--config", str(config), "--timeout", "0")
    assert done.code == 2 and "--timeout" in done.stderr
