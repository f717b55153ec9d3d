"""stop_live_trading.sh: SIGTERM the PID file's daemon and wait; SIGKILL as last resort; the
web console `start_live_trading.sh --web` started (its PID file, or its unit) first."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.fixtures.simulator import eventually
from tests.scripts.conftest import Fakes, SpawnHolder
from tradd.supervisor.daemonize import pid_alive


def test_graceful_stop_waits_for_the_daemon(fakes: Fakes, spawn_holder: SpawnHolder) -> None:
    holder = spawn_holder()
    done = fakes.run("stop_live_trading.sh", "--pidfile", str(holder.pidfile))
    assert done.returncode == 0, done.stderr
    assert f"stopped cleanly (pid {holder.process.pid})" in done.stdout
    # The script returned only after the process had gone: it is dead already.
    assert holder.process.poll() == -signal.SIGTERM


def test_daemon_ignoring_sigterm_is_killed_with_its_workers(
    fakes: Fakes, spawn_holder: SpawnHolder
) -> None:
    holder = spawn_holder("ignore-term")
    done = fakes.run("stop_live_trading.sh", "--pidfile", str(holder.pidfile), "--timeout", "1")
    assert done.returncode == 1
    assert "had to be killed" in done.stderr
    assert "sending SIGKILL" in done.stderr
    assert holder.process.poll() == -signal.SIGKILL
    eventually(lambda: not pid_alive(holder.worker_pid), what="worker killed too")


def test_no_pidfile_means_not_running(fakes: Fakes, tmp_path: Path) -> None:
    done = fakes.run("stop_live_trading.sh", "--pidfile", str(tmp_path / "tradd.pid"))
    assert done.returncode == 0
    assert "not running (no PID file" in done.stdout


def test_stale_pidfile_never_signals_a_recycled_pid(fakes: Fakes, tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])  # an unrelated process with that pid now
    try:
        pidfile = tmp_path / "tradd.pid"
        pidfile.write_text(f"{bystander.pid}\n")  # left by a daemon that died; no lock
        done = fakes.run("stop_live_trading.sh", "--pidfile", str(pidfile))
        assert done.returncode == 0
        assert "stale PID file" in done.stdout
        assert bystander.poll() is None
        assert pid_alive(bystander.pid)
    finally:
        bystander.kill()
        bystander.wait(timeout=10)


def test_systemd_clean_stop(fakes: Fakes) -> None:
    fakes.answer("systemctl", "show", out="success")
    done = fakes.run("stop_live_trading.sh", env={"TRADD_MODE": "systemd"})
    assert done.returncode == 0, done.stderr
    assert "systemctl stop tradd.service" in fakes.calls()
    assert "stopped cleanly" in done.stdout


def test_systemd_stop_that_timed_out_is_reported(fakes: Fakes) -> None:
    fakes.answer("systemctl", "show", out="timeout")
    done = fakes.run(
        "stop_live_trading.sh", env={"TRADD_MODE": "systemd", "TRADD_UNIT": "t.service"}
    )
    assert done.returncode == 1
    assert "systemctl stop t.service" in fakes.calls()
    assert "had to kill it" in done.stderr


CONSOLE = """#!{python}
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def _console(tmp_path: Path, pidfile: Path) -> subprocess.Popen[str]:
    """A stand-in for the console `start_live_trading.sh --web` leaves: a process whose
    command line is `... tradd web --config ...`, its PID in tradd-web.pid."""
    program = tmp_path / "console-bin" / "tradd"
    program.parent.mkdir()
    program.write_text(CONSOLE.format(python=sys.executable))
    program.chmod(0o755)
    console = subprocess.Popen([str(program), "web", "--config", "x.toml"],
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert console.stdout is not None and console.stdout.readline() == "ready\n"
    (pidfile.parent / "tradd-web.pid").write_text(f"{console.pid}\n")
    return console


def test_stops_the_detached_console_then_the_daemon(
    fakes: Fakes, spawn_holder: SpawnHolder, tmp_path: Path
) -> None:
    holder = spawn_holder()
    console = _console(tmp_path, holder.pidfile)
    try:
        done = fakes.run("stop_live_trading.sh", "--pidfile", str(holder.pidfile))
        assert done.returncode == 0, done.stderr
        assert console.poll() == 0  # gone before the script returned, on SIGTERM
        assert holder.process.poll() == -signal.SIGTERM
        out = done.stdout
        assert f"web console stopped (pid {console.pid})" in out
        assert out.index("web console stopped") < out.index("stopped cleanly (pid")
        assert not (holder.pidfile.parent / "tradd-web.pid").exists()
    finally:
        console.kill()
        console.wait(timeout=10)


def test_a_stale_console_pid_file_never_signals_a_recycled_pid(
    fakes: Fakes, tmp_path: Path
) -> None:
    bystander = subprocess.Popen(["sleep", "60"])  # not `tradd web`: never signalled
    try:
        web_pidfile = tmp_path / "tradd-web.pid"
        web_pidfile.write_text(f"{bystander.pid}\n")
        done = fakes.run("stop_live_trading.sh", "--pidfile", str(tmp_path / "tradd.pid"))
        assert done.returncode == 0, done.stderr
        assert "web console not running (stale PID file" in done.stdout
        assert bystander.poll() is None and not web_pidfile.exists()
    finally:
        bystander.kill()
        bystander.wait(timeout=10)


def test_systemd_stops_an_active_console_unit_first(fakes: Fakes) -> None:
    fakes.answer("systemctl", "show", out="success")
    done = fakes.run("stop_live_trading.sh", env={"TRADD_MODE": "systemd"})
    assert done.returncode == 0, done.stderr
    calls = fakes.calls()
    assert calls.index("systemctl stop tradd-web.service") < calls.index(
        "systemctl stop tradd.service"
    )
    fakes.answer("systemctl", "is-active", rc=3)  # inactive: left alone
    fakes.dir.joinpath("calls").unlink()
    assert fakes.run("stop_live_trading.sh", env={"TRADD_MODE": "systemd"}).returncode == 0
    assert "systemctl stop tradd-web.service" not in fakes.calls()
