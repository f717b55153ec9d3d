"""orderRef: tradd's own orders are recognised, anything else is foreign."""

from __future__ import annotations

import pytest

from tradd.persistence.ledger import make_order_ref, parse_order_ref
from tradd.persistence.orderrefs import check_strategy


@pytest.mark.parametrize(("strategy", "seq"), [("sma_goog", 1), ("A", 42), ("x" * 24, 10**12)])
def test_refs_round_trip(strategy: str, seq: int) -> None:
    ref = make_order_ref(strategy, seq)
    assert ref == f"{strategy}-{seq}"
    assert parse_order_ref(ref) == (strategy, seq)


@pytest.mark.parametrize(
    "ref",
    ["", None, "manual", "sma_goog-", "-1", "sma_goog-0", "sma_goog-01", "sma-goog-1",
     "sma_goog-1-2", "1abc-3", "sma_goog-1 ", "x" * 25 + "-1", "sma_goog-abc"],
)  # fmt: skip
def test_foreign_refs_parse_to_none(ref: str | None) -> None:
    assert parse_order_ref(ref) is None


@pytest.mark.parametrize(
    ("strategy", "seq", "message"),
    [
        ("sma-goog", 1, "strategy name 'sma-goog'"),
        ("", 1, "strategy name ''"),
        ("9lives", 1, "strategy name '9lives'"),
        ("sma_goog", 0, "order sequence number 0"),
        ("sma_goog", True, "order sequence number True"),
    ],
)
def test_bad_strategies_and_seqs_are_refused(strategy: str, seq: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_order_ref(strategy, seq)


def test_strategy_names_follow_the_config_pattern() -> None:
    assert check_strategy("sma_goog") == "sma_goog"
    with pytest.raises(ValueError, match="letter then up to 23"):
        check_strategy("x" * 25)
