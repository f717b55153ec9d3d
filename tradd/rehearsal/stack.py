"""The system under rehearsal: `tradd simgw` and `tradd run` as real processes.

Each runs as its own process, exactly as an operator starts it, so the rehearsal can kill,
restart and inspect it: the simulator from its `--state` file on a fixed port, the daemon
in the foreground or detached (`--daemon`, its PID from the PID file). The configuration
(`tradd.toml` in the work directory) names three strategies on four symbols, one of which
trades on every bar.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import tomli_w

from tradd.control.client import Unreachable, call
from tradd.simgw.admin import admin_request

SYMBOLS = ("GOOG", "ORCL", "NVDA", "YHOO")
DATA_DIR = Path(__file__).resolve().parent.parent / "sample_data"
ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Options:
    """One rehearsal: how long, which schedule, how the daemon runs, what must hold."""

    days: int = 5
    seed: int = 1
    mode: str = "foreground"  # or "daemon": `tradd run --daemon`
    speed: float = 300.0
    faults: bool = True
    start: date = date(2006, 2, 17)  # Fri: then a weekend and Presidents' Day (Mon 20th)
    status_limit: float = 1.0  # seconds: status and flatten must answer within this
    tradable_target: float = 0.99
    growth_limit: float = 0.05  # RSS growth after warm-up (soak)
    flood: int = 300  # idle control connections in the flood
    recovery: float = 20.0  # real seconds after a fault before a strategy must trade again
    warmup: float = 30.0  # real seconds before the first RSS/fd reading counts


def strategies() -> list[dict[str, Any]]:
    """Three strategies, four symbols: an every-bar trader and two of the shipped ones."""
    return [
        {"name": "churn", "strategy": "tradd.rehearsal.everybar.EveryBar", "symbols": ["GOOG"],
         "client_id": 21, "bar": "5m", "position_pct": 5.0, "warmup_bars": 5},
        {"name": "sma", "strategy": "strategies.sma_cross.SmaCross", "symbols": ["ORCL", "NVDA"],
         "client_id": 22, "bar": "5m", "params": {"fast": 3, "slow": 8}, "position_pct": 5.0,
         "warmup_bars": 10},
        {"name": "rsi", "strategy": "strategies.rsi.RsiReversion", "symbols": ["YHOO", "GOOG"],
         "client_id": 23, "bar": "5m",
         "params": {"period": 6, "oversold": 45.0, "overbought": 55.0}, "position_pct": 5.0,
         "warmup_bars": 10},
    ]  # fmt: skip


def document(workdir: Path, port: int, strategy_list: list[dict[str, Any]]) -> dict[str, Any]:
    """The daemon's configuration: fast timers; the shipped risk rules except the daily
    loss and drawdown ones, which would halt a strategy for the market's sake, not a fault's
    (the order rate counts market time, so it allows the every-bar strategy)."""
    return {
        "state_dir": str(workdir / "state"),
        "log": {"dir": str(workdir / "logs"), "console": False},
        "data": {"dir": str(DATA_DIR)},
        "broker": {"port": port, "market_clock": "gateway", "connect_timeout": 5.0,
                   "request_timeout": 10.0, "probe_interval": 2.0, "probe_timeout": 3.0,
                   "reconnect": {"initial": 0.2, "maximum": 2.0, "jitter": 0.1},
                   "circuit": {"failure_threshold": 100, "open_seconds": 2.0}},
        "worker": {"heartbeat": 0.2, "commission_wait": 1.0, "snapshot_interval": 5.0,
                   "flatten_timeout": 15.0, "channel_dir": str(workdir / "run")},
        "risk": {"max_daily_loss": {"limit_pct": "off"}, "max_drawdown": {"limit": "off"}},
        "supervisor": {"heartbeat_interval": 0.5, "heartbeat_timeout": 30.0,
                       "start_timeout": 120.0, "stop_timeout": 15.0, "backoff_initial": 0.2,
                       "backoff_max": 2.0, "crash_limit": 10, "crash_window": 60.0,
                       "stable_after": 20.0, "flatten_ack_timeout": 1.5,
                       "flatten_timeout": 20.0, "pidfile": str(workdir / "tradd.pid")},
        "control": {"socket": str(workdir / "control.sock")},
        "metrics": {"enabled": False},
        "alerts": {"enabled": False},
        "strategies": strategy_list,
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Any, timeout: float, what: str, period: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g}s")
        time.sleep(period)


class Stack:
    """Starts, kills and restarts the simulator and the daemon; talks to both."""

    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "tradd.toml"
        self.socket = workdir / "control.sock"
        self.admin = workdir / "simgw-admin.sock"
        self.state_file = workdir / "simgw-state.json"
        self.log_dir = workdir / "logs"
        self.database = workdir / "state" / "tradd.db"
        self.pidfile = workdir / "tradd.pid"
        self.gateway: subprocess.Popen[bytes] | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self.supervisor_pid: int | None = None
        self.warmup_day = options.start
        self.write_config(strategies())

    def write_config(self, strategy_list: list[dict[str, Any]]) -> None:
        document_ = document(self.workdir, self.port, strategy_list)
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(document_))
        tmp.replace(self.config)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        env["PYTHONPATH"] = str(ROOT)  # `strategies.*` importable from any directory
        return env

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.workdir / log_name).open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "tradd", *args], cwd=ROOT, env=self._env(),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    # ---- the simulator -------------------------------------------------------------------

    def start_gateway(self) -> None:
        """From `warmup_day` (the session before the rehearsal's first) or its state file."""
        o = self.options
        self.gateway = self._spawn(
            ["simgw", "--config", str(self.config), "--port", str(self.port),
             "--symbols", ",".join(SYMBOLS), "--speed", f"{o.speed:g}",
             "--start", self.warmup_day.isoformat(), "--state", str(self.state_file),
             "--seed", str(o.seed), "--no-pacing", "--admin-socket", str(self.admin)],
            "simgw.out",
        )  # fmt: skip
        wait_for(self._gateway_answers, 60, "simulator admin socket answering")

    def _gateway_answers(self) -> bool:
        if self.gateway is not None and self.gateway.poll() is not None:
            raise RuntimeError(f"tradd simgw exited {self.gateway.returncode} (see simgw.out)")
        try:
            self.sim_status()
        except Exception:
            return False
        return True

    def sim_status(self) -> dict[str, Any]:
        result = admin_request(self.admin, {"op": "status"}, timeout=5.0)
        assert isinstance(result, dict)
        return result

    def sim_fault(self, name: str, **args: Any) -> Any:
        return admin_request(self.admin, {"op": "fault", "name": name, "args": args}, 10.0)

    def stop_gateway(self) -> None:
        """SIGTERM: the simulator writes its state file and exits."""
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.terminate()
            try:
                self.gateway.wait(30)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait(10)
        self.gateway = None

    # ---- the daemon ----------------------------------------------------------------------

    def start_daemon(self) -> None:
        args = ["run", "--config", str(self.config)]
        if self.options.mode == "daemon":
            old = self.supervisor_pid  # a killed daemon leaves its PID in the file
            detach = self._spawn([*args, "--daemon", "--pidfile", str(self.pidfile)], "tradd.out")
            code = detach.wait(60)
            if code != 0:
                raise RuntimeError(f"tradd run --daemon exited {code} (see tradd.out)")
            self.supervisor_pid = int(
                wait_for(lambda: self._pid_from_file(not_this=old), 30, "a new PID in the file")
            )
        else:
            self.daemon = self._spawn(args, "tradd.out")
            self.supervisor_pid = self.daemon.pid
        wait_for(self._daemon_answers, 60, "control socket answering")

    def _pid_from_file(self, not_this: int | None = None) -> int | None:
        """The live daemon's PID from the PID file (None while it is being written)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(self.pidfile.read_text().split()[0])
            if pid != not_this and pid_alive(pid):
                return pid
        return None

    def supervisor_alive(self) -> bool:
        if self.daemon is not None:
            return self.daemon.poll() is None
        return self.supervisor_pid is not None and pid_alive(self.supervisor_pid)

    def _daemon_answers(self) -> bool:
        if not self.supervisor_alive():
            raise RuntimeError("tradd run exited (see tradd.out)")
        try:
            self.call("status", timeout=5.0)
        except Unreachable:
            return False
        return True

    def call(self, cmd: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        return call(self.socket, cmd, args, timeout)

    def status(self, timeout: float = 10.0) -> dict[str, dict[str, Any]]:
        reply = self.call("status", timeout)
        if not reply.get("ok"):
            raise Unreachable(f"status refused: {reply.get('error')}")
        return {s["name"]: s for s in reply["result"]["strategies"]}

    def kill_supervisor(self) -> None:
        """SIGKILL the supervisor (its workers notice and stop on their own)."""
        pid = self.supervisor_pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.daemon is not None:
            self.daemon.wait(30)
            self.daemon = None
        else:
            wait_for(lambda: pid is None or not pid_alive(pid), 30, "supervisor gone")

    def stop_daemon(self) -> None:
        if self.options.mode == "daemon":  # also one whose start was cut short
            self.supervisor_pid = self._pid_from_file() or self.supervisor_pid
        pid = self.supervisor_pid
        if pid is None or not self.supervisor_alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        try:
            if self.daemon is not None:
                self.daemon.wait(60)
            else:
                wait_for(lambda: not pid_alive(pid), 60, "supervisor stopped")
        except (TimeoutError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.daemon = None

    def stop(self, leftovers: set[int]) -> None:
        """Stop everything; SIGKILL any worker it started that is still alive."""
        self.stop_daemon()
        self.stop_gateway()
        for pid in leftovers:
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
