"""How a request module tells the dispatcher which message ids it answers.

Each ``requests_*`` module has a class with a ``routes()`` method returning
``{message id: Route}``; the dispatcher merges them. A module added for a new
family of requests (ticks, reference data, ...) registers itself in one line
of ``requests.py`` and never edits another module's table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradd.simgw.session import ClientSession

Handler = Callable[[ClientSession, list[str]], None]
Routes = dict[int, "Route"]


@dataclass(frozen=True)
class Route:
    """One incoming message: its TWS name, the fewest fields it may have, its handler."""

    name: str
    min_fields: int
    handler: Handler


def ignore(session: ClientSession, fields: list[str]) -> None:
    """Requests TWS acknowledges with nothing."""
