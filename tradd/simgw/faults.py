"""Fault injection: the ways a real gateway misbehaves, on demand.

The same operations are reachable from tests (``gateway.faults.drop()``) and
from the command line against a running simulator (``tradd simgw fault drop``,
through the admin channel). ``CATALOGUE`` documents each for both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tradd.simgw import encode

if TYPE_CHECKING:
    from tradd.simgw.core import Core

FARM_NOTICES = {
    2103: "Market data farm connection is broken:usfarm",
    2104: "Market data farm connection is OK:usfarm",
    2105: "HMDS data farm connection is broken:ushmds",
    2106: "HMDS data farm connection is OK:ushmds",
    2107: "HMDS data farm connection is inactive but should be available upon demand.ushmds",
    2108: "Market data farm connection is inactive but should be available upon demand.usfarm",
    2110: "Connectivity between Trader Workstation and server is broken. "
    "It will be restored automatically.",
    2157: "Sec-def data farm connection is broken:secdefnj",
    2158: "Sec-def data farm connection is OK:secdefnj",
}
LOST = "Connectivity between IB and Trader Workstation has been lost."
RESTORED_LOST = "Connectivity between IB and Trader Workstation has been restored - data lost."
RESTORED_KEPT = (
    "Connectivity between IB and Trader Workstation has been restored - data maintained."
)
REJECT_TEXT = {
    201: "Order rejected - reason:simulated rejection",
    103: "Duplicate order id",
    110: "The price does not conform to the minimum price variation for this contract.",
    321: "Error validating request:-simulated validation error",
}

CATALOGUE = {
    "drop": "close every client connection (FIN; --reset sends RST)",
    "stall": "keep sockets open but stop sending and reading until `unstall`",
    "unstall": "resume a stalled gateway; held messages are delivered",
    "refuse": "close all connections and refuse new ones for N seconds (nightly restart)",
    "accept": "accept connections again before a refusal ends",
    "lost": "1100: connectivity lost; data stops, fill reports are held",
    "restored": "1102 (data kept) or 1101 with --data-lost (subscriptions dropped)",
    "farm": "send a data-farm notice: 2103 2104 2105 2106 2107 2108 2110 2157 2158",
    "reject": "reject the next order with CODE (201 default, or 103, 110, 321)",
    "pacing": "answer the next N historical requests with 162 pacing violation",
    "partial": "fill the next order in N partial fills",
    "withhold": "hold fill reports until `release` (orders still fill)",
    "release": "deliver held fill reports in one burst",
    "duplicate": "send the next N execDetails twice",
    "slip": "fill market orders N ticks worse than the bid/ask until `slip 0` (slippage)",
    "ignore": "never answer message id MSG (e.g. 20 historical, 9 contract details)",
    "heed": "answer message id MSG again",
}


class Gateway(Protocol):
    """What faults reach of the gateway (`tradd.simgw.gateway.SimGateway`, which owns the
    `Faults` and so is not imported here)."""

    core: Core
    stalled: bool

    def drop_connections(self, *, reset: bool = False) -> int: ...

    async def refuse(self, seconds: float | None) -> int: ...

    async def listen(self) -> None: ...


class Faults:
    """Operations a test or an operator can inject into a running gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway

    @property
    def _core(self) -> Core:
        return self._gw.core

    def drop(self, *, reset: bool = False) -> int:
        """Close every client socket; state is kept."""
        return self._gw.drop_connections(reset=reset)

    def stall(self) -> None:
        self._gw.stalled = True
        for session in list(self._core.sessions.values()):
            session.stall()

    def unstall(self) -> None:
        self._gw.stalled = False
        for session in list(self._core.sessions.values()):
            session.unstall()

    async def refuse(self, seconds: float | None) -> int:
        """Drop everyone and stop listening; listen again after ``seconds`` (None: until accept)."""
        return await self._gw.refuse(seconds)

    async def accept(self) -> None:
        await self._gw.listen()

    def connectivity_lost(self) -> None:
        """1100: the socket stays, data stops, executions happen but their reports wait."""
        self._core.faults.connectivity_lost = True
        self._core.market.paused = True
        self._broadcast(1100, LOST)

    def connectivity_restored(self, *, data_lost: bool = False) -> int:
        """1102 (data maintained) or 1101 (data lost: every subscription must be renewed)."""
        self._core.faults.connectivity_lost = False
        self._core.market.paused = False
        if data_lost:
            self._core.market.drop_all()
            self._broadcast(1101, RESTORED_LOST)
        else:
            self._broadcast(1102, RESTORED_KEPT)
        return self._core.release_fills() if not self._core.faults.withhold_fills else 0

    def farm_notice(self, code: int) -> None:
        if code not in FARM_NOTICES:
            raise ValueError(f"farm notice {code} unknown; use one of {sorted(FARM_NOTICES)}")
        self._broadcast(code, FARM_NOTICES[code])

    def reject_next(self, code: int = 201, message: str | None = None) -> None:
        self._core.faults.reject_next.append((code, message or REJECT_TEXT.get(code, "rejected")))

    def pacing_violations(self, count: int = 1) -> None:
        self._core.pacing.forced += count

    def partial_fills(self, chunks: int) -> None:
        if chunks < 1:
            raise ValueError(f"partial fills: chunks must be >= 1, got {chunks}")
        self._core.faults.partial_next.append(chunks)

    def withhold_fills(self) -> None:
        self._core.faults.withhold_fills = True

    def release_fills(self) -> int:
        self._core.faults.withhold_fills = False
        return self._core.release_fills()

    def slip(self, ticks: int) -> None:
        """Market (and triggered stop) orders fill `ticks` ticks worse than the touch, as
        at IB when the quote moves or the size at the touch runs out before the order
        arrives; 0 ends it."""
        if ticks < 0:
            raise ValueError(f"slip: ticks must be >= 0, got {ticks}")
        self._core.faults.slip_ticks = ticks

    def duplicate_exec_details(self, count: int = 1) -> None:
        self._core.faults.duplicate_exec += count

    def ignore(self, msg_id: int) -> None:
        self._core.faults.ignore.add(msg_id)

    def heed(self, msg_id: int) -> None:
        self._core.faults.ignore.discard(msg_id)

    def _broadcast(self, code: int, text: str) -> None:
        for session in list(self._core.sessions.values()):
            session.send(encode.error(-1, code, text))
        self._core.log_event("simgw.notice", code=code, text=text)
