"""Injecting the scheduled faults into the running stack, and undoing the held ones.

Every fault goes through the same door an operator or the machine would use: signals to
processes, `tradctl` commands on the control socket, the simulator's admin socket, a new
configuration file, plain idle connections. A fault that cannot be injected right now (the
target worker is restarting, a command conflicts) is counted as skipped, not failed.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradd.control.client import Unreachable
from tradd.rehearsal.probes import Latency
from tradd.rehearsal.schedule import SCOPE, Event
from tradd.rehearsal.stack import Stack, pid_alive, strategies, wait_for

SIM_UNDO: dict[str, tuple[str, dict[str, Any]]] = {
    "stall": ("unstall", {}), "lost": ("restored", {}),
    "lost_data_lost": ("restored", {"data_lost": True}), "withhold": ("release", {}),
    "slip": ("slip", {"value": 0}),
}  # fmt: skip


UNDO_TRIES = 15
UNDO_RETRY = 2.0  # seconds between tries of an undo the system refused


@dataclass
class Window:
    """A stretch of rehearsal time a fault may take from `target` ("" = every strategy)."""

    start: float
    end: float
    target: str


@dataclass
class Injector:
    stack: Stack
    latency: Latency
    recovery: float
    flood_size: int
    clock: Callable[[], float]  # rehearsal time now
    entries: list[dict[str, Any]] = field(default_factory=strategies)  # the config's now
    done: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)  # the system misbehaved
    notes: list[str] = field(default_factory=list)  # a fault could not be injected
    windows: list[Window] = field(default_factory=list)
    outages: list[Window] = field(default_factory=list)  # the control socket may be down
    pending: list[tuple[float, Event]] = field(default_factory=list)
    _flood: list[socket.socket] = field(default_factory=list)
    _before_invalid: dict[str, Any] = field(default_factory=dict)
    _retries: dict[Event, int] = field(default_factory=dict)

    def inject(self, event: Event, now: float) -> None:
        try:
            getattr(self, f"_start_{event.kind}", self._start_sim)(event, now)
        except (Unreachable, OSError, TimeoutError, RuntimeError, KeyError) as exc:
            self.skipped[event.kind] += 1
            self.notes.append(f"+{now:.0f}s {event.describe()}: not injected ({exc})")
            return
        self.done[event.kind] += 1
        if event.hold:
            self.pending.append((now + event.hold, event))
        if SCOPE[event.kind] != "none":
            self.excuse(now, now + event.hold, event.target)

    def excuse(self, start: float, end: float, target: str) -> None:
        self.windows.append(Window(start, end + self.recovery, target))

    def due(self, now: float) -> None:
        """Undo the held faults whose time has come."""
        for item in [p for p in self.pending if p[0] <= now]:
            self.pending.remove(item)
            self.undo(item[1], now)

    def undo_all(self) -> None:
        """Undo every held fault now, retrying refused undos until they give up."""
        while self.pending:
            batch, self.pending = self.pending, []
            for _, event in batch:
                self.undo(event, self.clock())
            if self.pending:
                time.sleep(UNDO_RETRY)

    def undo(self, event: Event, now: float) -> None:
        """Undo a held fault; one the system cannot take yet (a worker restarting after an
        emergency flatten cannot resume) is tried again, as an operator would."""
        try:
            getattr(self, f"_end_{event.kind}", self._end_sim)(event, now)
        except (Unreachable, OSError, TimeoutError, RuntimeError, KeyError) as exc:
            self._retries[event] = tries = self._retries.get(event, 0) + 1
            if tries < UNDO_TRIES:
                self.pending.append((now + UNDO_RETRY, event))
            else:
                self.findings.append(f"+{now:.0f}s undo {event.describe()}: failed ({exc})")
            return
        if SCOPE[event.kind] != "none":  # excused until the undo took, plus recovery
            self.excuse(event.at, now, event.target)

    def excused(self, at: float, name: str) -> bool:
        return any(w.start <= at <= w.end and w.target in ("", name) for w in self.windows)

    def in_outage(self, at: float) -> bool:
        return any(w.start <= at <= w.end for w in self.outages)

    # ---- processes ------------------------------------------------------------------------

    def _start_kill_worker(self, event: Event, now: float) -> None:
        pid = self.stack.status()[event.target].get("pid")
        if not pid:
            raise RuntimeError(f"{event.target} has no worker process")
        os.kill(int(pid), signal.SIGKILL)

    def _start_kill_supervisor(self, event: Event, now: float) -> None:
        workers = {int(s["pid"]) for s in self.stack.status().values() if s.get("pid")}
        self.stack.kill_supervisor()
        try:
            wait_for(lambda: not any(pid_alive(p) for p in workers), 30, "workers gone")
        except TimeoutError:
            alive = sorted(p for p in workers if pid_alive(p))
            self.findings.append(f"+{now:.0f}s workers {alive} outlived their supervisor")
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.stack.start_daemon()
        self.outages.append(Window(now, self.clock() + 1.0, ""))
        self.excuse(now, self.clock(), "")

    def _start_gateway_restart(self, event: Event, now: float) -> None:
        self.stack.stop_gateway()
        self.stack.start_gateway()
        self.excuse(now, self.clock(), "")

    # ---- the control socket ---------------------------------------------------------------

    def _start_reload_valid(self, event: Event, now: float) -> None:
        entries = copy.deepcopy(self.entries)
        flip = self.done["reload_valid"] % 2  # alternate: a real change every time
        entry = next(e for e in entries if e["name"] == event.target)
        if entry["name"] == "sma":
            entry["params"]["slow"] = 9 - flip
        elif entry["name"] == "rsi":
            entry["params"]["overbought"] = 56.0 - flip
        else:
            entry["position_pct"] = 4.0 + flip
        self.stack.write_config(entries)
        self.entries = entries
        self._expect(self.stack.call("reload", timeout=60.0), True, "valid reload")

    def _start_reload_invalid(self, event: Event, now: float) -> None:
        entries = copy.deepcopy(self.entries)
        sma = next(e for e in entries if e["name"] == "sma")
        sma["params"]["fsat"] = sma["params"].pop("fast")  # a typo'd parameter name
        before = self._pids()
        self.stack.write_config(entries)
        reply = self.stack.call("reload", timeout=60.0)
        self.stack.write_config(self.entries)  # the good file back; nothing reloads it
        self._expect(reply, False, "invalid reload (unknown parameter fsat)")
        self._before_invalid = before

    def _end_reload_invalid(self, event: Event, now: float) -> None:
        after = self._pids()
        changed = {n for n, p in self._before_invalid.items() if after.get(n) != p}
        if changed:
            self.findings.append(
                f"+{now:.0f}s invalid reload changed workers {sorted(changed)}: "
                f"{self._before_invalid} -> {after}"
            )

    def _pids(self) -> dict[str, Any]:
        return {n: (s.get("pid"), s.get("state")) for n, s in self.stack.status().items()}

    def _expect(self, reply: dict[str, Any], ok: bool, what: str) -> None:
        if bool(reply.get("ok")) == ok:
            return
        error = reply.get("error") or {}
        if error.get("code") in ("conflict", "unavailable"):
            raise RuntimeError(f"{what}: {error.get('code')}")
        self.findings.append(f"{what}: expected ok={ok}, got {reply}")

    def _start_pause_resume(self, event: Event, now: float) -> None:
        self._expect(self.stack.call("pause", strategy=event.target), True, "pause")

    def _end_pause_resume(self, event: Event, now: float) -> None:
        self._expect(self.stack.call("resume", strategy=event.target), True, "resume")

    def _start_flatten(self, event: Event, now: float) -> None:
        began = time.monotonic()
        reply = self.stack.call("flatten", timeout=60.0, strategy=event.target)
        self.latency.record(f"flatten {event.target}", time.monotonic() - began, now)
        self._expect(reply, True, f"flatten {event.target}")

    _end_flatten = _end_pause_resume

    def _start_flood(self, event: Event, now: float) -> None:
        for _ in range(self.flood_size):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(0.5)
            try:
                sock.connect(str(self.stack.socket))
            except OSError:
                sock.close()
                self.skipped["flood connection"] += 1
                continue
            self._flood.append(sock)

    def _end_flood(self, event: Event, now: float) -> None:
        began = time.monotonic()
        try:  # the kill switch must answer while the connections are still open
            reply = self.stack.call("status", timeout=10.0)
            self.latency.record("status in a flood", time.monotonic() - began, now)
            if not reply.get("ok"):
                self.findings.append(f"+{now:.0f}s status in a flood: {reply.get('error')}")
        except Unreachable:
            self.latency.record("status in a flood", None, now)
        for sock in self._flood:
            sock.close()
        self._flood.clear()

    # ---- the simulator's catalogue --------------------------------------------------------

    def _start_sim(self, event: Event, now: float) -> None:
        kind = event.kind
        if kind in ("drop", "drop_reset"):
            self.stack.sim_fault("drop", reset=kind == "drop_reset")
        elif kind == "refuse":
            self.stack.sim_fault("refuse", seconds=event.hold)
        elif kind in ("lost", "lost_data_lost"):
            self.stack.sim_fault("lost")
        elif kind in ("stall", "withhold"):
            self.stack.sim_fault(kind)
        else:  # farm, reject, pacing, partial, duplicate, ignore, slip: a number each
            self.stack.sim_fault(kind, value=event.value)

    def _end_sim(self, event: Event, now: float) -> None:
        if event.kind == "ignore":
            self.stack.sim_fault("heed", value=event.value)
        elif event.kind in SIM_UNDO:
            name, args = SIM_UNDO[event.kind]
            self.stack.sim_fault(name, **args)
