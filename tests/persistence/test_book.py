"""Book: average-cost positions, checked by hand and against backtrader.Position."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest
from backtrader.position import Position

from tradd.persistence.book import Book
from tradd.persistence.records import FillRecord

T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def fill(
    side: str, quantity: float, price: float, symbol: str = "GOOG", commission: float | None = None
) -> FillRecord:
    return FillRecord(
        exec_id=uuid.uuid4().hex, order_ref=None, symbol=symbol, side=side, quantity=quantity,
        price=price, executed_at=T0, commission=commission,
    )  # fmt: skip


def test_adding_to_a_long_re_averages_and_reducing_realizes_at_the_average() -> None:
    book = Book()
    assert book.apply(fill("BUY", 10, 100)) == 0
    assert book.apply(fill("BUY", 10, 110)) == 0
    assert book.position("GOOG").quantity == 20
    assert book.position("GOOG").avg_price == pytest.approx(105)
    assert book.apply(fill("SELL", 5, 120)) == pytest.approx(75)  # 5 * (120 - 105)
    state = book.position("GOOG")
    assert state.quantity == 15
    assert state.avg_price == pytest.approx(105)
    assert book.apply(fill("SELL", 15, 100)) == pytest.approx(-75)
    flat = book.position("GOOG")
    assert (flat.quantity, flat.avg_price) == (0, 0)
    assert flat.realized_pnl == pytest.approx(0)
    assert book.positions() == {}


def test_short_positions_realize_with_the_opposite_sign() -> None:
    book = Book([fill("SELL", 10, 50), fill("SELL", 10, 40)])
    assert book.position("GOOG").quantity == -20
    assert book.position("GOOG").avg_price == pytest.approx(45)
    assert book.apply(fill("BUY", 5, 30)) == pytest.approx(75)  # covered 5 at 15 below cost
    assert book.position("GOOG").quantity == -15
    assert book.position("GOOG").avg_price == pytest.approx(45)
    assert book.unrealized({"GOOG": 50}) == pytest.approx(-75)  # -15 * (50 - 45)


def test_crossing_zero_closes_at_the_average_and_opens_the_rest_at_the_fill_price() -> None:
    book = Book([fill("BUY", 10, 100)])
    assert book.apply(fill("SELL", 15, 90)) == pytest.approx(-100)  # 10 closed at -10
    state = book.position("GOOG")
    assert (state.quantity, state.avg_price) == (-5, 90)
    assert book.apply(fill("BUY", 8, 80)) == pytest.approx(50)  # 5 covered at +10, 3 long
    state = book.position("GOOG")
    assert (state.quantity, state.avg_price) == (3, 80)
    assert book.realized_pnl == pytest.approx(-50)


def test_float_noise_leaves_a_closed_position_flat() -> None:
    book = Book([fill("BUY", 0.1, 10), fill("BUY", 0.1, 10), fill("BUY", 0.1, 10)])
    book.apply(fill("SELL", 0.3, 12))
    state = book.position("GOOG")
    assert (state.quantity, state.avg_price) == (0.0, 0.0)
    assert state.is_flat
    assert state.realized_pnl == pytest.approx(0.6)
    assert book.positions() == {}


def test_commissions_are_kept_per_symbol_apart_from_gross_pnl() -> None:
    book = Book([fill("BUY", 10, 100, commission=1.0), fill("BUY", 5, 20, symbol="ORCL")])
    book.add_commission("ORCL", 1.25)
    book.apply(fill("SELL", 10, 101, commission=1.0))
    assert book.position("GOOG").commission == 2.0
    assert book.position("GOOG").realized_pnl == pytest.approx(10)  # gross
    assert book.position("ORCL").commission == 1.25
    assert book.commission == 3.25
    assert book.realized_pnl == pytest.approx(10)
    assert set(book.positions()) == {"ORCL"}


def test_unknown_symbols_are_flat_and_unrealized_needs_every_open_price() -> None:
    book = Book([fill("BUY", 10, 100), fill("SELL", 3, 20, symbol="ORCL")])
    assert book.position("MSFT") == book.position("MSFT")
    assert book.position("MSFT").quantity == 0 and book.position("MSFT").realized_pnl == 0
    assert book.unrealized({"GOOG": 110, "ORCL": 10}) == pytest.approx(100 + 30)
    with pytest.raises(ValueError, match="no price for open position ORCL"):
        book.unrealized({"GOOG": 110})


def test_add_commission_refuses_non_finite_amounts() -> None:
    with pytest.raises(ValueError, match="commission for GOOG nan"):
        Book().add_commission("GOOG", float("nan"))


def test_random_fills_match_backtrader_position_update() -> None:
    rng = random.Random(20240308)
    book = Book()
    reference = {"GOOG": Position(), "ORCL": Position()}
    realized = dict.fromkeys(reference, 0.0)
    for _ in range(400):
        symbol = rng.choice(list(reference))
        side = rng.choice(["BUY", "SELL"])
        quantity = rng.randint(1, 60)
        price = round(rng.uniform(50, 150), 2)
        got = book.apply(fill(side, quantity, price, symbol=symbol))

        position = reference[symbol]
        _size, _price, _opened, closed = position.update(
            quantity if side == "BUY" else -quantity, price
        )
        expected = -closed * (price - position.price_orig)  # bt's CommInfo.profitandloss
        realized[symbol] += expected

        state = book.position(symbol)
        assert got == pytest.approx(expected, abs=1e-9)
        assert state.quantity == position.size
        assert state.avg_price == pytest.approx(position.price, rel=1e-12)
        assert state.realized_pnl == pytest.approx(realized[symbol], abs=1e-6)
    assert book.realized_pnl == pytest.approx(sum(realized.values()), abs=1e-6)


def test_unrealized_is_unknown_while_an_open_position_has_no_price() -> None:
    """A worker restarted out of hours has positions before any price: its status and
    snapshots report the open P&L as unknown instead of failing."""
    book = Book([fill("BUY", 10, 100.0), fill("BUY", 5, 20.0, symbol="ORCL")])
    assert book.unrealized_known({"GOOG": 101.0}) is None
    assert book.unrealized_known({"GOOG": 101.0, "ORCL": 19.0}) == pytest.approx(10 - 5)
    with pytest.raises(ValueError, match="ORCL"):
        book.unrealized({"GOOG": 101.0})


def test_a_future_s_pnl_counts_its_multiplier_as_backtrader_does() -> None:
    """FESX (multiplier 10): 2 contracts bought at 3,800 and sold at 3,850 make 1,000."""
    import backtrader as bt

    book = Book(multipliers={"IDXFUT": 10.0})
    book.apply(fill("BUY", 2, 3800, symbol="IDXFUT"))
    assert book.unrealized({"IDXFUT": 3810}) == pytest.approx(200)  # 2 x 10 x 10
    assert book.value("IDXFUT", 3810) == pytest.approx(76_200)
    assert book.apply(fill("SELL", 2, 3850, symbol="IDXFUT")) == pytest.approx(1_000)
    assert book.realized_pnl == pytest.approx(1_000)
    comminfo = bt.CommInfoBase(mult=10.0, stocklike=True)
    assert comminfo.profitandloss(2, 3800, 3850) == pytest.approx(book.realized_pnl)
    assert Book(multipliers={"IDXFUT": 10.0}).multiplier("GOOG") == 1.0
