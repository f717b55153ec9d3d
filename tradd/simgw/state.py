"""What a gateway remembers across client sessions and restarts.

Orders, the day's executions, order ids per client, id counters, the account,
the marks positions started the day at (daily P&L; absent from older files)
and the simulated time. Kept in memory across simulated gateway restarts and,
with ``--state FILE``, written atomically after every change so a process
restart picks up where it left off.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradd.errors import DataError
from tradd.simgw.account import AccountState
from tradd.simgw.orders import Execution, SimOrder

STATE_VERSION = 1


@dataclass
class SimState:
    account: AccountState
    sim_time: int
    orders: dict[int, SimOrder] = field(default_factory=dict)  # by permId
    executions: list[Execution] = field(default_factory=list)
    max_order_id: dict[int, int] = field(default_factory=dict)  # by clientId
    next_perm_id: int = 1_000_001
    exec_seq: int = 0
    trading_day: int = 0
    day_marks: dict[int, float] = field(default_factory=dict)  # conId -> mark at day start

    def next_valid_id(self, client_id: int) -> int:
        """Above every orderId this client ever used, and above every id in use at all."""
        used = max(self.max_order_id.values(), default=0)
        return max(used, self.max_order_id.get(client_id, 0)) + 1

    def note_order_id(self, client_id: int, order_id: int) -> None:
        if order_id > self.max_order_id.get(client_id, 0):
            self.max_order_id[client_id] = order_id

    def take_perm_id(self) -> int:
        self.next_perm_id += 1
        return self.next_perm_id - 1

    def find_order(self, client_id: int, order_id: int) -> SimOrder | None:
        for order in self.orders.values():
            if order.client_id == client_id and order.order_id == order_id:
                return order
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "account": self.account.to_json(),
            "sim_time": self.sim_time,
            "orders": [o.to_json() for o in self.orders.values()],
            "executions": [e.to_json() for e in self.executions],
            "max_order_id": {str(k): v for k, v in self.max_order_id.items()},
            "next_perm_id": self.next_perm_id,
            "exec_seq": self.exec_seq,
            "trading_day": self.trading_day,
            "day_marks": {str(k): v for k, v in self.day_marks.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimState:
        orders = [SimOrder.from_json(o) for o in data["orders"]]
        return cls(
            account=AccountState.from_json(data["account"]),
            sim_time=int(data["sim_time"]),
            orders={o.perm_id: o for o in orders},
            executions=[Execution.from_json(e) for e in data["executions"]],
            max_order_id={int(k): int(v) for k, v in data["max_order_id"].items()},
            next_perm_id=int(data["next_perm_id"]),
            exec_seq=int(data["exec_seq"]),
            trading_day=int(data["trading_day"]),
            day_marks={int(k): float(v) for k, v in data.get("day_marks", {}).items()},
        )


def save_state(state: SimState, path: Path) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        json.dump(state.to_json(), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def load_state(path: Path) -> SimState | None:
    """The saved state, None if there is none yet; DataError if the file is unusable."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise DataError(f"{path}: not a simgw state file (expected a JSON object)")
        if data.get("version") != STATE_VERSION:
            raise DataError(f"{path}: state version {data.get('version')!r}, expected 1")
        return SimState.from_json(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a simgw state file ({exc})") from exc
