"""Supervisor fixtures: `tradd run` as a real process against the simulator.

The daemon runs `python -m tradd run` with a config written into tmp_path; its workers
are real `python -m tradd.worker` processes on the simulator's clock (market_clock =
gateway, simulator paused at speed 0, tests advance it). Tests talk to it exactly as
operators do: through the control socket (`tradctl`'s client). At the end the daemon is
stopped and any process it left behind is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually, worker_settings
from tests.metrics.conftest import promtool  # noqa: F401  (a fixture)
from tests.worker.conftest import ledger_for  # noqa: F401  (a fixture)
from tradd.control.client import Unreachable, call
from tradd.simgw.background import BackgroundGateway

FAST_SUPERVISOR = {
    "heartbeat_interval": 0.2, "heartbeat_timeout": 15.0, "start_timeout": 40.0,
    "stop_timeout": 15.0, "backoff_initial": 0.1, "backoff_max": 0.5, "crash_limit": 3,
    "crash_window": 60.0, "stable_after": 30.0, "flatten_ack_timeout": 1.5,
    "flatten_timeout": 20.0,
}  # fmt: skip


def daemon_document(tmp_path: Path, sim: BackgroundGateway, url: str,
                    strategies: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:  # fmt: skip
    defaults: dict[str, Any] = {
        "broker": {"market_clock": "gateway"}, "supervisor": FAST_SUPERVISOR,
        "control": {"socket": str(tmp_path / "control.sock")}, "metrics": {"enabled": False},
    }  # fmt: skip
    for key, value in sections.items():
        defaults[key] = {**defaults.get(key, {}), **value}
    settings = worker_settings(tmp_path, sim.port, url, strategies, **defaults)
    document = settings.model_dump(mode="json", exclude_none=True)
    document["database"]["url"] = url
    return document


def write_document(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(document))
    return path


@dataclass
class Daemon:
    proc: subprocess.Popen[str]
    socket: Path
    config: Path
    output: Path
    pids: set[int] = field(default_factory=set)

    def call(self, cmd: str, timeout: float = 60.0, **args: Any) -> dict[str, Any]:
        reply = call(self.socket, cmd, args, timeout)
        self._note_pids(reply)
        return reply

    def result(self, cmd: str, timeout: float = 60.0, **args: Any) -> Any:
        reply = self.call(cmd, timeout, **args)
        assert reply["ok"], reply
        return reply["result"]

    def strategies(self) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in self.result("status")["strategies"]}

    def wait_state(self, name: str, state: str, timeout: float = 40.0,
                   check: Callable[[dict[str, Any]], bool] = lambda s: True) -> dict[str, Any]:  # fmt: skip
        def reached() -> dict[str, Any] | None:
            self.assert_alive()
            s = self.strategies().get(name)
            return s if s and s["state"] == state and check(s) else None

        return eventually(reached, timeout, f"{name} {state}")  # type: ignore[no-any-return]

    def wait_trading(self, name: str, timeout: float = 40.0) -> dict[str, Any]:
        return self.wait_state(name, "RUNNING", timeout, lambda s: bool(s["worker"].get("ready")))

    def assert_alive(self) -> None:
        if self.proc.poll() is not None:
            err = self.output.read_text()[-3000:]
            raise AssertionError(f"tradd run exited {self.proc.returncode}: {err}")

    def _note_pids(self, reply: dict[str, Any]) -> None:
        result = reply.get("result")
        if isinstance(result, dict):
            for s in (
                result.get("strategies", []) if isinstance(result.get("strategies"), list) else []
            ):
                if s.get("pid"):
                    self.pids.add(int(s["pid"]))


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(document: dict[str, Any], env: dict[str, str] | None = None,
              wait: bool = True) -> Daemon:  # fmt: skip
        config = write_document(tmp_path / "tradd.toml", document)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        environ.update(env or {})
        output = (tmp_path / "daemon.out").open("w")  # a file: a full pipe would block it
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradd", "run", "--config", str(config)], cwd=ROOT,
            env=environ, stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        output.close()
        daemon = Daemon(proc, Path(document["control"]["socket"]), config, tmp_path / "daemon.out")
        started.append(daemon)
        if wait:
            eventually(lambda: _answers(daemon), 30, "control socket answering")
        return daemon

    yield start
    for daemon in started:
        _stop(daemon)


def _answers(daemon: Daemon) -> bool:
    daemon.assert_alive()
    try:
        daemon.call("status", timeout=5)
    except Unreachable:
        return False
    return True


def _stop(daemon: Daemon) -> None:
    with contextlib.suppress(Unreachable, OSError, ValueError):
        daemon.call("status", timeout=5)
    if daemon.proc.poll() is None:
        daemon.proc.send_signal(signal.SIGTERM)
        try:
            daemon.proc.wait(30)
        except subprocess.TimeoutExpired:
            daemon.proc.kill()
            daemon.proc.wait(10)
    for pid in daemon.pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tradd.db'}"
