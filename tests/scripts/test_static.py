"""Every operator script parses, documents itself and passes shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.scripts.conftest import SCRIPTS, Fakes

NAMES = ["start_live_trading.sh", "stop_live_trading.sh", "emergency_stop.sh"]


@pytest.mark.parametrize("name", NAMES)
def test_bash_syntax(name: str) -> None:
    done = subprocess.run(
        ["bash", "-n", str(SCRIPTS / name)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_executable_with_strict_mode(name: str) -> None:
    path = SCRIPTS / name
    assert path.stat().st_mode & 0o111, f"{name} is not executable"
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text


@pytest.mark.parametrize("name", NAMES)
def test_help_and_usage_errors(fakes: Fakes, name: str) -> None:
    done = fakes.run(name, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: {name}")
    assert "Exit status" in done.stdout
    wrong = fakes.run(name, "--no-such-flag")
    assert wrong.returncode == 2
    assert "unknown argument '--no-such-flag'" in wrong.stderr
    missing = fakes.run(name, "--mode")
    assert missing.returncode == 2
    assert "--mode needs a value" in missing.stderr
    assert fakes.calls() == []  # nothing was run


@pytest.mark.parametrize("name", [*NAMES, "lib/common.sh"])
def test_shellcheck(name: str) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        if os.environ.get("CI") == "true":
            pytest.fail("shellcheck is missing: .ci/run installs it in CI")
        pytest.skip("shellcheck not installed")
    done = subprocess.run(
        [shellcheck, "--severity=info", "--external-sources", str(SCRIPTS / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
