"""Run the operator scripts against fake `tradd`, `tradctl` and `systemctl` executables.

Each fake records its argv in `calls` and answers from files the test writes:
`<name>.<command>.out` is printed, `<name>.<command>.rc` holds exit codes used one per
call (the last one repeats). The command is the first word that is not an option or an
option's value (`tradd config check` -> config, `tradctl --config X health` -> health).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPTS = ROOT / "scripts"

FAKE = r"""#!/usr/bin/env bash
set -u
name=${0##*/}
printf '%s\n' "$name $*" >>"$FAKE_DIR/calls"
# The scripts' own variables must not reach tradd: its loader rejects unknown TRADD_* keys.
for var in TRADD_BIN TRADD_MODE TRADD_UNIT TRADD_WEB_UNIT TRADD_PIDFILE TRADD_POLL_INTERVAL; do
    if [[ -n "${!var+set}" && $name != systemctl ]]; then
        echo "fake $name: $var leaked into the environment" >&2
        exit 99
    fi
done
cmd="" skip=0
for arg in "$@"; do
    if ((skip)); then skip=0; continue; fi
    case "$arg" in
    --config | --pidfile | --socket | --timeout | -p) skip=1 ;;
    -*) ;;
    *) cmd=$arg; break ;;
    esac
done
key="$FAKE_DIR/$name.$cmd"
if [[ -f "$key.out" ]]; then cat "$key.out"; fi
rc=0
if [[ -f "$key.rc" ]]; then
    read -ra codes <"$key.rc"
    rc=${codes[0]}
    if ((${#codes[@]} > 1)); then printf '%s ' "${codes[@]:1}" >"$key.rc"; fi
fi
exit "$rc"
"""

HOLDER = """
import signal, subprocess, sys
from pathlib import Path
from tradd.supervisor.daemonize import PidFile
if sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
lock = PidFile(Path(sys.argv[1]))
lock.acquire()
worker = subprocess.Popen(["sleep", "300"])
print(f"ready {worker.pid}", flush=True)
while True:
    signal.pause()
"""


@dataclass
class Fakes:
    dir: Path
    config: Path

    def answer(self, name: str, command: str, *, rc: str | int = 0, out: str = "") -> None:
        (self.dir / f"{name}.{command}.rc").write_text(f"{rc}\n")
        if out:
            (self.dir / f"{name}.{command}.out").write_text(out + "\n")

    def calls(self) -> list[str]:
        path = self.dir / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def run(
        self, script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        environ.update(
            {
                "FAKE_DIR": str(self.dir),
                "TRADD_BIN": str(self.dir),
                "TRADD_CONFIG": str(self.config),
                "TRADD_MODE": "daemon",
                "TRADD_POLL_INTERVAL": "0.05",
                # The fake systemctl shadows the real one, whatever the mode.
                "PATH": f"{self.dir}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        environ.update(env or {})
        return subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("tradd", "tradctl", "systemctl"):
        path = bin_dir / name
        path.write_text(FAKE)
        path.chmod(0o755)
    config = tmp_path / "tradd.toml"
    config.write_text("# fake\n")
    return Fakes(bin_dir, config)


@dataclass
class Holder:
    """A stand-in daemon: holds the PID file lock (PID written) and has one child."""

    process: subprocess.Popen[str]
    pidfile: Path
    worker_pid: int


SpawnHolder = Callable[..., Holder]


def _is_our_sleep(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0300")
    except OSError:
        return False


@pytest.fixture
def spawn_holder(tmp_path: Path) -> Iterator[SpawnHolder]:
    started: list[Holder] = []

    def spawn(on_term: str = "default") -> Holder:
        pidfile = tmp_path / "state" / "tradd.pid"
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(pidfile), on_term],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline().split()
        assert line[:1] == ["ready"], line
        holder = Holder(process, pidfile, int(line[1]))
        started.append(holder)
        return holder

    yield spawn
    for holder in started:
        holder.process.kill()
        holder.process.wait(timeout=10)
        if _is_our_sleep(holder.worker_pid):  # not a recycled pid
            os.kill(holder.worker_pid, signal.SIGKILL)
