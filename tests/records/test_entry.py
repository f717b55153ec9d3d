"""Entry arguments: one parse for the daemon, the worker and tradctl, a typed record out."""

from __future__ import annotations

from typing import Any

import pytest

from tradd.records.entry import EntryArgs, parse_entry

GOOD = {"symbol": "GOOG", "side": "BUY", "quantity": 3}


def test_good_arguments_are_a_record_with_the_default_requested_by() -> None:
    entry = parse_entry({**GOOD, "client_ref": "r1"}, requested_by="tradctl")
    assert entry == EntryArgs("GOOG", "BUY", 3.0, None, "tradctl", "r1")
    assert isinstance(entry, EntryArgs) and isinstance(entry.quantity, float)


def test_who_asked_is_kept_when_given() -> None:
    entry = parse_entry({**GOOD, "requested_by": "scan"}, requested_by="tradctl")
    assert isinstance(entry, EntryArgs) and entry.requested_by == "scan"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"symbol": None}, "symbol must be given as text, got None"),
        ({"symbol": ""}, "symbol must be given as text, got ''"),
        ({"side": "buy"}, "side must be BUY or SELL, got 'buy'"),
        ({"value": 5}, "give exactly one of value or quantity, got ['value', 'quantity']"),
        ({"quantity": 2.5}, "quantity must be whole shares, got 2.5"),
        ({"client_ref": "a\nb"}, "client_ref must be 1 to 64 printable characters, got 'a\\nb'"),
        ({"requested_by": ""}, "requested_by must be 1 to 64 printable characters, got ''"),
    ],
)
def test_bad_arguments_are_the_sentence_naming_field_and_value(
    args: dict[str, Any], says: str
) -> None:
    assert parse_entry({**GOOD, **args}) == says


def test_the_wire_arguments_leave_out_what_is_unset() -> None:
    entry = EntryArgs("GOOG", "SELL", value=100.0)
    assert entry.as_args() == {"symbol": "GOOG", "side": "SELL", "value": 100.0}
    assert parse_entry(entry.as_args()) == entry


def test_the_record_cannot_be_changed() -> None:
    entry = EntryArgs("GOOG", "BUY", quantity=1.0)
    with pytest.raises(AttributeError):
        entry.symbol = "MSFT"  # type: ignore[misc]
