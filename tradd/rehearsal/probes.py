"""What the rehearsal watches while it runs: answers, tradability, resources, the gateway.

Each probe keeps its own tally; the runner feeds them one sample per tick. None of them
changes anything in the system under rehearsal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
OPEN, CLOSE = time(9, 30), time(16, 0)


def market_open(sim: datetime, trading_days: frozenset[str]) -> bool:
    """Inside a regular session (09:30-16:00 US/Eastern) of a day the data trades."""
    local = sim.astimezone(EASTERN)
    return local.date().isoformat() in trading_days and OPEN <= local.time() < CLOSE


@dataclass
class Latency:
    """How fast the control socket answers: the worst, and the answers over the limit."""

    limit: float
    calls: int = 0
    worst: float = 0.0
    slow: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)

    def record(self, what: str, seconds: float | None, at: float) -> None:
        """`seconds` None: no answer at all (outside a planned supervisor outage)."""
        self.calls += 1
        if seconds is None:
            self.unanswered.append(f"{what} at +{at:.0f}s")
            return
        self.worst = max(self.worst, seconds)
        if seconds > self.limit:
            self.slow.append(f"{what} took {seconds:.2f}s at +{at:.0f}s")


@dataclass
class Tradable:
    """Per strategy: open-market time outside injected faults, and the part it could trade."""

    counted: dict[str, float] = field(default_factory=dict)
    tradable: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, dict[str, float]] = field(default_factory=dict)

    def record(self, name: str, dt: float, blocked: str) -> None:
        self.counted[name] = self.counted.get(name, 0.0) + dt
        if not blocked:
            self.tradable[name] = self.tradable.get(name, 0.0) + dt
            return
        key = blocked.split(" (", maxsplit=1)[0][:60]
        per = self.reasons.setdefault(name, {})
        per[key] = per.get(key, 0.0) + dt

    def share(self, name: str) -> float | None:
        counted = self.counted.get(name, 0.0)
        return self.tradable.get(name, 0.0) / counted if counted else None


def why_blocked(view: dict[str, Any]) -> str:
    """Why this strategy cannot trade now, from its `status` entry ("" when it can)."""
    if view.get("state") != "RUNNING":
        return f"worker {view.get('state')}"
    worker = view.get("worker") or {}
    if worker.get("connection") != "connected":
        return f"connection {worker.get('connection')}"
    if worker.get("trading_state") != "ACTIVE":
        return f"trading {worker.get('trading_state')}"
    return str(worker.get("blocked_reason") or "")


def proc_usage(pid: int) -> tuple[int, int] | None:
    """(resident KiB, open file descriptors) of a live process, from /proc."""
    try:
        with open(f"/proc/{pid}/status") as status:
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration, ValueError):
        return None


@dataclass
class Usage:
    """One process's life as seen by the rehearsal: first reading after warm-up, last one."""

    key: str
    pid: int
    seen: float
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    last_at: float = 0.0

    @property
    def lifetime(self) -> float:
        return self.last_at - self.seen


@dataclass
class Resources:
    """RSS and fd counts of the supervisor and each worker, per process lifetime."""

    warmup: float
    lives: dict[tuple[str, int], Usage] = field(default_factory=dict)

    def record(self, key: str, pid: int, at: float) -> None:
        life = self.lives.setdefault((key, pid), Usage(key, pid, at))
        usage = proc_usage(pid)
        if usage is None:
            return
        if life.first is None and at - life.seen >= self.warmup:
            life.first = usage
        life.last, life.last_at = usage, at

    def longest(self) -> dict[str, Usage]:
        """Each process key's longest-lived process (the one a growth figure means most for)."""
        best: dict[str, Usage] = {}
        for life in self.lives.values():
            if life.first is None:
                continue
            if life.key not in best or life.lifetime > best[life.key].lifetime:
                best[life.key] = life
        return best

    def pids(self) -> set[int]:
        return {pid for _, pid in self.lives}


@dataclass
class GatewayJournal:
    """Every order and execution the simulator logged (`simgw.log`), across its restarts.

    The simulator forgets yesterday's executions at each new trading day, so its state
    file alone cannot be compared with the ledger after a run; its log keeps them all.
    """

    path: Path
    offset: int = 0
    placed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # ref -> orders
    rejected: set[str] = field(default_factory=set)
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)  # exec_id -> report
    first_seen: dict[str, float] = field(default_factory=dict)  # exec_id -> rehearsal time
    placed_seen: dict[str, float] = field(default_factory=dict)  # ref -> rehearsal time

    def read(self, at: float) -> None:
        """Take in the lines written since the last read (whole lines only)."""
        try:
            with self.path.open("rb") as log:
                log.seek(self.offset)
                chunk = log.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        for line in chunk[:end].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                self._take(entry, at)

    def _take(self, entry: dict[str, Any], at: float) -> None:
        event = entry.get("event")
        if event == "simgw.order_placed":
            ref = str(entry.get("ref") or "")
            self.placed.setdefault(ref, []).append(entry)
            self.placed_seen.setdefault(ref, at)
        elif event == "simgw.order_rejected":
            self.rejected.add(str(entry.get("ref") or ""))
        elif event == "simgw.execution":
            exec_id = str(entry["exec_id"])
            self.executions[exec_id] = entry
            self.first_seen.setdefault(exec_id, at)


def gateway_positions(state_file: Path, con_ids: dict[int, str]) -> dict[str, float]:
    """The simulated account's positions by symbol, from the simulator's state file."""
    data = json.loads(state_file.read_text())
    positions = data["account"]["positions"]
    return {con_ids[int(k)]: float(q) for k, (q, _cost) in positions.items() if float(q)}
