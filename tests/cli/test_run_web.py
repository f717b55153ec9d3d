"""`make run`'s command line with the console: `tradd run --simulate --web`.

The real entry point with the shipped configuration (state, logs and ports moved to the
test's own): the banner prints the console's URL and the first admin's password, a login
with that password works, the console is a child process of its own whose death leaves
the daemon running, and Ctrl-C (SIGINT) stops both.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.test_run import free_port
from tests.conftest import ROOT
from tests.fixtures.simulator import eventually
from tradd.control.client import Unreachable, call

PASSWORD = re.compile(r"created user admin with password (\S+)")


class Run:
    def __init__(self, tmp_path: Path) -> None:
        self.socket = tmp_path / "control.sock"
        self.output = tmp_path / "out"
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        env.update({
            "TRADD_STATE_DIR": str(tmp_path / "state"), "TRADD_LOG__DIR": str(tmp_path / "logs"),
            "TRADD_BROKER__PORT": str(free_port()), "TRADD_METRICS__PORT": "0",
            "TRADD_CONTROL__SOCKET": str(self.socket), "TRADD_WEB__PORT": str(self.port),
        })  # fmt: skip
        with self.output.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tradd", "run", "--config", "etc/tradd.toml",
                 "--simulate", "--speed", "60", "--web"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.output.read_text()

    def alive(self) -> None:
        assert self.proc.poll() is None, self.text()

    def daemon_answers(self) -> bool:
        self.alive()
        try:
            return bool(call(self.socket, "status", {}, 5)["ok"])
        except Unreachable:
            return False

    def console_answers(self) -> bool:
        self.alive()
        try:
            return httpx.get(f"{self.url}/login", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def console_pid(self) -> int:
        """The `tradd web` child of `tradd run`."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        for pid in children.split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"web" in cmdline and b"tradd" in cmdline:
                return int(pid)
        raise AssertionError(f"no tradd web child among {children!r}")


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    started = Run(tmp_path)
    yield started
    if started.proc.poll() is None:
        started.proc.kill()
        started.proc.wait(10)


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_make_run_starts_the_console_and_ctrl_c_stops_both(run: Run) -> None:
    eventually(run.daemon_answers, 60, "the daemon's control socket")
    eventually(run.console_answers, 60, "the console answering")
    banner = run.text()
    assert f"tradd console on http://127.0.0.1:{run.port}/" in banner
    found = PASSWORD.search(banner)
    assert found, banner
    with httpx.Client(base_url=run.url, timeout=10) as browser:
        login = browser.post("/api/v1/auth/login",
                             json={"username": "admin", "password": found.group(1)})  # fmt: skip
        assert login.status_code == 200, login.text
        assert browser.get("/api/v1/optimizer/history").status_code == 200
    console = run.console_pid()
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(60) == 0, run.text()
    assert _gone(console)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{run.url}/login", timeout=2)


def test_the_console_dying_leaves_the_daemon_running(run: Run) -> None:
    eventually(run.console_answers, 60, "the console answering")
    os.kill(run.console_pid(), signal.SIGKILL)
    eventually(lambda: not run.console_answers(), 30, "the console gone")
    assert run.daemon_answers()
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(60) == 0, run.text()
    assert "web console had exited (-9)" in run.text()


def test_tradd_web_does_not_import_the_research_stack() -> None:
    """The console's memory budget (<= 150 MB): `tradd web` builds only its own command,
    as `tradd run` does; its jobs, which need pandas and matplotlib, are other processes."""
    probe = ("import sys; from tradd.cli.app import build_app; build_app(web_only=True); "
             "import tradd.web.server; "
             "print(sorted(m for m in ('pandas', 'matplotlib', 'scipy', 'optuna') "
             "if m in sys.modules))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
