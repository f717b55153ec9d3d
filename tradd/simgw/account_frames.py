"""Account-update messages encoded once and reused while the figures stand still.

Every ``account_update_seconds`` the core sends each reqAccountUpdates subscriber every
row (message 6) and each reqAccountUpdatesMulti request the same rows again (73): about
two hundred messages per simulated minute for one client connected as ib_async or
ib_insync connect. Between fills and price moves of held positions the rows do not
change from one push to the next, so their frames are kept (one set, on the core's
instance) and only re-encoded when a row differs. The bytes are exactly what encoding
each message afresh would give.
"""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.wire import frame, payload

Row = tuple[str, str, str]


class AccountFrames:
    """The framed account-update messages of the latest rows of one account."""

    def __init__(self) -> None:
        self._key: tuple[str, list[Row]] | None = None
        self._updates: list[bytes] = []
        self._multi: list[tuple[bytes, bytes]] = []  # (id + version, after the reqId)

    def _refresh(self, account: str, rows: list[Row]) -> None:
        if self._key is not None and self._key == (account, rows):
            return
        self._key = (account, list(rows))
        self._updates = [
            frame(payload(encode.account_value(key, value, ccy, account)))
            for key, value, ccy in rows
        ]
        self._multi = []
        for key, value, ccy in rows:
            fields = encode.account_update_multi(0, account, key, value, ccy)
            self._multi.append((payload(fields[:2]), payload(fields[3:])))

    def updates(self, account: str, rows: list[Row]) -> list[bytes]:
        """Message 6 for every row, framed."""
        self._refresh(account, rows)
        return self._updates

    def multi(self, account: str, rows: list[Row], req_id: int) -> list[bytes]:
        """Message 73 for every row on ``req_id``, framed."""
        self._refresh(account, rows)
        rid = payload([req_id])
        return [frame(head + rid + tail) for head, tail in self._multi]
