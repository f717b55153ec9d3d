"""Orders through both client libraries: every type through fill and cancel, brackets,
modify, what-if, partial fills, reconnects, clientId 0, and replay determinism."""

from __future__ import annotations

import pytest

from tradd.simgw.background import BackgroundGateway

from .conftest import advance, open_market, sim_config, sync, wait_until


def _goog(ib, iblib):
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def _rest_of_day(sim, con_id: int) -> tuple[float, float]:
    """Low and high the replay will trade later today (the tape is deterministic)."""

    def scan() -> tuple[float, float]:
        tape = sim.gw.tapes[con_id]
        now = sim.gw.sim_time
        buckets = tape.buckets(tape.bar_index(now))
        k = (now - buckets.start) // 5 + 1
        return float(min(buckets.low[k:])), float(max(buckets.high[k:]))

    return sim.call(scan)


def _last(ib, contract) -> float:
    bars = ib.reqHistoricalData(contract, "", "1800 S", "5 secs", "TRADES", True)
    return bars[-1].close


def test_market_order_fills_with_reports(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    commissions: list[object] = []
    ib.commissionReportEvent += lambda trade, fill, report: commissions.append(report)
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 100, orderRef="sma-1"))
    wait_until(ib, lambda: trade.isDone() and len(commissions) == 1)
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.filled == 100
    fill = trade.fills[0]
    assert fill.execution.orderRef == "sma-1"
    assert fill.execution.side == "BOT" and fill.execution.shares == 100
    assert fill.execution.permId == trade.order.permId > 0
    assert fill.commissionReport.commission == pytest.approx(1.0)  # IB minimum
    last = _last(ib, goog)
    assert fill.execution.price == pytest.approx(last + 0.01, abs=0.5)
    wait_until(ib, lambda: bool(ib.positions()))
    position = ib.positions()[0]
    assert position.position == 100
    assert position.avgCost == pytest.approx(fill.execution.price + 0.01)  # incl. commission


def test_limit_rests_then_fills_when_price_trades_through(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    low, _ = _rest_of_day(sim, goog.conId)
    assert low < _last(ib, goog) - 0.05
    limit = round(low + 0.05, 2)
    trade = ib.placeOrder(goog, iblib.LimitOrder("BUY", 10, limit))
    sync(ib)
    assert trade.orderStatus.status == "Submitted"
    advance(sim, ib, 6.5 * 3600)
    wait_until(ib, trade.isDone)
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.avgFillPrice <= limit


def test_limit_cancel(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    trade = ib.placeOrder(goog, iblib.LimitOrder("BUY", 10, 100.0))
    sync(ib)
    assert trade.orderStatus.status == "Submitted"
    ib.cancelOrder(trade.order)
    wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert not trade.fills
    completed = ib.reqCompletedOrders(False)
    assert any(t.order.permId == trade.order.permId for t in completed)


@pytest.mark.parametrize("kind", ["STP", "STP LMT"])
def test_stop_orders_wait_then_trigger(sim, connect, iblib, kind) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    last = _last(ib, goog)
    stop = round(last + 0.5, 2)
    if kind == "STP":
        order = iblib.StopOrder("BUY", 10, stop)
    else:
        order = iblib.StopLimitOrder("BUY", 10, round(stop + 5, 2), stop)
    trade = ib.placeOrder(goog, order)
    sync(ib)
    assert trade.orderStatus.status == "PreSubmitted"  # a stop waits untriggered, as in TWS
    _, high = _rest_of_day(sim, goog.conId)
    assert high > stop  # the day trades above the stop later
    advance(sim, ib, 6.5 * 3600)
    wait_until(ib, trade.isDone)
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.avgFillPrice >= stop


def test_stop_cancel(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    trade = ib.placeOrder(goog, iblib.StopOrder("SELL", 10, 1.0))
    sync(ib)
    ib.cancelOrder(trade.order)
    wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")


def test_bracket_children_wait_for_parent_and_cancel_each_other(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    last = _last(ib, goog)
    bracket = ib.bracketOrder("BUY", 10, round(last + 1, 2), round(last + 3, 2),
                              round(last - 3, 2))  # fmt: skip
    trades = [ib.placeOrder(goog, o) for o in bracket]
    parent, take_profit, stop_loss = trades
    wait_until(ib, lambda: parent.orderStatus.status == "Filled")
    sync(ib)
    assert take_profit.orderStatus.status == "Submitted"
    assert stop_loss.orderStatus.status == "PreSubmitted"
    advance(sim, ib, 6.5 * 3600)
    wait_until(ib, lambda: take_profit.isDone() and stop_loss.isDone())
    statuses = sorted([take_profit.orderStatus.status, stop_loss.orderStatus.status])
    assert statuses in (["Cancelled", "Filled"], ["Cancelled", "Cancelled"])
    if "Filled" in statuses:
        wait_until(ib, lambda: not ib.positions() or ib.positions()[0].position == 0)


def test_untransmitted_parent_is_held(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    held = iblib.MarketOrder("BUY", 10, transmit=False)
    trade = ib.placeOrder(goog, held)
    advance(sim, ib, 30)
    assert not trade.fills
    assert ib.reqAllOpenOrders() == [] or all(t.order.orderId != held.orderId
                                              for t in ib.reqAllOpenOrders())  # fmt: skip


def test_modify_limit_price(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    order = iblib.LimitOrder("BUY", 10, 100.0)
    trade = ib.placeOrder(goog, order)
    sync(ib)
    order.lmtPrice = round(_last(ib, goog) + 2, 2)  # now marketable
    ib.placeOrder(goog, order)
    wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert trade.order.orderId == order.orderId
    assert len(ib.reqOpenOrders()) == 0


def test_what_if_changes_nothing(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    state = ib.whatIfOrder(goog, iblib.MarketOrder("BUY", 100))
    assert float(state.initMarginChange) == pytest.approx(100 * _last(ib, goog) * 0.25, rel=0.01)
    assert float(state.commission) == pytest.approx(1.0)
    assert ib.positions() == [] and ib.fills() == []


def test_margin_rejection(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, *rest: errors.append(code)
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 100_000))  # ~$46M on $1M
    wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert 201 in errors
    assert not trade.fills


def test_partial_fills_option() -> None:
    import ib_async

    with BackgroundGateway(sim_config(partial_fills=4)) as sim:
        ib = ib_async.IB()
        ib.connect("127.0.0.1", sim.port, clientId=3, timeout=4)
        try:
            open_market(sim, ib)
            goog = _goog(ib, ib_async)
            trade = ib.placeOrder(goog, ib_async.MarketOrder("SELL", 100))
            advance(sim, ib, 30)
            wait_until(ib, trade.isDone)
            fills = trade.fills
            assert [f.execution.cumQty for f in fills] == [25, 50, 75, 100]
            assert len({f.execution.execId for f in fills}) == 4
            assert sum(f.commissionReport.commission for f in fills) == pytest.approx(1.0)
        finally:
            ib.disconnect()


def test_reconnect_keeps_orders_fills_and_ids(sim, connect, iblib) -> None:
    ib = connect(client_id=5)
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    filled = ib.placeOrder(goog, iblib.MarketOrder("BUY", 10, orderRef="r-1"))
    resting = ib.placeOrder(goog, iblib.LimitOrder("BUY", 10, 100.0, orderRef="r-2"))
    wait_until(ib, filled.isDone)
    sync(ib)
    used = resting.order.orderId
    ib.disconnect()
    again = connect(client_id=5)
    assert again.client.getReqId() > used
    assert [t.order.orderRef for t in again.openTrades()] == ["r-2"]
    assert [f.execution.orderRef for f in again.fills()] == ["r-1"]
    assert again.positions()[0].position == 10


def test_client_zero_sees_all_orders(sim, connect, iblib) -> None:
    worker = connect(client_id=9)
    master = connect(client_id=0)
    open_market(sim, worker)
    goog = _goog(worker, iblib)
    trade = worker.placeOrder(goog, iblib.LimitOrder("BUY", 10, 100.0, orderRef="w-1"))
    sync(worker)
    wait_until(master, lambda: any(t.order.orderRef == "w-1" for t in master.openTrades()))
    worker.cancelOrder(trade.order)
    wait_until(worker, lambda: trade.orderStatus.status == "Cancelled")


def _replay_once(seed: int) -> tuple[list[tuple[float, ...]], list[tuple[str, float]]]:
    import ib_async

    with BackgroundGateway(sim_config(seed=seed)) as sim:
        ib = ib_async.IB()
        ib.connect("127.0.0.1", sim.port, clientId=1, timeout=4)
        try:
            open_market(sim, ib)
            goog = _goog(ib, ib_async)
            rt = ib.reqRealTimeBars(goog, 5, "TRADES", False)
            trades = [ib.placeOrder(goog, ib_async.MarketOrder("BUY", 10)),
                      ib.placeOrder(goog, ib_async.LimitOrder("SELL", 10, 470.0))]  # fmt: skip
            advance(sim, ib, 3600)
            wait_until(ib, lambda: all(t.isDone() for t in trades) and len(rt) == 720)
            bars = [(b.time.timestamp(), b.open_, b.high, b.low, b.close, b.volume) for b in rt]
            fills = [(f.execution.execId, f.execution.price) for f in ib.fills()]
            return bars, fills
        finally:
            ib.disconnect()


def test_replay_is_deterministic() -> None:
    first, second, other = _replay_once(7), _replay_once(7), _replay_once(8)
    assert first == second
    assert first[0] != other[0]  # another seed, another intraday path
    assert len(first[1]) == 2


def test_orders_executions_and_rejections_are_logged_for_auditing(sim, connect, iblib) -> None:
    """The rehearsal compares every execution with the ledger from these log lines: the
    simulator forgets yesterday's executions at each new day, its log does not."""
    from structlog.testing import capture_logs

    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    with capture_logs() as logs:
        trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 100, orderRef="sma-7"))
        wait_until(ib, lambda: trade.isDone() and bool(trade.fills))
        sim.call(sim.gw.faults.reject_next, 201)
        refused = ib.placeOrder(goog, iblib.MarketOrder("BUY", 5, orderRef="sma-8"))
        wait_until(ib, refused.isDone)
    by_event = {entry["event"]: entry for entry in logs}
    fill = trade.fills[0]
    execution = by_event["simgw.execution"]
    assert execution["exec_id"] == fill.execution.execId and execution["ref"] == "sma-7"
    assert execution["shares"] == 100 and execution["symbol"] == "GOOG"
    assert execution["commission"] == pytest.approx(fill.commissionReport.commission)
    assert by_event["simgw.order_placed"]["ref"] == "sma-7"
    assert by_event["simgw.order_placed"]["quantity"] == 100
    assert by_event["simgw.order_rejected"]["ref"] == "sma-8"
