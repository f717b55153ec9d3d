"""Shared fixtures: the CLI as a subprocess, sample data, PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog

pytest_plugins = [
    "tests.fixtures.alert_servers",
    "tests.fixtures.browser",
    "tests.fixtures.database",
    "tests.fixtures.simulator",
    "tests.fixtures.daemon",
    "tests.fixtures.web",
]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "tradd" / "sample_data"
CONFIG = ROOT / "etc" / "tradd.toml"


@pytest.fixture(autouse=True)
def main_thread_event_loop() -> None:
    """The client libraries' blocking API runs on the main thread's implicit event loop; a
    previous test's `asyncio.run` leaves the thread with none. Give such a test a fresh one,
    whatever ran before it in this process."""
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """A test that runs a command in-process (`main([...])`) configures logging for this
    whole process: root handlers, structlog's processors and its caching of loggers on
    first use. Put everything back afterwards, so a later test's captured logs do not go
    through the command's file handler and repeat limiter instead."""
    root = logging.getLogger()
    handlers, level, config = list(root.handlers), root.level, structlog.get_config()
    configure = structlog.configure

    def uncached(**settings: Any) -> None:
        # A module's logger proxy cached on first use keeps the command's processors for
        # the rest of this process: a later test's capture_logs would never see its lines.
        configure(**{**settings, "cache_logger_on_first_use": False})

    structlog.configure = uncached  # type: ignore[assignment]
    try:
        yield
    finally:
        structlog.configure = configure
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    configure(**config)
    structlog.contextvars.clear_contextvars()


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


RunCli = Callable[..., CliResult]


def _clean_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    env["COLUMNS"] = "200"  # keep rich tables on one line for assertions
    env.update(extra or {})
    return env


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run `python -m tradd ...` in a fresh process, with logs under tmp_path."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
    ) -> CliResult:
        # State (and with it the default SQLite file, where research runs are recorded)
        # under tmp_path: tests never write the checkout's state/ nor share a database.
        extra = {"TRADD_LOG__DIR": str(tmp_path / "logs"),
                 "TRADD_STATE_DIR": str(tmp_path / "state"), **(env or {})}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "tradd", *args],
            cwd=cwd or ROOT,
            env=_clean_env(extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


SpawnCli = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def spawn_cli(tmp_path: Path) -> SpawnCli:
    """Start `python -m tradd ...` in the background (same environment as run_cli)."""

    def spawn(*args: str) -> subprocess.Popen[str]:
        env = _clean_env({"TRADD_LOG__DIR": str(tmp_path / "logs"),
                          "TRADD_STATE_DIR": str(tmp_path / "state")})  # fmt: skip
        return subprocess.Popen(
            [sys.executable, "-m", "tradd", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    return spawn


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped daily sample data."""
    target = tmp_path / "data"
    target.mkdir()
    for path in SAMPLE_DATA.glob("*.1d.csv"):
        shutil.copy(path, target / path.name)
    return target


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("PG_TEST_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("PG_TEST_URL is not set: in CI the PostgreSQL tests must run (.ci/run)")
        pytest.skip("no PostgreSQL: set PG_TEST_URL (e.g. source .ci/postgres.sh) to run this")
    return url
