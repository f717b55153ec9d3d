"""IB's error and message codes that change what tradd does, in one place.

IB reports everything through one `error(reqId, code, message)` callback: real errors,
system messages about the connection, warnings and notices about orders that keep
working. Both client libraries also mark an order Cancelled on their own when an error
names it, so every reader of these codes has to tell a rejection from a real cancel from
a notice. The live worker (`tradd.worker.orders`), the supervisor's emergency link
(`tradd.supervisor.emergency_link`), the connection (`tradd.ib.connection`) and the
history requests (`tradd.ib.client`) all ask the predicates below.
"""

from __future__ import annotations

CONNECTIVITY_LOST = 1100
"""The socket stays up but IB's servers are unreachable: no new orders."""
RESTORED_DATA_LOST = 1101
"""Connectivity restored, market data subscriptions lost: resubscribe, then reconcile."""
RESTORED_DATA_KEPT = 1102
"""Connectivity restored, subscriptions kept: reconcile (fills may have happened)."""
SOCKET_RESET = 1300
"""The gateway dropped the socket (e.g. its nightly restart): reconnect."""

WARNING_CODES = range(2100, 2200)
"""IB's warning range: messages about the session (data farm status 2103-2108 and
2157/2158, 2109 "outside regular trading hours" ignored, 2110 TWS-server connectivity),
never about an order failing."""

FARM_BROKEN = frozenset({2103, 2105, 2157})
"""A data farm (market data 2103, historical 2105, security definitions 2157) is broken."""
FARM_OK = frozenset({2104, 2106, 2107, 2108, 2158})
"""A data farm is OK again, or inactive but available on demand (2107, 2108)."""

NOTICE_CODES = frozenset({161, 399, 404, 2109, 10147, 10148, 10167, 10349})
"""Errors about an order that keeps working, on which the libraries' own Cancelled is
wrong: 161 cancel attempted on an order not in a cancellable state, 10147/10148 the order
to cancel is not found / cannot be cancelled (cancel races); 399 an order message
("will not be placed at the exchange until ..."); 404 shares for a short sale being
located (the order is held); 2109 the "outside regular hours" flag ignored; 10167
delayed market data shown; 10349 the order's TIF set by an order preset."""
CANCEL_CODES = frozenset({202})
"""202: IB cancelled the order itself (not a rejection: it may have been working)."""


def is_warning(code: int) -> bool:
    """In IB's warning range (2100-2199): about the session, never an order's failure."""
    return code in WARNING_CODES


def is_farm_status(code: int) -> bool:
    """A data farm broke (`FARM_BROKEN`) or is available again (`FARM_OK`)."""
    return code in FARM_BROKEN or code in FARM_OK


def is_notice(code: int) -> bool:
    """An error naming an order that keeps working at IB (a notice or a warning): the
    library's Cancelled on it is ignored, and it is no rejection."""
    return code in NOTICE_CODES or is_warning(code)


def is_cancel_ack(code: int) -> bool:
    """IB cancelled the order itself: a real cancel, not a rejection."""
    return code in CANCEL_CODES
