"""emergency_stop.sh: supervisor flatten first, the supervisor-less kill switch as fallback."""

from __future__ import annotations

import signal

import pytest

from tests.scripts.conftest import Fakes, SpawnHolder


def _flatten_calls(fakes: Fakes) -> list[str]:
    return [c for c in fakes.calls() if "flatten" in c]


def test_flat_through_the_supervisor(fakes: Fakes) -> None:
    fakes.answer("tradctl", "flatten", out="sma_goog: flat (halted)\nrsi_multi: flat (halted)")
    done = fakes.run("emergency_stop.sh")
    assert done.returncode == 0, done.stderr
    assert "rsi_multi: flat (halted)" in done.stdout  # per-strategy results are shown
    assert "CONFIRMED FLAT via supervisor" in done.stdout
    assert _flatten_calls(fakes) == [f"tradctl --config {fakes.config} flatten --all"]


@pytest.mark.parametrize(
    ("tradctl_rc", "reason"),
    [(3, "UNREACHABLE"), (4, "FAILED or was not confirmed"), (1, "FAILED")],
)
def test_falls_back_to_flatten_account(fakes: Fakes, tradctl_rc: int, reason: str) -> None:
    fakes.answer("tradctl", "flatten", rc=tradctl_rc)
    fakes.answer("tradd", "flatten-account", out="account DU123: flat")
    done = fakes.run("emergency_stop.sh")
    assert done.returncode == 0, done.stderr
    assert reason in done.stderr
    assert "account DU123: flat" in done.stdout
    assert "CONFIRMED FLAT via tradd flatten-account" in done.stdout
    assert _flatten_calls(fakes) == [
        f"tradctl --config {fakes.config} flatten --all",
        f"tradd flatten-account --config {fakes.config}",
    ]


def test_nothing_worked_is_loud_and_fails(fakes: Fakes) -> None:
    fakes.answer("tradctl", "flatten", rc=3)
    fakes.answer("tradd", "flatten-account", rc=1)
    done = fakes.run("emergency_stop.sh")
    assert done.returncode == 1
    assert "NOT CONFIRMED FLAT" in done.stdout
    assert "BY HAND NOW" in done.stderr
    assert "CONFIRMED FLAT via" not in done.stdout


def test_stop_after_flattening(fakes: Fakes, spawn_holder: SpawnHolder) -> None:
    holder = spawn_holder()
    fakes.answer("tradctl", "flatten", rc=3)
    done = fakes.run("emergency_stop.sh", "--stop", "--pidfile", str(holder.pidfile))
    assert done.returncode == 0, done.stderr
    assert "CONFIRMED FLAT via tradd flatten-account" in done.stdout
    assert "stopped cleanly" in done.stdout
    assert holder.process.poll() == -signal.SIGTERM
    assert _flatten_calls(fakes)[-1] == f"tradd flatten-account --config {fakes.config}"


def test_stop_happens_even_when_not_flat(fakes: Fakes, spawn_holder: SpawnHolder) -> None:
    holder = spawn_holder()
    fakes.answer("tradctl", "flatten", rc=4)
    fakes.answer("tradd", "flatten-account", rc=1)
    done = fakes.run("emergency_stop.sh", "--stop", "--pidfile", str(holder.pidfile))
    assert done.returncode == 1
    assert "NOT CONFIRMED FLAT" in done.stdout
    assert holder.process.poll() == -signal.SIGTERM


def test_flat_but_stop_failed(fakes: Fakes) -> None:
    fakes.answer("systemctl", "stop", rc=1)
    done = fakes.run("emergency_stop.sh", "--stop", env={"TRADD_MODE": "systemd"})
    assert done.returncode == 4
    assert "CONFIRMED FLAT via supervisor" in done.stdout
    assert "did NOT stop cleanly" in done.stderr
    assert "systemctl stop tradd.service" in fakes.calls()
