"""PID file locking and daemonizing, with real processes holding the locks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually
from tradd.errors import EXIT_FAILURE
from tradd.supervisor.daemonize import AlreadyRunning, PidFile, pid_alive, read_pid

HOLDER = """
import sys
from pathlib import Path
from tradd.supervisor.daemonize import PidFile
lock = PidFile(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
sys.stdin.readline()  # hold the lock until the test closes our stdin
lock.release()
"""

DAEMON = """
import signal, sys
from pathlib import Path
from tradd.supervisor.daemonize import AlreadyRunning, daemonize
print("detaching")  # buffered (a pipe): must not be lost in the forks' os._exit
try:
    with daemonize(Path(sys.argv[1]), Path(sys.argv[2])):
        while True:
            signal.pause()
except AlreadyRunning as exc:
    print(f"tradd: error: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
"""


def _python(code: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, text=True, **kwargs)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A child process holding the lock on tmp_path/tradd.pid, until its stdin closes."""
    path = tmp_path / "tradd.pid"
    child = _python(HOLDER, str(path), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    yield child, path
    child.kill()
    child.wait(timeout=10)


def test_second_pidfile_in_the_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run" / "tradd.pid"
    with PidFile(path) as first:
        assert first.locked
        assert read_pid(path) == os.getpid()
        with pytest.raises(AlreadyRunning) as info:
            PidFile(path).acquire()
        assert info.value.pid == os.getpid()
        assert str(path) in str(info.value)
        assert f"pid {os.getpid()}" in str(info.value)
        assert info.value.exit_code == EXIT_FAILURE
        assert read_pid(path) == os.getpid()  # the failed attempt did not truncate it
    assert not path.exists()
    with PidFile(path):  # released: free again
        pass


def test_lock_without_pid_yet(tmp_path: Path) -> None:
    path = tmp_path / "tradd.pid"
    path.write_text("999999\n")  # stale content from a dead process
    first = PidFile(path)
    first.acquire(write_pid=False)
    try:
        assert path.read_text() == ""
        with pytest.raises(AlreadyRunning, match="pid not yet written"):
            PidFile(path).acquire()
        first.write_pid(4242)
        assert read_pid(path) == 4242
    finally:
        first.release()


def test_lock_held_by_another_process(holder: tuple[subprocess.Popen[str], Path]) -> None:
    child, path = holder
    with pytest.raises(AlreadyRunning) as info:
        PidFile(path).acquire()
    assert info.value.pid == child.pid
    assert f"pid {child.pid}" in str(info.value)
    assert child.stdin is not None
    child.stdin.close()  # let it release and exit
    assert child.wait(timeout=10) == 0
    with PidFile(path):
        assert read_pid(path) == os.getpid()


def test_stale_file_of_a_killed_process_does_not_block(
    holder: tuple[subprocess.Popen[str], Path],
) -> None:
    child, path = holder
    child.kill()  # no release: the file stays, with the dead pid in it
    child.wait(timeout=10)
    assert read_pid(path) == child.pid
    with PidFile(path):  # the kernel dropped the lock with the process
        assert read_pid(path) == os.getpid()


def test_read_pid_tolerates_junk(tmp_path: Path) -> None:
    path = tmp_path / "p"
    assert read_pid(path) is None
    for junk in ("", "\n", "abc", "-5", "0"):
        path.write_text(junk)
        assert read_pid(path) is None, junk
    path.write_text(" 123 \n")
    assert read_pid(path) == 123


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
    child = subprocess.Popen(["true"])
    try:
        # Exited but not yet reaped: a zombie is not alive.
        eventually(lambda: not pid_alive(child.pid), what="zombie counted as dead")
    finally:
        child.wait(timeout=10)
    assert not pid_alive(child.pid)


def _umask_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return line.split()[1]
    raise AssertionError("no Umask line")


def test_daemonize_detaches_and_owns_the_pidfile(tmp_path: Path) -> None:
    pidfile = tmp_path / "state" / "tradd.pid"
    workdir = tmp_path / "work"
    workdir.mkdir()
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    starter = _python(
        DAEMON,
        str(pidfile),
        str(workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=buffered,
    )
    out, err = starter.communicate(timeout=30)
    assert starter.returncode == 0, err  # the foreground process exits once detached
    assert out == "detaching\n"
    pid = eventually(lambda: read_pid(pidfile), timeout=20, what="daemon pid in pidfile")
    try:
        assert pid != starter.pid
        assert pid_alive(pid)
        assert os.getsid(pid) != os.getsid(0)  # its own session: no controlling terminal
        assert Path(f"/proc/{pid}/cwd").resolve() == workdir.resolve()
        assert _umask_of(pid) == "0027"

        # A second start fails in the foreground, naming the running daemon.
        second = _python(DAEMON, str(pidfile), str(workdir), stderr=subprocess.PIPE)
        _, err = second.communicate(timeout=30)
        assert second.returncode == EXIT_FAILURE
        assert f"already running (pid {pid}" in err
        assert str(pidfile) in err
        assert read_pid(pidfile) == pid  # untouched by the failed start

        os.kill(pid, signal.SIGTERM)
        eventually(lambda: not pid_alive(pid), timeout=20, what="daemon exits on SIGTERM")
        eventually(lambda: not pidfile.exists(), what="pidfile removed on exit")
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
