"""One rehearsal from start to verdict: start the stack, play the schedule, watch, judge.

The loop ticks about twice a second: one `status` (timed), the tradable share of each
strategy, RSS and fd counts, the simulator's clock (a new session gets the nightly
restart), due faults and their undoing, and every `CHECK_EVERY` seconds the invariants.
When the simulated clock passes the last session's close the faults are undone, the
system settles, and the invariants are judged once more, finally.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tradd.control.client import Unreachable
from tradd.marketdata.contracts import load_definitions
from tradd.rehearsal import schedule
from tradd.rehearsal.faults import Injector
from tradd.rehearsal.invariants import Ledger, Verdict, check
from tradd.rehearsal.probes import (
    EASTERN,
    GatewayJournal,
    Latency,
    Resources,
    Tradable,
    gateway_positions,
    market_open,
    why_blocked,
)
from tradd.rehearsal.stack import DATA_DIR, SYMBOLS, Options, Stack, pid_alive, wait_for
from tradd.simgw.contracts import instrument_for

TICK = 0.5
CHECK_EVERY = 10.0
GRACE = 45.0  # seconds a difference between ledger and gateway may be in flight
SETTLE = 90.0  # seconds the final check waits for everything to agree
WARMUP_SESSIONS = 1  # simulated sessions before the first measured one, for starting up
READY_TIMEOUT = 240.0  # real seconds every strategy has to start trading
MAX_RSS_MB = 1500  # any process past this ends the run (a runaway, not a leak to measure)


def trading_days(start: date, days: int) -> tuple[str, list[str]]:
    """The first of the `WARMUP_SESSIONS` before `start` (the simulator starts there, and
    the daemon starts up meanwhile) and the first `days` sessions from `start` on, as the
    sample data has them (holidays are gaps)."""
    lines = (DATA_DIR / f"{SYMBOLS[0]}.1d.csv").read_text().splitlines()[1:]
    dates = [line.split(",", 1)[0][:10] for line in lines]
    first = next((i for i, d in enumerate(dates) if d >= start.isoformat()), len(dates))
    return dates[max(first - WARMUP_SESSIONS, 0)], dates[first : first + days]


@dataclass
class Outcome:
    """Everything the report shows."""

    options: Options
    workdir: Path
    days: list[str]
    events: list[schedule.Event]
    injector: Injector
    latency: Latency
    tradable: Tradable
    resources: Resources
    verdict: Verdict = field(default_factory=Verdict)
    mid_run: dict[str, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0
    sessions_seen: list[str] = field(default_factory=list)


class Runner:
    def __init__(self, options: Options, workdir: Path | None = None) -> None:
        self.options = options
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="tradd-rehearsal-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stack = Stack(options, self.workdir)
        warmup, self.days = trading_days(options.start, options.days)
        if len(self.days) < options.days:
            raise ValueError(f"--days {options.days}: the sample data has {len(self.days)}")
        self.stack.warmup_day = date.fromisoformat(warmup)
        self.t0 = time.monotonic()
        self.latency = Latency(options.status_limit)
        self.injector = Injector(self.stack, self.latency, options.recovery, options.flood,
                                 clock=self.now)  # fmt: skip
        duration = options.days * 23_400 / options.speed
        names = [s["name"] for s in self.injector.entries]
        events = schedule.build(options.seed, duration, names) if options.faults else []
        self.outcome = Outcome(options, self.workdir, self.days, events, self.injector,
                               self.latency, Tradable(), Resources(options.warmup))  # fmt: skip
        self.journal = GatewayJournal(self.stack.log_dir / "simgw.log")
        definitions = load_definitions(DATA_DIR)  # what simgw serves each symbol as
        self.con_ids = {instrument_for(s, definitions.spec(s)).con_id: s for s in SYMBOLS}
        self._session = ""

    def now(self) -> float:
        return time.monotonic() - self.t0

    def run(self) -> Outcome:
        began = time.monotonic()
        try:
            self.stack.start_gateway()  # a session early: the daemon starts up meanwhile
            self.stack.start_daemon()
            self._wait_ready("at the start")
            session = 23_400 / self.options.speed
            wait_for(self._first_day, WARMUP_SESSIONS * session + 60, "the first session", 0.05)
            self.t0 = time.monotonic()
            self._loop()
            self._finish()
        except KeyboardInterrupt:  # Ctrl-C: stop everything, report what was seen
            self.outcome.failures.append("interrupted")
        except Exception as exc:  # a bug in the system or the harness: report it, stop all
            (self.workdir / "aborted.txt").write_text(traceback.format_exc())
            self.outcome.failures.append(f"rehearsal aborted: {exc!r} (see aborted.txt)")
        finally:
            self.injector.undo_all()
            self.stack.stop(self.outcome.resources.pids())
            self.outcome.wall = time.monotonic() - began
        return self.outcome

    def _wait_ready(self, when: str) -> None:
        """Every strategy RUNNING and reconciled; if not in time, a failure, and go on."""
        try:
            wait_for(self._all_ready, READY_TIMEOUT, "every strategy trading")
        except TimeoutError:
            states = {n: (v["state"], v.get("reason")) for n, v in self.stack.status().items()}
            self.outcome.failures.append(f"not every strategy trading {when}: {states}")

    def _first_day(self) -> bool:
        sim = self._sim_time()
        return sim is not None and sim.astimezone(EASTERN).date().isoformat() >= self.days[0]

    def _all_ready(self) -> bool:
        try:
            views = self.stack.status()
        except Unreachable:  # a supervisor starting up
            return False
        return all(v["state"] == "RUNNING" and v["worker"].get("ready") for v in views.values())

    def _loop(self) -> None:
        events = list(self.outcome.events)
        last_check = 0.0
        while True:
            tick = time.monotonic()
            now = self.now()
            sim = self._sim_time()
            if sim is not None and self._ended(sim):
                return
            if sim is not None:
                self._session_turn(sim, now)
            self._sample(now, sim)
            while events and events[0].at <= now:
                self.injector.inject(events.pop(0), self.now())
            self.injector.due(self.now())
            if now - last_check >= CHECK_EVERY:
                last_check = now
                self._check_mid_run(now)
            time.sleep(max(0.0, TICK - (time.monotonic() - tick)))

    def _sim_time(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str(self.stack.sim_status()["sim_time"]))
        except Exception:  # restarting: the next tick will see it
            return None

    def _ended(self, sim: datetime) -> bool:
        local = sim.astimezone(EASTERN)
        last = self.days[-1]
        day = local.date().isoformat()
        return day > last or (day == last and local.hour * 60 + local.minute >= 15 * 60 + 59)

    def _session_turn(self, sim: datetime, now: float) -> None:
        """A new session: the gateway's nightly restart comes first (with faults on)."""
        day = sim.astimezone(EASTERN).date().isoformat()
        if day == self._session or day not in self.days:
            return
        self._session = day
        self.outcome.sessions_seen.append(day)
        if self.options.faults and len(self.outcome.sessions_seen) > 1:
            self.injector.inject(schedule.nightly_restart(now), now)

    def _sample(self, now: float, sim: datetime | None) -> None:
        began = time.monotonic()
        try:
            views = self.stack.status(timeout=10.0)
        except Unreachable:
            if not self.injector.in_outage(now):
                self.latency.record("status", None, now)
            return
        self.latency.record("status", time.monotonic() - began, now)
        if self.stack.supervisor_pid is not None:
            self.outcome.resources.record("supervisor", self.stack.supervisor_pid, now)
        if self.stack.gateway is not None:
            self.outcome.resources.record("simgw", self.stack.gateway.pid, now)
        is_open = sim is not None and market_open(sim, frozenset(self.days))
        for name, view in views.items():
            if view.get("pid"):
                self.outcome.resources.record(name, int(view["pid"]), now)
            if is_open and not self.injector.excused(now, name):
                self.outcome.tradable.record(name, TICK, why_blocked(view))
        self._guard_memory()

    def _guard_memory(self) -> None:
        """A process past MAX_RSS_MB ends the rehearsal before it takes the machine down."""
        for (key, pid), life in self.outcome.resources.lives.items():
            if life.last is not None and life.last[0] > MAX_RSS_MB * 1024 and pid_alive(pid):
                raise RuntimeError(f"{key} (pid {pid}) holds {life.last[0] // 1024} MB")

    def _check_mid_run(self, now: float) -> None:
        ledger = Ledger.read(self.stack.database)
        self.journal.read(now)
        verdict = check(self.journal, ledger, None, now, GRACE)
        for invariant, problems in verdict.problems.items():
            seen = self.outcome.mid_run.setdefault(invariant, [])
            seen.extend(p for p in problems if p not in seen)

    def _finish(self) -> None:
        """Undo every fault, let the system settle, flatten every strategy (HALTED: no new
        orders, every late report still booked by its running worker), then the final
        verdict once ledger and gateway agree, or time is up."""
        self.injector.undo_all()
        self._wait_ready("after the run")
        reply = self.stack.call("flatten", timeout=120.0, all=True)
        if not reply.get("ok"):
            self.outcome.failures.append(f"flatten --all at the end: {reply.get('error')}")
        deadline = time.monotonic() + SETTLE
        verdict = self._final()
        while not verdict.ok and time.monotonic() < deadline:
            time.sleep(2.0)
            verdict = self._final()
        self.outcome.verdict = verdict

    def _final(self) -> Verdict:
        ledger = Ledger.read(self.stack.database)
        self.journal.read(self.now())
        positions = gateway_positions(self.stack.state_file, self.con_ids)
        return check(self.journal, ledger, positions, self.now() + GRACE, GRACE)


def describe(outcome: Outcome) -> dict[str, Any]:
    """The outcome as plain data (report.json)."""
    return {
        "seed": outcome.options.seed,
        "days": outcome.days,
        "events": [e.describe() for e in outcome.events],
        "faults": dict(outcome.injector.done),
        "skipped": dict(outcome.injector.skipped),
        "findings": outcome.injector.findings,
        "failures": outcome.failures,
        "invariants": outcome.verdict.problems,
        "mid_run": outcome.mid_run,
        "counts": outcome.verdict.counts,
        "answers": {"calls": outcome.latency.calls, "worst": outcome.latency.worst,
                    "slow": outcome.latency.slow, "unanswered": outcome.latency.unanswered},
        "tradable": {n: outcome.tradable.share(n) for n in outcome.tradable.counted},
        "blocked": outcome.tradable.reasons,
        "resources": {k: {"pid": u.pid, "first": u.first, "last": u.last, "lived": u.lifetime}
                      for k, u in outcome.resources.longest().items()},
    }  # fmt: skip
