"""systemd/tradd.service: systemd itself accepts it, and it says what the daemon relies on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CONFIG, ROOT

UNIT = ROOT / "systemd" / "tradd.service"
VENV_TRADD = ROOT / ".venv" / "bin" / "tradd"
MAX_EXPOSURE = 5.0


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing: in CI the unit must be verified")
        pytest.skip("systemd-analyze not installed")
    return found


def _directives(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value (keys such as Environment= may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture
def installable_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at binaries and files that exist on this machine
    (verify checks that the executable exists)."""
    tradd = VENV_TRADD if VENV_TRADD.exists() else Path(shutil.which("tradd") or VENV_TRADD)
    text = UNIT.read_text()
    assert "/opt/tradd/.venv/bin/tradd run --config /etc/tradd/tradd.toml" in text
    text = text.replace("/opt/tradd/.venv/bin/tradd", str(tradd.absolute()))
    text = text.replace("--config /etc/tradd/tradd.toml", f"--config {CONFIG}")
    target = tmp_path / "tradd.service"
    target.write_text(text)
    return target


def test_systemd_analyze_verify_accepts_the_unit(installable_unit: Path) -> None:
    analyze = _systemd_analyze()
    done = subprocess.run(
        [analyze, "verify", str(installable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = (done.stdout + done.stderr).splitlines()
    # Complaints about the host's other units are not ours; anything about this file is.
    ours = [line for line in output if installable_unit.name in line]
    assert done.returncode == 0, "\n".join(output)
    assert ours == [], "\n".join(ours)


def test_security_exposure_is_low(
    installable_unit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    analyze = _systemd_analyze()
    done = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(installable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "--offline" in done.stderr and "unrecognized" in done.stderr:
        pytest.skip("systemd-analyze security --offline needs systemd >= 252")
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert found, done.stdout + done.stderr
    exposure = float(found.group(1))
    with capsys.disabled():
        print(f"\ntradd.service exposure: {exposure}")
    assert exposure < MAX_EXPOSURE, done.stdout


def test_unit_declares_what_the_daemon_relies_on() -> None:
    service = _directives(UNIT.read_text())["Service"]

    def one(key: str) -> str:
        assert key in service, f"{key}= missing"
        return service[key][-1]

    assert one("Type") == "notify"
    assert one("NotifyAccess") == "main"
    assert one("ExecStart") == "/opt/tradd/.venv/bin/tradd run --config /etc/tradd/tradd.toml"
    assert one("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert int(one("WatchdogSec")) > 0
    assert one("KillMode") == "mixed"
    assert one("Restart") == "on-failure"
    # config errors, a corrupt ledger: no restart loop
    assert {"65", "78"} <= set(one("RestartPreventExitStatus").split())
    # Stopping must outlast the supervisor's own graceful stop of its workers.
    assert float(one("TimeoutStopSec")) > 45
    assert one("RuntimeDirectory") == "tradd"
    assert one("StateDirectory") == "tradd"
    assert one("LogsDirectory") == "tradd"
    assert one("User") == "tradd"
    assert one("Group") == "tradd"
    assert one("UMask") == "0027"
    environment = " ".join(service["Environment"]).split()
    assert "TRADD_STATE_DIR=/var/lib/tradd" in environment
    assert "TRADD_LOG__DIR=/var/log/tradd" in environment
    assert one("EnvironmentFile") == "-/etc/tradd/tradd.env"
    assert one("CapabilityBoundingSet") == ""
    assert one("NoNewPrivileges") == "yes"
    assert one("ProtectSystem") == "strict"
    # not the default 1024: an idle-connection flood must not starve heartbeats and spawns
    assert int(one("LimitNOFILE")) >= 65536


def test_environment_overrides_in_the_unit_reach_the_settings() -> None:
    """The unit moves state and logs with TRADD_STATE_DIR / TRADD_LOG__DIR: the loader
    must map those names onto state_dir and log.dir."""
    from tradd.config.loader import load_settings

    env_lines = _directives(UNIT.read_text())["Service"]["Environment"]
    environ = dict(item.split("=", 1) for line in env_lines for item in line.split())
    environ = {k: v for k, v in environ.items() if k.startswith("TRADD_")}
    settings = load_settings(CONFIG, environ=environ, dotenv_path=None)
    assert settings.state_dir == Path("/var/lib/tradd")
    assert settings.log.dir == Path("/var/log/tradd")


def test_sysusers_entry_creates_the_unit_user(tmp_path: Path) -> None:
    sysusers = shutil.which("systemd-sysusers")
    if sysusers is None:
        pytest.skip("systemd-sysusers not installed")
    (tmp_path / "etc").mkdir()
    done = subprocess.run(
        [sysusers, f"--root={tmp_path}", "--dry-run", str(ROOT / "systemd" / "tradd.sysusers")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "Creating group 'tradd'" in output
    assert "Creating user 'tradd'" in output
    assert not list((tmp_path / "etc").iterdir())  # a dry run writes nothing
