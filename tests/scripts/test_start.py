"""start_live_trading.sh: validate, start, wait for health, against fake executables."""

from __future__ import annotations

from pathlib import Path

from tests.scripts.conftest import Fakes
from tradd.supervisor.daemonize import PidFile


def test_invalid_config_aborts_before_starting(fakes: Fakes, tmp_path: Path) -> None:
    fakes.answer("tradd", "config", rc=78, out="broker.port: must be <= 65535 (got 99999)")
    done = fakes.run("start_live_trading.sh", "--pidfile", str(tmp_path / "tradd.pid"))
    assert done.returncode == 78
    assert "broker.port: must be <= 65535" in done.stderr  # the validation output is shown
    assert "not starting" in done.stderr
    assert fakes.calls() == [f"tradd config check --config {fakes.config}"]


def test_starts_the_daemon_and_waits_until_healthy(fakes: Fakes, tmp_path: Path) -> None:
    pidfile = tmp_path / "tradd.pid"
    fakes.answer("tradd", "config", out="Config OK")
    fakes.answer("tradctl", "health", rc="3 4 0")  # unreachable, then unhealthy, then ok
    fakes.answer("tradctl", "status", out="sma_goog  RUNNING")
    with PidFile(pidfile):  # stands in for the daemon `tradd run --daemon` leaves behind
        done = fakes.run("start_live_trading.sh", "--pidfile", str(pidfile))
    assert done.returncode == 0, done.stderr
    assert "Config OK" in done.stdout
    assert done.stdout.rstrip().endswith("sma_goog  RUNNING")
    health = f"tradctl --config {fakes.config} health"
    assert fakes.calls() == [
        f"tradd config check --config {fakes.config}",
        f"tradd run --config {fakes.config} --daemon --pidfile {pidfile}",
        health,
        health,
        health,
        f"tradctl --config {fakes.config} status",
    ]


def test_start_failure_is_propagated(fakes: Fakes, tmp_path: Path) -> None:
    fakes.answer("tradd", "run", rc=1, out="tradd: error: tradd is already running (pid 42)")
    done = fakes.run("start_live_trading.sh", "--pidfile", str(tmp_path / "tradd.pid"))
    assert done.returncode == 1
    assert "already running (pid 42)" in done.stdout
    assert "tradd run failed (exit 1)" in done.stderr
    assert not [c for c in fakes.calls() if c.startswith("tradctl")]


def test_daemon_that_dies_during_startup_fails_fast(fakes: Fakes, tmp_path: Path) -> None:
    fakes.answer("tradctl", "health", rc=3, out="tradctl: daemon unreachable")
    # `tradd run` returned 0, but nobody holds the PID file lock: the daemon is gone.
    done = fakes.run("start_live_trading.sh", "--pidfile", str(tmp_path / "tradd.pid"))
    assert done.returncode == 1
    assert "exited during start-up" in done.stderr
    assert "daemon unreachable" in done.stderr
    assert sum(c.endswith(" health") for c in fakes.calls()) == 1  # no waiting for timeout


def test_not_healthy_in_time(fakes: Fakes, tmp_path: Path) -> None:
    pidfile = tmp_path / "tradd.pid"
    fakes.answer("tradctl", "health", rc=4, out="rsi_multi: BACKOFF")
    with PidFile(pidfile):
        done = fakes.run("start_live_trading.sh", "--pidfile", str(pidfile), "--timeout", "1")
    assert done.returncode == 1
    assert "not healthy after 1s" in done.stderr
    assert "rsi_multi: BACKOFF" in done.stderr
    assert f"tradctl --config {fakes.config} status" in fakes.calls()


def test_under_systemd_uses_systemctl(fakes: Fakes) -> None:
    fakes.answer("tradctl", "status", out="all RUNNING")
    done = fakes.run("start_live_trading.sh", env={"TRADD_MODE": "systemd"})
    assert done.returncode == 0, done.stderr
    calls = fakes.calls()
    assert "systemctl start tradd.service" in calls
    assert calls.index(f"tradd config check --config {fakes.config}") < calls.index(
        "systemctl start tradd.service"
    )
    assert not [c for c in calls if c.startswith("tradd run")]
    assert done.stdout.rstrip().endswith("all RUNNING")


def test_systemd_start_failure(fakes: Fakes) -> None:
    fakes.answer("systemctl", "start", rc=1)
    done = fakes.run("start_live_trading.sh", env={"TRADD_MODE": "systemd"})
    assert done.returncode == 1
    assert "systemctl start tradd.service failed" in done.stderr
    assert not [c for c in fakes.calls() if c.startswith("tradctl")]
