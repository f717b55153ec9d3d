"""What `tradd run` checks before anything starts (and before it detaches).

Each of these used to surface late and badly: a read-only state or log directory as a
traceback (exit 1, which systemd restarts forever), a corrupt SQLite ledger only as
every worker crash-looping. Checked up front, each is one line naming the setting or
file, with an exit code that says whether a restart can help: 78 for a path the
configuration must change, 65 for a database only a restore can fix. Run in the
foreground, so `tradd run --daemon` reports them on the terminal too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tradd.config.settings import Settings
from tradd.errors import ConfigError, TraddError
from tradd.persistence.integrity import check_integrity


def writable_dirs(settings: Settings) -> dict[str, Path]:
    """The directories tradd writes to, by the key that sets each."""
    return {"state_dir": settings.state_dir, "log.dir": settings.log.dir}


def unwritable(path: Path) -> str | None:
    """Why files cannot be created in directory `path` (made if missing), or None.

    Tried for real, not with `os.access`, which says yes to root on a read-only mount and
    knows nothing of a parent that is a regular file. Nothing is left behind: a missing
    directory is judged by its nearest existing ancestor, which must take a test file.
    """
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    try:
        fd, name = tempfile.mkstemp(dir=existing, prefix=".tradd-write-check-")
    except OSError as exc:
        return f"cannot create a file in {existing}: {exc.strerror or exc}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def path_problems(settings: Settings) -> list[str]:
    """One line per directory tradd cannot write to, naming its key (`config check`)."""
    problems = []
    for key, path in writable_dirs(settings).items():
        why = unwritable(path)
        if why is not None:
            problems.append(f"{key}: {path} is not writable ({why})")
    return problems


def check_writable(settings: Settings) -> None:
    """ConfigError (exit 78) listing every directory tradd cannot write to."""
    problems = path_problems(settings)
    if problems:
        summary = problems[0] if len(problems) == 1 else f"{len(problems)} unwritable paths"
        raise ConfigError(summary, problems if len(problems) > 1 else [])


def check_free(settings: Settings, environ: Mapping[str, str], *, simulate: bool) -> None:
    """TraddError (exit 1) when another process holds what this daemon will listen on:
    the control socket, the metrics port, the embedded simulator's port. Checked once
    more here, before `--daemon` detaches, so the refusal reaches the terminal; the
    binds themselves report the same way if something takes them in between."""
    control = settings.control.socket_path(settings.state_dir, environ)
    if _unix_answers(control):
        raise TraddError(f"control socket {control}: another tradd is running there")
    if simulate:
        host, port = settings.broker.host, settings.broker.port
        if _tcp_in_use(host, port):
            raise TraddError(
                f"simulator port {host}:{port} is in use (another `tradd simgw`, "
                "`tradd run --simulate` or IB Gateway?)"
            )
    metrics = settings.metrics
    if metrics.enabled and _tcp_in_use(metrics.host, metrics.port):
        raise TraddError(
            f"metrics port {metrics.host}:{metrics.port} is in use (metrics.port): another "
            "tradd running, or another exporter?"
        )


def _unix_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _tcp_in_use(host: str, port: int) -> bool:
    """Whether binding `host:port` (as the servers do, SO_REUSEADDR) fails as taken.
    Port 0 and addresses that do not resolve are for the real bind to judge."""
    if port == 0:
        return False
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def check_startup(
    settings: Settings, environ: Mapping[str, str], *, simulate: bool = False
) -> None:
    """Everything `tradd run` refuses to start with: unwritable directories (78), a
    SQLite ledger failing `PRAGMA quick_check` (65), a socket or port in use (1)."""
    check_writable(settings)
    check_integrity(settings.database_url())
    check_free(settings, environ, simulate=simulate)
