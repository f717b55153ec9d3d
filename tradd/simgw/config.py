"""The simulator's settings, frozen once the gateway starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class SimConfig:
    """How to run one simulated gateway.

    ``speed`` is simulated seconds per real second (0 = paused: time moves only
    through ``advance``). ``port`` 0 picks a free port (tests).
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 4002
    symbols: tuple[str, ...] = ()
    speed: float = 60.0
    start: date | None = None
    account: str = "DU0000001"
    cash: float = 1_000_000.0
    state_file: Path | None = None
    seed: int = 0
    pacing: bool = True
    skip_closed: bool = True
    allow_remote: bool = False
    partial_fills: int = 1
    # As TWS: account values and summaries refresh every three minutes, and at once on a
    # fill or position change (IB's reqAccountUpdates documentation). A minute was kinder
    # than IB: a strategy that needs fresher values than that would pass here and fail live.
    account_update_seconds: int = 180
    admin_socket: Path | None = None

    def problems(self) -> list[str]:
        """Everything wrong with the settings, each naming the option and value."""
        found = []
        if self.host not in LOOPBACK and not self.allow_remote:
            found.append(
                f"--host {self.host}: not a loopback address; pass --allow-remote to expose "
                "the simulator on the network"
            )
        if not 0 <= self.port <= 65535:
            found.append(f"--port {self.port}: must be 0..65535")
        if self.speed < 0:
            found.append(f"--speed {self.speed}: must be >= 0 (0 pauses the clock)")
        if self.cash <= 0:
            found.append(f"--cash {self.cash}: must be positive")
        if self.partial_fills < 1:
            found.append(f"--partial-fills {self.partial_fills}: must be >= 1")
        if not self.account.strip() or "," in self.account:
            found.append(f"--account {self.account!r}: one account code, no commas")
        if not self.data_dir.is_dir():
            found.append(f"--data-dir {self.data_dir}: not a directory")
        return found
