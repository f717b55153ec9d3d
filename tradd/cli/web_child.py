"""`tradd run --web`: the web console as a child process beside the supervisor (`make run`).

The console is `python -m tradd web --config PATH`, the same process `tradd-web.service`
runs, started in a session of its own: a Ctrl-C on the terminal reaches the supervisor
only, which stops its workers; then the console is sent SIGTERM (uvicorn's graceful stop)
and, should it not be gone within STOP_TIMEOUT, SIGKILL. Independent both ways: the
console crashing (a port in use, say) leaves the daemon running, and nothing of the
daemon waits on it. Its output (the banner with the URL and, on a fresh state, the
admin's password) goes to the same terminal.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from tradd.config.settings import Settings

STOP_TIMEOUT = 15.0
"""Seconds the console gets to stop after SIGTERM (it waits for open requests)."""


@contextlib.contextmanager
def console_beside(
    settings: Settings, config: Path, environ: dict[str, str], enabled: bool
) -> Iterator[None]:
    """Run `tradd web` for the duration of the block when `enabled`."""
    if not enabled:
        yield
        return
    typer.echo(f"starting the web console (tradd web, log {settings.log.dir}/web.log); "
               "stopped with the daemon", err=True)  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-m", "tradd", "web", "--config", str(config)],
        env=environ, start_new_session=True,
    )  # fmt: skip
    try:
        yield
    finally:
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        typer.echo(f"web console had exited ({child.returncode})", err=True)
        return
    child.terminate()
    try:
        child.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
