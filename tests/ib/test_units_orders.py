"""`intents_for` (Backtrader orders as plain intents, or a refusal with a reason) and
`order_specs` (intents as IB orders). Orders are real Backtrader orders on a `LiveFeed`
that a minimal Cerebro run has started and given one bar (close 100.5)."""

from __future__ import annotations

import datetime as dt

import backtrader as bt
import pytest

from tradd.ib.feed import LiveFeed
from tradd.ib.orders import OrderIntent, Refused, intents_for, order_specs
from tradd.ib.types import Bar, OrderSpec

START = dt.datetime(2024, 3, 11, 14, 0, tzinfo=dt.UTC)


class _StopAtFirstBar(bt.Strategy):  # type: ignore[misc]
    def next(self) -> None:
        self.env.runstop()


@pytest.fixture(scope="module")
def data() -> LiveFeed:
    feed = LiveFeed(symbol="GOOG", bar_seconds=60, name="GOOG")
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed, name="GOOG")
    cerebro.addstrategy(_StopAtFirstBar)
    feed.add_history([Bar("GOOG", START, 60, 100, 101, 99, 100.5, 10)], START.replace(hour=15))
    feed.end_history()
    cerebro.run()
    assert feed.close[0] == 100.5
    return feed


def buy(data, size=10, **kw):
    return bt.BuyOrder(owner=None, data=data, size=size, **kw)


def sell(data, size=10, **kw):
    return bt.SellOrder(owner=None, data=data, size=size, **kw)


def intent(side, qty, kind, limit=None, stop=None, tif="DAY", ref=100.5, parent=None):
    return OrderIntent("GOOG", side, qty, kind, limit, stop, tif, ref, parent)


# -- single orders ---------------------------------------------------------------------------
def test_market_order_is_a_day_order_valued_at_the_last_close(data) -> None:
    assert intents_for([(buy(data, 10), None)]) == [intent("BUY", 10.0, "MKT")]
    assert intents_for([(sell(data, 3), None)]) == [intent("SELL", 3.0, "MKT")]


def test_limit_order_without_valid_is_good_till_cancelled(data) -> None:
    order = buy(data, 5, price=99.0, exectype=bt.Order.Limit)
    assert intents_for([(order, None)]) == [intent("BUY", 5.0, "LMT", limit=99.0, tif="GTC",
                                                   ref=99.0)]  # fmt: skip


def test_stop_order(data) -> None:
    order = sell(data, 7, price=95.5, exectype=bt.Order.Stop)
    assert intents_for([(order, None)]) == [
        intent("SELL", 7.0, "STP", stop=95.5, tif="GTC", ref=95.5)
    ]


def test_stop_limit_order_carries_both_prices_and_is_valued_at_its_limit(data) -> None:
    order = buy(data, 2, price=101.0, pricelimit=101.5, exectype=bt.Order.StopLimit)
    assert intents_for([(order, None)]) == [
        intent("BUY", 2.0, "STP LMT", limit=101.5, stop=101.0, tif="GTC", ref=101.5)
    ]


@pytest.mark.parametrize("valid", [bt.Order.DAY, dt.timedelta(0), 0])
def test_day_validity_makes_a_day_order(data, valid) -> None:
    order = buy(data, 1, price=99.0, exectype=bt.Order.Limit, valid=valid)
    [got] = intents_for([(order, valid)])
    assert got.tif == "DAY"


def test_fractional_and_negative_sizes_become_absolute_quantities(data) -> None:
    [got] = intents_for([(sell(data, 2.5, price=101.0, exectype=bt.Order.Limit), None)])
    assert (got.side, got.quantity) == ("SELL", 2.5)


# -- refusals ---------------------------------------------------------------------------------
def test_trailing_stops_are_refused_with_the_order_type_named(data) -> None:
    trail = sell(data, 1, exectype=bt.Order.StopTrail, trailamount=1.0)
    result = intents_for([(trail, None)])
    assert isinstance(result, Refused)
    assert "StopTrail" in result.reason and "not supported live" in result.reason
    trail_limit = sell(data, 1, price=99, pricelimit=98.5, exectype=bt.Order.StopTrailLimit,
                       trailpercent=0.01)  # fmt: skip
    assert "StopTrailLimit" in intents_for([(trail_limit, None)]).reason  # type: ignore[union-attr]


def test_market_on_close_is_refused(data) -> None:
    result = intents_for([(buy(data, 1, exectype=bt.Order.Close), None)])
    assert isinstance(result, Refused) and "order type Close" in result.reason


def test_backtrader_oco_is_refused_pointing_at_brackets(data) -> None:
    first = buy(data, 1, price=99.0, exectype=bt.Order.Limit)
    other = sell(data, 1, price=102.0, exectype=bt.Order.Limit, oco=first)
    result = intents_for([(other, None)])
    assert isinstance(result, Refused)
    assert "OCO" in result.reason and "buy_bracket" in result.reason


@pytest.mark.parametrize(
    "valid", [dt.datetime(2024, 3, 15, 16, 0), dt.date(2024, 3, 15), dt.timedelta(days=2), 1.5]
)
def test_good_till_date_is_refused(data, valid) -> None:
    # the broker hands intents_for the strategy's own `valid` next to each order
    order = buy(data, 1, price=99.0, exectype=bt.Order.Limit)
    result = intents_for([(order, valid)])
    assert isinstance(result, Refused)
    assert result.reason == f"good-till-date orders (valid={valid!r}) are not supported live"


def test_good_till_date_market_order_is_refused_too(data) -> None:
    valid = dt.timedelta(hours=3)
    assert isinstance(intents_for([(buy(data, 1, valid=valid), valid)]), Refused)


def test_zero_size_is_refused(data) -> None:
    result = intents_for([(buy(data, 0, price=99.0, exectype=bt.Order.Limit), None)])
    assert result == Refused("order size is zero")


# -- brackets ----------------------------------------------------------------------------------
def bracket(data, size=10):
    parent = buy(data, size, price=99.0, exectype=bt.Order.Limit, transmit=False)
    stop = sell(data, size, price=95.0, exectype=bt.Order.Stop, parent=parent, transmit=False)
    take = sell(data, size, price=110.0, exectype=bt.Order.Limit, parent=parent)
    return parent, stop, take


def test_bracket_children_point_at_their_parent(data) -> None:
    parent, stop, take = bracket(data)
    assert intents_for([(parent, None), (stop, None), (take, None)]) == [
        intent("BUY", 10.0, "LMT", limit=99.0, tif="GTC", ref=99.0),
        intent("SELL", 10.0, "STP", stop=95.0, tif="GTC", ref=95.0, parent=0),
        intent("SELL", 10.0, "LMT", limit=110.0, tif="GTC", ref=110.0, parent=0),
    ]


def test_bracket_child_without_its_parent_is_refused(data) -> None:
    _, stop, take = bracket(data)
    assert intents_for([(stop, None), (take, None)]) == Refused(
        "a bracket child must be sent together with its parent"
    )


def test_one_unsupported_leg_refuses_the_whole_bracket(data) -> None:
    parent = buy(data, 10, price=99.0, exectype=bt.Order.Limit, transmit=False)
    trail = sell(data, 10, exectype=bt.Order.StopTrail, trailamount=2.0, parent=parent)
    result = intents_for([(parent, None), (trail, None)])
    assert isinstance(result, Refused) and "StopTrail" in result.reason


# -- order_specs -------------------------------------------------------------------------------
def test_single_order_spec_transmits() -> None:
    specs = order_specs([intent("BUY", 10.0, "MKT")], ["s1-7"], 10.0, "DU123")
    assert specs == [OrderSpec("s1-7", "GOOG", "BUY", 10.0, "MKT", None, None, "DAY", None, "",
                               True, "DU123")]  # fmt: skip


def test_bracket_specs_transmit_only_on_the_last_leg_and_carry_the_approved_quantity() -> None:
    intents = [
        intent("BUY", 10.0, "LMT", limit=99.0, tif="GTC", ref=99.0),
        intent("SELL", 10.0, "STP", stop=95.0, tif="GTC", ref=95.0, parent=0),
        intent("SELL", 10.0, "LMT", limit=110.0, tif="GTC", ref=110.0, parent=0),
    ]
    specs = order_specs(intents, ["s1-1", "s1-2", "s1-3"], 6.0, "DU9")  # resized by risk
    assert [s.transmit for s in specs] == [False, False, True]
    assert [s.quantity for s in specs] == [6.0, 6.0, 6.0]
    assert [s.order_ref for s in specs] == ["s1-1", "s1-2", "s1-3"]
    assert [s.parent for s in specs] == [None, 0, 0]
    assert [(s.order_type, s.limit_price, s.stop_price) for s in specs] == [
        ("LMT", 99.0, None),
        ("STP", None, 95.0),
        ("LMT", 110.0, None),
    ]
    assert {s.account for s in specs} == {"DU9"}
    assert [s.action for s in specs] == ["BUY", "SELL", "SELL"]
    assert {s.tif for s in specs} == {"GTC"}
    assert {s.oca_group for s in specs} == {""}


def test_intents_from_backtrader_round_trip_into_specs(data) -> None:
    parent, stop, take = bracket(data, 4)
    intents = intents_for([(parent, None), (stop, None), (take, None)])
    assert isinstance(intents, list)
    specs = order_specs(intents, ["a-1", "a-2", "a-3"], 4.0, "")
    assert [(s.action, s.quantity, s.parent, s.transmit) for s in specs] == [
        ("BUY", 4.0, None, False),
        ("SELL", 4.0, 0, False),
        ("SELL", 4.0, 0, True),
    ]
