"""An `enter` request's arguments (`EntryArgs`) and the checks they pass: one set, used by
the daemon (`tradd.control.commands.Enter`), the worker (`tradd.worker.entry`: its socket is
its own door) and `tradctl` (its argument types), so the three cannot drift apart.

Each check answers what is wrong (text the caller puts after the argument's name) or None;
the callers raise their own error types. Standard library only, and no dataclasses (~10 ms):
`tradctl` imports it, so the record is a NamedTuple (immutable, typed, free to define).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

TEXT_MAX = 64
"""Longest `requested_by` and `client_ref` (the ledger's `risk_decisions.client_ref` holds 64)."""
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


class EntryArgs(NamedTuple):
    """One checked entry: exactly one of `quantity` (whole shares) and `value` is set.

    `requested_by` None leaves it to the receiver (the daemon says "tradctl", the worker
    "operator"); `client_ref` makes the entry safe to repeat (tradd.worker.entry)."""

    symbol: str
    side: str
    quantity: float | None = None
    value: float | None = None
    requested_by: str | None = None
    client_ref: str | None = None

    def as_args(self) -> dict[str, Any]:
        """The request's arguments on the wire (unset ones left out)."""
        fields = {"symbol": self.symbol, "side": self.side, "quantity": self.quantity,
                  "value": self.value, "requested_by": self.requested_by,
                  "client_ref": self.client_ref}  # fmt: skip
        return {name: value for name, value in fields.items() if value is not None}


def parse_entry(args: Mapping[str, Any], requested_by: str | None = None) -> EntryArgs | str:
    """`args` (symbol, side, value | quantity, requested_by?, client_ref?) as an EntryArgs,
    or the sentence saying what is wrong with them ("NAME must ..., got VALUE").
    `requested_by` is the default for an entry that does not say who asked. Whether the
    strategy trades the symbol is the caller's to check."""
    symbol = args.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        return f"symbol must be given as text, got {symbol!r}"
    filled = {**args, "requested_by": args.get("requested_by", requested_by)}
    problem = entry_problem(filled)
    if problem is not None:
        return problem
    quantity, value = args.get("quantity"), args.get("value")
    return EntryArgs(
        symbol, str(args["side"]), None if quantity is None else float(quantity),
        None if value is None else float(value), filled["requested_by"], args.get("client_ref"),
    )  # fmt: skip
