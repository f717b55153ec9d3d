"""start_live_trading.sh --web: the console started after the daemon is healthy, against
fake executables (tests/scripts/conftest.py)."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.scripts.conftest import Fakes
from tradd.supervisor.daemonize import PidFile

BANNER = ("tradd console on http://127.0.0.1:8080/\n"
          "first start: created user admin with password s3cret-once (shown once; ...)")  # fmt: skip


def _healthy(fakes: Fakes) -> None:
    fakes.answer("tradd", "config", out="Config OK")
    fakes.answer("tradctl", "status", out="sma_goog  RUNNING")


def test_starts_the_console_detached_and_prints_its_banner(fakes: Fakes, tmp_path: Path) -> None:
    _healthy(fakes)
    fakes.answer("tradd", "web", out=BANNER)
    pidfile = tmp_path / "state" / "tradd.pid"
    pidfile.parent.mkdir()
    with PidFile(pidfile):
        done = fakes.run("start_live_trading.sh", "--pidfile", str(pidfile), "--web")
    assert done.returncode == 0, done.stderr
    assert "tradd console on http://127.0.0.1:8080/" in done.stdout
    assert "created user admin with password s3cret-once" in done.stdout
    calls = fakes.calls()
    assert calls[-1] == f"tradd web --config {fakes.config}"
    assert calls.index(f"tradctl --config {fakes.config} status") < len(calls) - 1
    assert (tmp_path / "state" / "tradd-web.pid").read_text().strip().isdigit()
    out = tmp_path / "state" / "tradd-web.out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds the first admin password


def test_a_console_that_fails_to_start_is_reported_and_the_daemon_runs_on(
    fakes: Fakes, tmp_path: Path
) -> None:
    _healthy(fakes)
    fakes.answer("tradd", "web", rc=2, out="tradd: error: [web] host 0.0.0.0 is not loopback")
    pidfile = tmp_path / "tradd.pid"
    with PidFile(pidfile):
        done = fakes.run("start_live_trading.sh", "--pidfile", str(pidfile), "--web")
    assert done.returncode == 1
    assert "is not loopback" in done.stderr
    assert "web console exited during start-up (the daemon runs on)" in done.stderr
    assert f"tradd run --config {fakes.config} --daemon --pidfile {pidfile}" in fakes.calls()
    assert not (tmp_path / "tradd-web.pid").exists()


def test_under_systemd_starts_the_web_unit_after_the_daemon(fakes: Fakes) -> None:
    _healthy(fakes)
    done = fakes.run("start_live_trading.sh", "--web", env={"TRADD_MODE": "systemd"})
    assert done.returncode == 0, done.stderr
    calls = fakes.calls()
    assert calls.index("systemctl start tradd.service") < calls.index(
        "systemctl start tradd-web.service"
    )
    assert "journalctl -u tradd-web.service" in done.stdout
    assert not [c for c in calls if c.startswith("tradd web")]


def test_without_web_no_console(fakes: Fakes, tmp_path: Path) -> None:
    _healthy(fakes)
    pidfile = tmp_path / "tradd.pid"
    with PidFile(pidfile):
        done = fakes.run("start_live_trading.sh", "--pidfile", str(pidfile))
    assert done.returncode == 0, done.stderr
    assert not [c for c in fakes.calls() if c.startswith("tradd web")]
