"""Where each incoming message carries its request id (or order id), by message id.

TWS answers a request it cannot read with 320 "Error reading request". When the
request's id can still be read, the error goes on that id, so the client library
ends the pending call instead of waiting for a reply that will never come; only
messages without an id (or whose id is unreadable) get it on -1.
"""

from __future__ import annotations

_AFTER_VERSION = (1, 2, 4, 7, 9, 10, 11, 21, 23, 25, 50, 51, 52, 53, 54, 55, 56, 57, 62, 63,
                  67, 68, 69, 70, 74, 75, 76, 77)  # fmt: skip
_FIRST = (3, 20, 22, 78, 79, 81, 83, 84, 86, 87, 88, 89, 90, 92, 93, 94, 95, 96, 97, 98,
          100, 101, 102, 103, 104)  # fmt: skip

REQUEST_ID_FIELD: dict[int, int] = {
    **dict.fromkeys(_AFTER_VERSION, 2),
    **dict.fromkeys(_FIRST, 1),
    19: 4,  # replaceFA: faDataType, xml, then reqId
}


def request_id(fields: list[str]) -> int:
    """The id to answer an unreadable request on: its own when readable, else -1."""
    try:
        at = REQUEST_ID_FIELD.get(int(fields[0]))
        return int(fields[at]) if at is not None and at < len(fields) else -1
    except (ValueError, IndexError):
        return -1
