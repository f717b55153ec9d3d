"""When to restart a crashed worker, and when to stop trying (a crash loop)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from tradd.config.daemon import SupervisorSettings


@dataclass
class RestartPolicy:
    """Exponential backoff between restarts; FATAL after too many crashes in a window.

    A worker that ran `stable_after` seconds before crashing starts again from the first
    delay: one crash a day is bad luck, five in five minutes is a loop."""

    settings: SupervisorSettings
    crashes: deque[float] = field(default_factory=deque)
    streak: int = 0
    short: int = 0
    """Spawns in a row that failed for want of the supervisor's own resources."""

    def on_crash(self, now: float, ran_for: float) -> float | None:
        """Record a crash at `now`; the delay before the next start, or None for FATAL."""
        s = self.settings
        self.crashes.append(now)
        while self.crashes and self.crashes[0] < now - s.crash_window:
            self.crashes.popleft()
        if len(self.crashes) >= s.crash_limit:
            return None
        self.streak = 1 if ran_for >= s.stable_after else self.streak + 1
        return float(min(s.backoff_initial * 2.0 ** (self.streak - 1), s.backoff_max))

    def on_short(self) -> float:
        """A spawn failed because the supervisor is out of descriptors or memory: the
        delay before trying again. Not a crash (the worker never ran), so it never leads
        to FATAL: the strategy comes back as soon as the resources do."""
        self.short += 1
        s = self.settings
        return float(min(s.backoff_initial * 2.0 ** (self.short - 1), s.backoff_max))

    def spawned(self) -> None:
        self.short = 0

    def reset(self) -> None:
        """An operator started it again: forget the history."""
        self.crashes.clear()
        self.streak = self.short = 0
