"""The fault schedule: which fault, when, against whom, from one seed.

`random.Random(seed)` decides everything, so a failing rehearsal is repeated by its seed.
Every kind runs at least once when the run is long enough (the kinds are dealt out
shuffled first, then drawn at random), spread over the run with some jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# The operator's and the machine's faults, then every fault of the simulator's catalogue
# (tradd.simgw.faults.CATALOGUE: paired ones as one event that is undone after `hold`).
DAEMON_FAULTS = (
    "kill_worker", "kill_supervisor", "gateway_restart", "reload_valid", "reload_invalid",
    "pause_resume", "flatten", "flood",
)  # fmt: skip
SIM_FAULTS = (
    "drop", "drop_reset", "stall", "refuse", "lost", "lost_data_lost", "farm", "reject",
    "pacing", "partial", "withhold", "duplicate", "ignore", "slip",
)  # fmt: skip
KINDS = DAEMON_FAULTS + SIM_FAULTS
FARM_CODES = (2103, 2104, 2105, 2106, 2107, 2108, 2110, 2157, 2158)
REJECT_CODES = (201, 103, 110, 321)
IGNORED_MESSAGES = (20, 9, 7)  # historical data, contract details, executions
# What a fault touches: "all" strategies, "one" (the target), or "none" (no trading gap
# is expected: it is excluded from nothing when the tradable share is measured).
SCOPE = {
    "kill_worker": "one", "kill_supervisor": "all", "gateway_restart": "all",
    "reload_valid": "one", "reload_invalid": "none", "pause_resume": "one", "flatten": "one",
    "flood": "none", "drop": "all", "drop_reset": "all", "stall": "all", "refuse": "all",
    "lost": "all", "lost_data_lost": "all", "farm": "none", "reject": "none", "pacing": "all",
    "partial": "none", "withhold": "none", "duplicate": "none", "ignore": "all",
    "slip": "none",
}  # fmt: skip


@dataclass(frozen=True)
class Event:
    """One fault: at `at` real seconds into the run, held `hold` seconds, then undone."""

    at: float
    kind: str
    target: str = ""
    value: int = 0
    hold: float = 0.0

    def describe(self) -> str:
        parts = [self.kind]
        if self.target:
            parts.append(self.target)
        if self.value:
            parts.append(str(self.value))
        if self.hold:
            parts.append(f"{self.hold:.1f}s")
        return " ".join(parts)


def build(seed: int, duration: float, targets: list[str], *, start: float = 10.0) -> list[Event]:
    """Events over [start, 85% of duration]: every kind once, then random ones, ~one per 10 s."""
    rng = random.Random(seed)
    end = max(start + 1.0, duration * 0.85)
    count = max(len(KINDS), int((end - start) / 10.0))
    kinds = list(KINDS)
    rng.shuffle(kinds)
    weights = [4 if k == "kill_worker" else 1 for k in KINDS]
    kinds += rng.choices(KINDS, weights, k=count - len(kinds))
    gap = (end - start) / count
    return [_event(rng, kind, start + i * gap + rng.uniform(0, gap / 2), targets)
            for i, kind in enumerate(kinds)]  # fmt: skip


def _event(rng: random.Random, kind: str, at: float, targets: list[str]) -> Event:
    target = rng.choice(targets) if SCOPE[kind] == "one" else ""
    value = 0
    hold = 0.0
    if kind == "farm":
        value = rng.choice(FARM_CODES)
    elif kind == "reject":
        value = rng.choice(REJECT_CODES)
    elif kind in ("pacing", "partial", "duplicate", "slip"):
        value = rng.randint(2, 4)
    elif kind == "ignore":
        value = rng.choice(IGNORED_MESSAGES)
    if kind in ("stall", "lost", "lost_data_lost", "withhold", "ignore", "pause_resume",
                "flatten", "flood", "refuse", "reload_invalid", "slip"):  # fmt: skip
        hold = round(rng.uniform(1.0, 5.0), 1)
    return Event(round(at, 1), kind, target, value, hold)


def nightly_restart(at: float) -> Event:
    """The gateway's nightly restart, injected when a session ends (the simulator skips the
    closed hours, so the restart lands just before the next open)."""
    return Event(at, "refuse", hold=3.0)
