"""The checks an `enter` request's arguments pass: one set, used by the daemon
(`tradd.control.commands.Enter`), the worker (`tradd.worker.entry`: its socket is its own
door) and `tradctl` (its argument types), so the three cannot drift apart.

Each check answers what is wrong (text the caller puts after the argument's name) or None;
the callers raise their own error types. Standard library only: `tradctl` imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

TEXT_MAX = 64
"""Longest `requested_by` and `client_ref` (they end persisted risk decisions' reasons)."""
SIDES = ("BUY", "SELL")
AMOUNTS = ("value", "quantity")
LIMITS: Mapping[str, float] = MappingProxyType({"quantity": 1e8, "value": 1e11})
"""Largest amounts taken: guards against nonsense, not risk limits (the worker's are)."""


def amount_problem(name: str, amount: object) -> str | None:
    """What is wrong with `amount` as the entry's `name` ("value" or "quantity")."""
    limit = LIMITS[name]  # NaN, inf and 10**400 fail the comparison
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 < amount <= limit:
        return f"must be a positive number up to {limit:g}"
    if name == "quantity" and amount != math.floor(amount):
        return "must be whole shares"
    return None


def text_problem(text: object) -> str | None:
    """What is wrong with `text` as a `requested_by` or `client_ref`."""
    if isinstance(text, str) and 0 < len(text) <= TEXT_MAX and text.isprintable():
        return None
    return f"must be 1 to {TEXT_MAX} printable characters"


def entry_problem(args: Mapping[str, Any]) -> str | None:
    """The first thing wrong with an entry's side, amount, requested_by and client_ref, as
    "NAME must ..., got VALUE"; None if nothing is. The symbol is the caller's to check
    (the daemon and the worker each know which symbols the strategy trades)."""
    side = args.get("side")
    if side not in SIDES:
        return f"side must be BUY or SELL, got {side!r}"
    given = [name for name in AMOUNTS if args.get(name) is not None]
    if len(given) != 1:
        return f"give exactly one of value or quantity, got {given or 'neither'}"
    for name in (*given, "requested_by", "client_ref"):
        value = args.get(name)
        if value is None:
            continue
        problem = amount_problem(name, value) if name in AMOUNTS else text_problem(value)
        if problem is not None:
            return f"{name} {problem}, got {value!r}"
    return None
