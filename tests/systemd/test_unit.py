"""systemd/tradd.service and tradd-web.service: systemd itself accepts them, and they say
what the daemon and the console rely on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CONFIG, ROOT

UNIT = ROOT / "systemd" / "tradd.service"
WEB_UNIT = ROOT / "systemd" / "tradd-web.service"
EXEC_STARTS = {
    UNIT: "/opt/tradd/.venv/bin/tradd run --config /etc/tradd/tradd.toml",
    WEB_UNIT: "/opt/tradd/.venv/bin/tradd web --config /etc/tradd/tradd.toml",
}
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


@pytest.fixture(params=[UNIT, WEB_UNIT], ids=lambda unit: unit.name)
def installable_unit(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Each unit with ExecStart pointing at binaries and files that exist on this machine
    (verify checks that the executable exists)."""
    unit: Path = request.param
    tradd = VENV_TRADD if VENV_TRADD.exists() else Path(shutil.which("tradd") or VENV_TRADD)
    text = unit.read_text()
    assert EXEC_STARTS[unit] in text
    text = text.replace("/opt/tradd/.venv/bin/tradd", str(tradd.absolute()))
    text = text.replace("--config /etc/tradd/tradd.toml", f"--config {CONFIG}")
    target = tmp_path / unit.name
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
        print(f"\n{installable_unit.name} exposure: {exposure}")
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


HARDENING = (
    "NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities", "RestrictSUIDSGID",
    "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts",
    "ProtectProc", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
    "ProtectControlGroups", "ProtectClock", "ProtectHostname", "LockPersonality",
    "RestrictRealtime", "RestrictNamespaces", "RemoveIPC", "MemoryDenyWriteExecute",
    "RestrictAddressFamilies", "SystemCallFilter", "SystemCallErrorNumber",
    "SystemCallArchitectures", "User", "Group", "UMask", "EnvironmentFile",
)  # fmt: skip


def test_web_unit_is_hardened_like_the_daemon_and_independent_of_it() -> None:
    daemon, web = _directives(UNIT.read_text()), _directives(WEB_UNIT.read_text())
    service, unit = web["Service"], web["Unit"]
    assert service["ExecStart"] == [EXEC_STARTS[WEB_UNIT]]
    for key in HARDENING:
        assert service.get(key) == daemon["Service"][key], key
    # after the daemon and pulling it in, but never bound to it: the console's crash or
    # restart does not reach the daemon
    assert "tradd.service" in " ".join(unit["After"]).split()
    assert "tradd.service" in " ".join(unit["Wants"]).split()
    for binding in ("Requires", "Requisite", "BindsTo", "PartOf", "Conflicts", "PropagatesStopTo"):
        assert binding not in unit, f"{binding}= would tie the console to the daemon"
    # /run/tradd is the daemon's: a unit removes its RuntimeDirectory when it stops
    assert "RuntimeDirectory" not in service
    # jobs are processes of their own that outlive a console restart
    assert service["KillMode"] == ["process"]
    assert service["Restart"] == ["on-failure"]
    assert {"2", "78"} <= set(service["RestartPreventExitStatus"][-1].split())
    assert service["StateDirectory"] == daemon["Service"]["StateDirectory"]
    assert service["LogsDirectory"] == daemon["Service"]["LogsDirectory"]


def test_web_unit_environment_reaches_the_console_settings() -> None:
    """Same state and logs as the daemon, and the daemon's systemd control socket."""
    from tradd.config.loader import load_settings
    from tradd.control.client import SYSTEMD_SOCKET, find_socket

    env_lines = _directives(WEB_UNIT.read_text())["Service"]["Environment"]
    environ = dict(item.split("=", 1) for line in env_lines for item in line.split())
    environ = {k: v for k, v in environ.items() if k.startswith("TRADD_")}
    settings = load_settings(CONFIG, environ=environ, dotenv_path=None)
    assert settings.state_dir == Path("/var/lib/tradd")
    assert settings.log.dir == Path("/var/log/tradd")
    assert find_socket(None, CONFIG, environ) == SYSTEMD_SOCKET
