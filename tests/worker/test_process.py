"""The worker as operators run it: `python -m tradd.worker` in its own process.

Crash safety is shown with real SIGKILLs at the two worst moments (an order persisted
but not sent; sent but not acknowledged) and a restart: no order ever reaches the
simulator twice. Also: SIGTERM stops cleanly, configuration errors exit 78.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually, strategy_entry, worker_settings
from tradd.persistence.models import OrderStatus
from tradd.simgw.background import BackgroundGateway
from tradd.worker.channel import request

from .conftest import assert_ledger_matches_simulator, sim_ledger


def write_config(tmp_path: Path, sim: BackgroundGateway, url: str, **entry: Any) -> Path:
    """A tradd.toml for one scripted strategy against `sim`, on the simulator's clock."""
    settings = worker_settings(tmp_path, sim.port, url, [strategy_entry(**entry)],
                               broker={"market_clock": "gateway"})  # fmt: skip
    document = settings.model_dump(mode="json", exclude_none=True)
    document["database"]["url"] = url
    path = tmp_path / "tradd.toml"
    path.write_text(tomli_w.dumps(document))
    return path


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `python -m tradd.worker`; any still running at the end is killed (a failed
    assertion must not leave a worker trading against nobody)."""
    started: list[subprocess.Popen[str]] = []

    def start(config: Path, failpoints: str = "", name: str = "s1") -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        if failpoints:
            env["TRADD_FAILPOINTS"] = failpoints
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradd.worker", "--config", str(config), "--strategy", name],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def wait_ready(tmp_path: Path, proc: subprocess.Popen[str]) -> Path:
    sock = tmp_path / "run" / "s1.sock"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"worker exited {proc.returncode}: {proc.stderr.read()}")
        try:
            return bool(sock.exists() and request(sock, "status")["result"]["ready"])
        except (OSError, KeyError, ValueError):
            return False

    eventually(ready, 30, "worker ready")
    return sock


def booked(ledger: Any, count: int) -> bool:
    """`count` fills in the ledger, each with its commission."""
    fills = ledger.fills()
    return len(fills) == count and all(f.commission is not None for f in fills)


def bar(sim: BackgroundGateway) -> None:
    sim.call(sim.gw.advance, 60)


def test_sigkill_after_persisting_before_sending_sends_nothing_twice(
    tmp_path, spawn, simulator, sqlite_url, ledger_for
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url, params={"script": "1:BUY:10"})
    proc = spawn(config, failpoints="after_persist")
    wait_ready(tmp_path, proc)
    bar(simulator)
    assert proc.wait(20) == -signal.SIGKILL
    ledger = ledger_for()
    assert [(o.order_ref, o.status) for o in ledger.orders()] == [("s1-1", OrderStatus.CREATED)]
    assert sim_ledger(simulator)["orders"] == []
    proc = spawn(config)
    sock = wait_ready(tmp_path, proc)
    assert ledger.order("s1-1").status == OrderStatus.NOT_SENT
    bar(simulator)  # the restarted strategy decides afresh: a new order, a new ref
    eventually(lambda: sim_ledger(simulator)["fills"], 10, "the new order filled")
    eventually(lambda: booked(ledger, 1), 10, "its fill booked")
    assert sim_ledger(simulator)["orders"] == ["s1-2"]
    assert_ledger_matches_simulator(simulator, ledger)
    assert request(sock, "stop")["ok"]
    assert proc.wait(20) == 0


def test_sigkill_after_sending_adopts_the_order_on_restart(
    tmp_path, spawn, simulator, sqlite_url, ledger_for
) -> None:
    config = write_config(
        tmp_path, simulator, sqlite_url, params={"script": "1:LIMIT_BUY:10", "offset": 0.3}
    )
    proc = spawn(config, failpoints="after_send")
    wait_ready(tmp_path, proc)
    bar(simulator)
    assert proc.wait(20) == -signal.SIGKILL
    eventually(lambda: sim_ledger(simulator)["orders"] == ["s1-1"], 10, "order at the gateway")
    ledger = ledger_for()
    assert ledger.order("s1-1").status == OrderStatus.CREATED
    proc = spawn(config, failpoints="")
    sock = wait_ready(tmp_path, proc)
    adopted = ledger.order("s1-1")
    assert adopted.status == OrderStatus.SUBMITTED and adopted.ib_order_id is not None
    assert request(sock, "status")["result"]["working_orders"] == ["s1-1"]
    simulator.call(simulator.gw.advance, 6 * 3600)  # the adopted limit fills
    eventually(lambda: ledger.order("s1-1").status == OrderStatus.FILLED, 10, "adopted fill")
    eventually(lambda: booked(ledger, 1), 10, "fill booked")
    orders = sim_ledger(simulator)["orders"]
    assert orders.count("s1-1") == 1
    assert_ledger_matches_simulator(simulator, ledger)
    assert request(sock, "status")["result"]["positions"]["GOOG"]["quantity"] == 10
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_sigterm_cancels_working_orders_and_keeps_positions(
    tmp_path, spawn, simulator, sqlite_url, ledger_for
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url,
                          params={"script": "1:BUY:10;2:LIMIT_BUY:5"})  # fmt: skip
    proc = spawn(config)
    wait_ready(tmp_path, proc)
    bar(simulator)
    bar(simulator)
    ledger = ledger_for()
    eventually(lambda: ledger.order("s1-2") and ledger.order("s1-2").status == "Submitted", 10)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert ledger.order("s1-2").status == OrderStatus.CANCELLED
    assert sim_ledger(simulator)["positions"] == {"GOOG": 10.0}
    assert_ledger_matches_simulator(simulator, ledger)


def test_unknown_strategy_name_exits_78(tmp_path, spawn, simulator, sqlite_url) -> None:
    config = write_config(tmp_path, simulator, sqlite_url)
    proc = spawn(config, name="nope")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 78
    assert "no strategy 'nope'" in err and "s1" in err


def test_bad_strategy_class_exits_78_naming_the_key(tmp_path, spawn, simulator, sqlite_url) -> None:
    config = write_config(tmp_path, simulator, sqlite_url, strategy="strategies.nope.Missing")
    proc = spawn(config)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 78
    assert "strategies.s1.strategy" in err and "nope" in err
