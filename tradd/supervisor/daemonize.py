"""`tradd run --daemon --pidfile PATH`: detach from the terminal, guarded by a PID file lock.

Without systemd the supervisor runs as a classic daemon (double fork, new session) and the
PID file is how scripts find it. What makes "one supervisor per PID file" true is not the
file's existence, which a crash leaves behind, but an exclusive `flock` on it held for the
daemon's whole life: the kernel drops the lock when the process dies, so a stale file from
a dead process never blocks a start, and a live one always does.

The lock is taken *before* detaching, so a second `tradd run --daemon` fails in the
foreground with a clear message and exit code 1 instead of a silent daemon that dies. The
descriptor survives the forks (a flock belongs to the open file, which the daemon
inherits) and is close-on-exec, so worker processes never hold it: when the supervisor
dies, the lock dies with it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from daemon import DaemonContext

from tradd.errors import TraddError
from tradd.stdio import ensure_standard_streams

if TYPE_CHECKING:
    from types import TracebackType

DAEMON_UMASK = 0o027
"""Files the daemon creates: group-readable (operators in group tradd), never world."""
PIDFILE_MODE = 0o644
_LOCK_ATTEMPTS = 5


class AlreadyRunning(TraddError):
    """Another process holds the PID file lock: a supervisor is already running."""

    def __init__(self, path: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid is not None else "pid not yet written"
        super().__init__(f"tradd is already running ({who}; {path} is locked)")
        self.path = path
        self.pid = pid


def read_pid(path: Path) -> int | None:
    """The PID recorded in `path`, or None when the file is missing, empty or garbled."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie counts as exited)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Linux: state "Z" in /proc/<pid>/stat (the field after the parenthesised name)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


class PidFile:
    """An exclusively locked PID file. `acquire()` (or `with`) takes the lock or raises
    `AlreadyRunning`; `release()` removes the file and drops the lock."""

    def __init__(self, path: Path) -> None:
        self.path = path.absolute()  # the daemon changes directory before it unlinks
        self._fd: int | None = None

    @property
    def locked(self) -> bool:
        return self._fd is not None

    def fileno(self) -> int:
        """The locked descriptor (for python-daemon's files_preserve)."""
        if self._fd is None:
            raise RuntimeError(f"{self.path} is not locked")
        return self._fd

    def acquire(self, *, write_pid: bool = True) -> None:
        """Lock the file (creating it and its directory) and record our PID.

        `write_pid=False` empties the file instead: a process about to fork records the
        PID of the final daemon later (`write_pid()`), never its own short-lived one.
        """
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(_LOCK_ATTEMPTS):
            self._fd = self._lock_once()
            if self._fd is not None:
                break
        else:
            raise TraddError(f"{self.path}: keeps being replaced while locking it")
        if write_pid:
            self.write_pid()
        else:
            os.ftruncate(self._fd, 0)

    def _lock_once(self) -> int | None:
        """Open and lock; None when the file was replaced meanwhile (retry on the new one).

        No O_TRUNC: the running holder's PID must survive a failed attempt.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PIDFILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise AlreadyRunning(self.path, read_pid(self.path)) from None
            raise TraddError(f"{self.path}: cannot lock: {exc.strerror}") from None
        # A holder that released (and unlinked) between our open and our flock leaves us
        # locking a file nobody else will ever open: check we locked what the path names.
        try:
            same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return None
        return fd

    def write_pid(self, pid: int | None = None) -> None:
        """Replace the file's content with `pid` (default: this process)."""
        fd = self.fileno()
        data = f"{os.getpid() if pid is None else pid}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    def release(self) -> None:
        """Unlink, then unlock (in that order, so no one can lock the doomed file)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> PidFile:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class _DaemonPidFile:
    """python-daemon's `pidfile=` hook over an already locked `PidFile`: entered in the
    daemon after the forks (writes the daemon's PID), exited at close (releases)."""

    def __init__(self, pidfile: PidFile) -> None:
        self._pidfile = pidfile

    def __enter__(self) -> _DaemonPidFile:
        self._pidfile.write_pid()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pidfile.release()


def daemon_context(
    pidfile: PidFile, working_directory: Path, preserve: Sequence[int | IO[str] | IO[bytes]] = ()
) -> DaemonContext:
    """The DaemonContext for a locked `pidfile`: detach always (even when started by
    init), umask 0o027, stay in `working_directory` (relative paths in the config keep
    their meaning), keep the lock's descriptor and `preserve` open, stdio to /dev/null."""
    return DaemonContext(
        working_directory=str(working_directory),
        umask=DAEMON_UMASK,
        detach_process=True,
        pidfile=_DaemonPidFile(pidfile),
        files_preserve=[pidfile.fileno(), *preserve],
        # Terminal job-control signals must not stop a daemon; SIGTERM stays python-daemon's
        # (SystemExit) until the supervisor installs its own graceful handler.
        signal_map={
            signal.SIGTSTP: None,
            signal.SIGTTIN: None,
            signal.SIGTTOU: None,
            signal.SIGTERM: "terminate",
        },
    )


@contextlib.contextmanager
def _daemonized(
    pidfile: Path,
    working_directory: Path,
    preserve: Sequence[int | IO[str] | IO[bytes]],
    before_detach: Callable[[], None],
) -> Iterator[None]:
    lock = PidFile(pidfile)
    lock.acquire(write_pid=False)  # in the foreground: AlreadyRunning reaches the user
    try:
        before_detach()  # holding the lock, still on the terminal: its errors are seen
        context = daemon_context(lock, working_directory.resolve(), preserve)
    except BaseException:
        lock.release()
        raise
    # The forks leave through os._exit: whatever the CLI printed must be out first.
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    with context:
        # python-daemon closes 0/1/2, then opens /dev/null (close-on-exec) onto the same
        # numbers and dup2s each onto itself, a no-op that keeps the flag: every worker
        # would start with stdout and stderr closed. Make them inheritable.
        ensure_standard_streams()
        yield


def daemonize(
    pidfile: Path,
    working_directory: Path,
    *,
    preserve: Sequence[int | IO[str] | IO[bytes]] = (),
    before_detach: Callable[[], None] = lambda: None,
) -> contextlib.AbstractContextManager[None]:
    """Run the body of the `with` as a detached daemon owning `pidfile`.

    Raises `AlreadyRunning` (exit code 1) in the foreground when another process holds
    the lock; then `before_detach()` runs, still in the foreground and holding the lock
    (start-up checks: what it raises reaches the terminal and nothing detaches). On entry
    the calling process has exited (status 0) and the body runs in the grandchild, a
    session leader without a terminal, its PID in `pidfile`. On exit the
    file is removed and the lock released. Every descriptor except the lock and
    `preserve` is closed on entry: open log files and sockets inside the body. Descriptors
    0/1/2 are /dev/null and inherited by child processes (workers need them).
    """
    return _daemonized(pidfile, working_directory, preserve, before_detach)
