"""Contracts as IB serves them: qualify per sec type, details with IB's dated sessions,
futures with expiry and multiplier in every message, data at the contract's own hours.

The simulator here reads a data directory with its own ``contracts.toml``: the sample
Euro Stoxx 50 future (IDXFUT, Eurex, MET) with a holiday, GOOG with an early close, and
a forex pair, all through the unmodified client libraries.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tests.conftest import SAMPLE_DATA
from tests.simgw.conftest import Connect, advance, sim_config, wait_until
from tradd.errors import DataError
from tradd.marketdata.contracts import default_spec
from tradd.simgw import history
from tradd.simgw.account import AccountState, Position
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.contracts import instrument_for
from tradd.simgw.gateway import SimGateway
from tradd.simgw.state import SimState, save_state

MET = ZoneInfo("MET")
ET = ZoneInfo("US/Eastern")
START = date(2006, 1, 10)  # a Tuesday; sessions listed Tue 10th .. Sun 15th
DEFINITIONS = """
[IDXFUT]
sec_type = "FUT"
ib_symbol = "ESTX50"
exchange = "EUREX"
currency = "EUR"
local_symbol = "FESX MAR 06"
trading_class = "FESX"
last_trade_date = "20060317"
multiplier = 10
min_tick = 1.0
time_zone = "MET"
liquid_hours = "0900-2200"
trading_hours = "0900-2200"
holidays = [2006-01-12]

[GOOG]
primary_exchange = "NASDAQ"
trading_class = "NMS"
early_closes = { 2006-01-13 = "1300" }
"""


def _write_data(root: Path) -> Path:
    """GOOG and IDXFUT from the samples, EURUSD as GOOG's series scaled to a rate."""
    shutil.copy(SAMPLE_DATA / "GOOG.1d.csv", root / "GOOG.1d.csv")
    shutil.copy(SAMPLE_DATA / "IDXFUT.1m.csv", root / "IDXFUT.1m.csv")
    lines = (SAMPLE_DATA / "GOOG.1d.csv").read_text().splitlines()
    rows = [lines[0]]
    for line in lines[1:]:
        day, *prices, volume = line.split(",")
        rows.append(",".join([day, *(f"{float(p) / 400:.5f}" for p in prices), volume]))
    (root / "EURUSD.1d.csv").write_text("\n".join(rows) + "\n")
    (root / "contracts.toml").write_text(DEFINITIONS)
    return root


@pytest.fixture
def sim(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackgroundGateway]:
    """Overrides conftest's ``sim``: ``connect`` then talks to this one. A test may pick
    the start day with ``@pytest.mark.parametrize("sim", [day], indirect=True)``."""
    data = _write_data(tmp_path)
    start = getattr(request, "param", START)
    config = sim_config(data_dir=data, symbols=("GOOG", "EURUSD", "IDXFUT"), start=start)
    # Moving this set-up a day and more through minute bars takes seconds: a loaded machine
    # ran past the default 10 s for one call.
    with BackgroundGateway(config, timeout=60) as gateway:
        yield gateway


def move_to(sim: BackgroundGateway, ib: Any, moment: datetime) -> None:
    advance(sim, ib, moment.timestamp() - sim.gw.sim_time)


def buy_two_futures(sim: BackgroundGateway, ib: Any, iblib: ModuleType) -> tuple[Any, Any]:
    """The Eurex future qualified, and a filled market order for two contracts in session."""
    fut = iblib.Future("ESTX50", "20060317", "EUREX")
    ib.qualifyContracts(fut)
    move_to(sim, ib, datetime(2006, 1, 10, 9, 5, tzinfo=MET))
    trade = ib.placeOrder(fut, iblib.MarketOrder("BUY", 2))
    advance(sim, ib, 10)
    wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    return fut, trade


def details(ib: Any, contract: Any) -> Any:
    found = ib.reqContractDetails(contract)
    assert len(found) == 1, found
    return found[0]


def test_stock_forex_and_future_qualify_as_at_ib(connect: Connect, iblib: ModuleType) -> None:
    ib = connect()
    stock, fx, fut = (
        iblib.Stock("GOOG", "SMART", "USD"),
        iblib.Forex("EURUSD"),
        iblib.Future("ESTX50", "20060317", "EUREX"),
    )
    assert ib.qualifyContracts(stock, fx, fut) == [stock, fx, fut]
    assert (stock.secType, stock.primaryExchange, stock.multiplier) == ("STK", "NASDAQ", "")
    assert (fx.secType, fx.symbol, fx.currency, fx.localSymbol) == ("CASH", "EUR", "USD", "EUR.USD")
    assert (fut.secType, fut.localSymbol, fut.tradingClass) == ("FUT", "FESX MAR 06", "FESX")
    assert (fut.multiplier, fut.currency, fut.lastTradeDateOrContractMonth) == (
        "10", "EUR", "20060317",
    )  # fmt: skip
    # the other ways IB finds a future: local symbol, contract month, conId
    by_local = iblib.Future(localSymbol="FESX MAR 06", exchange="EUREX")
    by_month = iblib.Future("ESTX50", "200603", "EUREX", multiplier="10")
    by_id = iblib.Contract(conId=fut.conId)
    ib.qualifyContracts(by_local, by_month, by_id)
    assert by_local.conId == by_month.conId == by_id.conId == fut.conId
    assert by_id.multiplier == "10" and by_id.exchange == "EUREX"


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.Stock("IDXFUT", "SMART", "USD"),  # the data symbol is no IB symbol
        lambda lib: lib.Stock("ESTX50", "SMART", "EUR"),  # the future's symbol as a stock
        lambda lib: lib.Future("ESTX50", "20060616", "EUREX"),  # another expiry
        lambda lib: lib.Future("ESTX50", "20060317", "CME"),  # another exchange
        lambda lib: lib.Future("ESTX50", "20060317", "EUREX", multiplier="25"),
        lambda lib: lib.Future("ESTX50", "20060317", "EUREX", currency="USD"),
    ],
)
def test_what_ib_would_not_find_is_error_200(
    connect: Connect, iblib: ModuleType, make: Any
) -> None:
    ib = connect()
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *_: errors.append((req_id, code))
    assert ib.reqContractDetails(make(iblib)) == []
    assert [code for _, code in errors] == [200] and errors[0][0] > 0


def test_future_details_carry_ib_dated_sessions(connect: Connect, iblib: ModuleType) -> None:
    """The list starts on today's date in the contract's zone (00:00 UTC is 01:00 MET)."""
    ib = connect()
    d = details(ib, iblib.Future("ESTX50", "20060317", "EUREX"))
    assert (d.timeZoneId, d.minTick, d.validExchanges, d.marketRuleIds) == (
        "MET", 1.0, "EUREX", "1006",
    )  # fmt: skip
    assert (d.contractMonth, d.underSymbol, d.underSecType, d.realExpirationDate) == (
        "200603", "ESTX50", "IND", "20060317",
    )  # fmt: skip
    assert d.liquidHours.split(";") == [
        "20060110:0900-20060110:2200",
        "20060111:0900-20060111:2200",
        "20060112:CLOSED",  # the definition's holiday
        "20060113:0900-20060113:2200",
        "20060114:CLOSED",
        "20060115:CLOSED",
    ]
    sessions = d.liquidSessions()
    assert [s.start.date().day for s in sessions] == [10, 11, 13]
    for s in sessions:  # the library's own parser: aware datetimes in MET
        assert (s.start.astimezone(MET).time(), s.end.astimezone(MET).time()) == (
            time(9), time(22),
        )  # fmt: skip
    assert d.tradingSessions() == sessions


def test_forex_sessions_open_the_evening_before(
    sim: BackgroundGateway, connect: Connect, iblib: ModuleType
) -> None:
    ib = connect()
    move_to(sim, ib, datetime(2006, 1, 10, 6, tzinfo=ET))
    d = details(ib, iblib.Forex("EURUSD"))
    assert (d.timeZoneId, d.validExchanges, d.marketRuleIds, d.minTick) == (
        "US/Eastern", "IDEALPRO", "239", 0.00005,
    )  # fmt: skip
    entries = d.tradingHours.split(";")
    assert entries[0] == "20060109:1715-20060110:1700"  # Tuesday's session opens Monday
    assert entries[3] == "20060112:1715-20060113:1700"  # Friday's
    assert entries[4:] == ["20060114:CLOSED", "20060115:CLOSED"]
    first = d.tradingSessions()[0]
    assert first.end - first.start == (datetime(2006, 1, 10, 17) - datetime(2006, 1, 9, 17, 15))


def test_stock_hours_and_an_early_close(
    sim: BackgroundGateway, connect: Connect, iblib: ModuleType
) -> None:
    ib = connect()
    move_to(sim, ib, datetime(2006, 1, 10, 6, tzinfo=ET))
    d = details(ib, iblib.Stock("GOOG", "SMART", "USD"))
    assert (d.validExchanges, d.marketRuleIds, d.stockType) == ("SMART,NASDAQ", "26,26", "COMMON")
    liquid, total = d.liquidHours.split(";"), d.tradingHours.split(";")
    assert liquid[0] == "20060110:0930-20060110:1600" and total[0] == "20060110:0400-20060110:2000"
    assert liquid[3] == "20060113:0930-20060113:1300"  # the definition's early close
    assert liquid[4] == "20060114:CLOSED"
    assert len(d.liquidSessions()) == len(d.tradingSessions()) == 4


def test_hours_start_on_the_day_of_the_request(
    sim: BackgroundGateway, connect: Connect, iblib: ModuleType
) -> None:
    ib = connect()
    fut = iblib.Future("ESTX50", "20060317", "EUREX")
    move_to(sim, ib, datetime(2006, 1, 11, 0, 30, tzinfo=MET))
    assert details(ib, fut).liquidHours.startswith("20060111:0900-20060111:2200;20060112:CLOSED;")


@pytest.mark.parametrize("sim", [date(2006, 2, 27)], indirect=True)
def test_past_the_last_bar_nothing_trades(connect: Connect, iblib: ModuleType) -> None:
    ib = connect()
    hours = details(ib, iblib.Future("ESTX50", "20060317", "EUREX")).liquidHours.split(";")
    assert hours[:3] == ["20060227:0900-20060227:2200", "20060228:CLOSED", "20060301:CLOSED"]


def test_future_messages_carry_multiplier_and_expiry(
    sim: BackgroundGateway, connect: Connect, iblib: ModuleType
) -> None:
    ib = connect()
    fut, _ = buy_two_futures(sim, ib, iblib)
    ib.reqPositions()
    completed = ib.reqCompletedOrders(False)
    fill = ib.fills()[-1]
    position = next(p for p in ib.positions() if p.contract.conId == fut.conId)
    done = next(t for t in completed if t.contract.conId == fut.conId)
    for contract in (fill.contract, position.contract, done.contract):
        assert (contract.multiplier, contract.lastTradeDateOrContractMonth) == ("10", "20060317")
        assert (contract.secType, contract.localSymbol) == ("FUT", "FESX MAR 06")
    assert fill.execution.exchange == "EUREX"


def test_history_and_realtime_bars_at_the_met_session(
    sim: BackgroundGateway, connect: Connect, iblib: ModuleType
) -> None:
    ib = connect()
    fut = iblib.Future("ESTX50", "20060317", "EUREX")
    ib.qualifyContracts(fut)
    move_to(sim, ib, datetime(2006, 1, 10, 12, tzinfo=MET))
    bars = ib.reqHistoricalData(fut, "", "2 D", "1 hour", "TRADES", useRTH=False, formatDate=2)
    starts = [b.date.astimezone(MET) for b in bars]
    # the sample's minute bars run 09:01..22:00 (bar starts): the last hour holds one minute
    assert [s.hour for s in starts if s.day == 9] == list(range(9, 23))
    assert [s.hour for s in starts if s.day == 10] == [9, 10, 11]
    daily = ib.reqHistoricalData(fut, "", "5 D", "1 day", "TRADES", useRTH=False, formatDate=1)
    # ending now, the last bar is today's, in progress (as TWS serves it)
    assert [b.date for b in daily][-3:] == [date(2006, 1, 6), date(2006, 1, 9), date(2006, 1, 10)]
    live = ib.reqRealTimeBars(fut, 5, "TRADES", False)
    advance(sim, ib, 60)
    wait_until(ib, lambda: len(live) >= 10)
    assert all(bar.time.astimezone(MET).hour == 12 for bar in live)


@pytest.mark.parametrize("sim", [date(2006, 1, 13)], indirect=True)
def test_daily_tape_trades_over_the_definitions_session(
    sim: BackgroundGateway, connect: Connect, iblib: ModuleType
) -> None:
    """GOOG's daily bar of the early-close day expands over 09:30-13:00 ET only."""
    ib = connect()
    goog = iblib.Stock("GOOG", "SMART", "USD")
    ib.qualifyContracts(goog)
    move_to(sim, ib, datetime(2006, 1, 13, 12, 50, tzinfo=ET))
    live = ib.reqRealTimeBars(goog, 5, "TRADES", False)
    advance(sim, ib, 1200)
    wait_until(ib, lambda: len(live) > 0)
    assert max(bar.time for bar in live).astimezone(ET).time() == time(12, 59, 55)
    assert len(live) == 600 // 5


def test_bars_on_a_holiday_are_not_replayed(sim: BackgroundGateway) -> None:
    tape = next(t for t in sim.gw.tapes.values() if t.instrument.data_symbol == "IDXFUT")
    local_days = {datetime.fromtimestamp(int(s), MET).date() for s in tape.starts}
    assert date(2006, 1, 11) in local_days and date(2006, 1, 12) not in local_days


def test_forex_daily_bars_are_whole_sessions_dated_by_their_close(sim: BackgroundGateway) -> None:
    """A forex day opens at 17:15 the evening before: its daily bar is that whole session,
    labelled with the day it closes on, and equals the source bar."""
    tape = next(t for t in sim.gw.tapes.values() if t.instrument.data_symbol == "EURUSD")
    start = int(datetime(2006, 1, 2, tzinfo=ET).timestamp())
    end = int(datetime(2006, 1, 7, tzinfo=ET).timestamp())
    bars = history.bars_between(tape, history.DAY, start, end)
    labels = [datetime.fromtimestamp(b.start, ET).date() for b in bars]
    assert labels == [date(2006, 1, d) for d in (3, 4, 5, 6)]  # the 2nd was a holiday
    for b in bars:
        i = int(np.searchsorted(tape.starts, b.start + 12 * 3600)) - 1  # the session's bar
        src = tape.bars
        assert (b.open, b.high, b.low, b.close) == (
            src.open[i],
            src.high[i],
            src.low[i],
            src.close[i],
        )
        assert datetime.fromtimestamp(int(tape.starts[i]), ET).time() == time(17, 15)


def test_saved_state_in_a_contract_no_longer_described_is_refused(tmp_path: Path) -> None:
    """IDXFUT was a US stock before contracts.toml: a state file holding that position
    names the orphaned conId instead of failing on every account update."""
    data = _write_data(tmp_path)
    old_stock = instrument_for("IDXFUT", default_spec("IDXFUT")).con_id
    state = SimState(AccountState("DU0000001", 1_000_000.0), 0)
    state.account.positions[old_stock] = Position(5, 3600.0)
    save_state(state, tmp_path / "simgw.json")
    config = sim_config(
        data_dir=data, symbols=("GOOG", "IDXFUT"), state_file=tmp_path / "simgw.json"
    )
    with pytest.raises(DataError, match=f"conIds {old_stock}, which no symbol"):
        SimGateway(config)


def test_future_position_and_portfolio_count_the_multiplier_as_ib_does(
    sim: BackgroundGateway, connect: Connect, iblib: ModuleType
) -> None:
    """IB reports a future's average cost per contract (price x multiplier), and its market
    value and unrealized P&L in money: a client dividing by the multiplier gets the price."""
    ib = connect()
    fut, trade = buy_two_futures(sim, ib, iblib)
    price = trade.orderStatus.avgFillPrice
    fee = sum(f.commissionReport.commission for f in trade.fills)
    ib.reqPositions()
    position = next(p for p in ib.positions() if p.contract.conId == fut.conId)
    assert position.avgCost == pytest.approx(price * 10 + fee / 2)
    ib.reqAccountUpdates(ib.managedAccounts()[0])
    item = next(p for p in ib.portfolio() if p.contract.conId == fut.conId)
    assert item.averageCost == pytest.approx(position.avgCost)
    assert item.marketValue == pytest.approx(2 * item.marketPrice * 10)
    assert item.unrealizedPNL == pytest.approx(item.marketValue - 2 * item.averageCost)
