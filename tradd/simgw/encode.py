"""Server-to-client messages at server version 176, as field lists.

Field orders follow the decoders of ib_insync 0.9.86 and ib_async 2.1
(``decoder.py`` in both packages: openOrder, completedOrder, execDetails,
contractDetails, ...); several of those decoders unpack an exact number of
fields, so nothing may be added or left out. The protocol tests decode every
message here with both libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tradd.simgw.account import Position
from tradd.simgw.contracts import Instrument
from tradd.simgw.orders import Execution, SimOrder
from tradd.simgw.wire import FieldValue

Fields = list[FieldValue]
UNSET_REALIZED = "1.7976931348623157E308"


def managed_accounts(accounts: str) -> Fields:
    return [15, 1, accounts]


def next_valid_id(order_id: int) -> Fields:
    return [9, 1, order_id]


def error(req_id: int, code: int, message: str) -> Fields:
    return [4, 2, req_id, code, message, ""]


def current_time(epoch: int) -> Fields:
    return [49, 1, epoch]


def position(account: str, inst: Instrument, pos: Position) -> Fields:
    """IB's average cost is per contract: a future's is its price times the multiplier."""
    return [61, 3, account, *inst.block(), pos.quantity, pos.avg_cost * inst.value_multiplier]


def position_end() -> Fields:
    return [62, 1]


def account_value(key: str, value: str, currency: str, account: str) -> Fields:
    return [6, 2, key, value, currency, account]


def portfolio(
    account: str, inst: Instrument, pos: Position, mark: float, realized: float
) -> Fields:
    """Market value, average cost and P&L in money: per-point figures times the multiplier."""
    block = inst.block(primary=True, exchange=False)
    per_point = pos.quantity * inst.value_multiplier
    unrealized = per_point * (mark - pos.avg_cost)
    return [7, 8, *block, pos.quantity, mark, per_point * mark,
            pos.avg_cost * inst.value_multiplier, unrealized, realized, account]  # fmt: skip


def account_time(epoch: int, tz: str) -> Fields:
    return [8, 1, f"{datetime.fromtimestamp(epoch, ZoneInfo(tz)):%H:%M}"]


def account_download_end(account: str) -> Fields:
    return [54, 1, account]


def account_update_multi(req_id: int, account: str, key: str, value: str, ccy: str) -> Fields:
    return [73, 1, req_id, account, "", key, value, ccy]


def account_update_multi_end(req_id: int) -> Fields:
    return [74, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: str, ccy: str) -> Fields:
    return [63, 1, req_id, account, tag, value, ccy]


def account_summary_end(req_id: int) -> Fields:
    return [64, 1, req_id]


def contract_data(req_id: int, inst: Instrument, trading_hours: str, liquid_hours: str) -> Fields:
    """Message 10 at server version 176 (no version field); hours in IB's dated format."""
    future = inst.sec_type == "FUT"
    spec = inst.definition
    under = (spec.ib_symbol or inst.symbol, "IND") if future else ("", "")
    return [
        10, req_id, inst.symbol, inst.sec_type, inst.last_trade_date, 0.0, "", inst.exchange,
        inst.currency, inst.local_symbol, inst.trading_class, inst.trading_class, inst.con_id,
        inst.min_tick, inst.multiplier, inst.order_types, ",".join(inst.valid_exchanges), 1, 0,
        inst.long_name, inst.primary_exchange, inst.last_trade_date[:6], "Simulated", "", "",
        inst.time_zone, trading_hours, liquid_hours, "", "", 0,
        "", *under, inst.market_rule_ids, inst.last_trade_date,
        "COMMON" if inst.sec_type == "STK" else "", 1, 1, 1,
    ]  # fmt: skip


def contract_data_end(req_id: int) -> Fields:
    return [52, 1, req_id]


def historical_data(req_id: int, start: str, end: str, bars: list[Fields]) -> Fields:
    out: Fields = [17, req_id, start, end, len(bars)]
    for bar in bars:
        out.extend(bar)
    return out


def historical_data_update(req_id: int, count: int, date: str, o: float, h: float, lo: float,
                           c: float, wap: float, volume: int) -> Fields:  # fmt: skip
    return [90, req_id, count, date, o, c, h, lo, wap, volume]


def realtime_bar(req_id: int, start: int, o: float, h: float, lo: float, c: float,
                 volume: int, wap: float, count: int) -> Fields:  # fmt: skip
    return [50, 3, req_id, start, o, h, lo, c, volume, wap, count]


def market_data_type(req_id: int, kind: int) -> Fields:
    return [58, 1, req_id, kind]


def tick_req_params(req_id: int, min_tick: float) -> Fields:
    return [81, req_id, min_tick, "9c0001", 3]


def tick_price(req_id: int, tick_type: int, price: float, size: float) -> Fields:
    return [1, 6, req_id, tick_type, price, size, 0]


def tick_size(req_id: int, tick_type: int, size: float) -> Fields:
    return [2, 6, req_id, tick_type, size]


def tick_string(req_id: int, tick_type: int, value: str) -> Fields:
    return [46, 6, req_id, tick_type, value]


def tick_snapshot_end(req_id: int) -> Fields:
    return [57, 1, req_id]


def open_order_end() -> Fields:
    return [53, 1]


def execution_time(epoch: int, tz: str) -> str:
    return f"{datetime.fromtimestamp(epoch, ZoneInfo(tz)):%Y%m%d %H:%M:%S} {tz}"


def exec_details(req_id: int, inst: Instrument, ex: Execution, tz: str) -> Fields:
    side = "BOT" if ex.side == "BUY" else "SLD"
    return [
        11, req_id, ex.order_id, *inst.block(), ex.exec_id, execution_time(ex.time, tz),
        ex.account, inst.exchange if not inst.is_forex else "IDEALPRO", side, ex.shares,
        ex.price, ex.perm_id, ex.client_id, 0, ex.cum_qty, ex.avg_price, ex.order_ref,
        "", "", "", 1,
    ]  # fmt: skip


def exec_details_end(req_id: int) -> Fields:
    return [55, 1, req_id]


def commission_report(ex: Execution, currency: str) -> Fields:
    realized = UNSET_REALIZED if ex.realized_pnl is None else ex.realized_pnl
    return [59, 1, ex.exec_id, ex.commission, ex.commission_currency or currency, realized, "", ""]


def order_status(o: SimOrder) -> Fields:
    return [3, o.order_id, o.status, o.filled, o.remaining, o.avg_fill_price, o.perm_id,
            o.parent_id, o.last_fill_price, o.client_id, "", ""]  # fmt: skip


def completed_orders_end() -> Fields:
    return [102]


def _order_core(o: SimOrder) -> Fields:
    """action .. orderRef, common to openOrder and completedOrder."""
    return [o.action, o.total_qty, o.order_type, o.lmt_price, o.aux_price, o.tif,
            o.oca_group, o.account, "O", 0, o.order_ref]  # fmt: skip


def open_order(o: SimOrder, inst: Instrument, state: OrderState | None = None) -> Fields:
    """Message 5, 128 fields (ib_async ``decoder.openOrder``); ``state`` for what-if."""
    s = state or OrderState()
    return [
        5, o.order_id, *inst.block(), *_order_core(o),
        # clientId .. faPercentage, then faProfile (present below server version 177)
        o.client_id, o.perm_id, o.outside_rth, 0, "", "", "", "", "", "", "",
        # modelCode, goodTillDate .. deltaNeutralAuxPrice (29)
        "", o.good_till_date, "", "", "", "", "", "", 0,
        "", "", "", "", "", 0, 0, 0, 0, "", 0, 0, 0, "",
        o.parent_id, 0, "", 0, "", "",
        # continuousUpdate .. comboLegsDescrip, 3 empty lists, scale (3), hedgeType
        0, 0, "", "", "", "", "", 0, 0, 0, "", "", "", "",
        # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, no dnc, no algo
        0, "", "", 0, 0, "",
        # solicited, whatIf, order state (status, margins, commissions), randomize x2
        0, s.what_if, o.status, s.init_before, s.maint_before, s.equity_before, s.init_change,
        s.maint_change, s.equity_change, s.init_after, s.maint_after, s.equity_after,
        s.commission, s.min_commission, s.max_commission, s.commission_currency, "", 0, 0,
        # no conditions; adjusted order fields .. usePriceMgmtAlgo (16)
        0, "", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, "", 0,
        # duration, postToAts, autoCancelParent, minTradeQty .. midOffsetAtHalf
        "", "", 0, "", "", "", "", "",
    ]  # fmt: skip


def completed_order(o: SimOrder, inst: Instrument, completed_time: str) -> Fields:
    """Message 101, 97 fields (ib_async ``decoder.completedOrder``)."""
    return [
        101, *inst.block(), *_order_core(o),
        # permId .. faPercentage, faProfile
        o.perm_id, o.outside_rth, 0, "", "", "", "", "", "",
        # modelCode, goodTillDate .. deltaNeutralAuxPrice (23)
        "", o.good_till_date, "", "", "", "", "", "", "", "", "", "", "",
        0, 0, 0, "", 0, 0, "", 0, "", "",
        # continuousUpdate .. comboLegsDescrip, 3 empty lists, scale (3), hedgeType
        0, 0, "", "", "", 0, 0, 0, "", "", "", "",
        # clearingAccount, clearingIntent, notHeld, no dnc, no algo; solicited, status, rnd x2
        "", "", 0, 0, "", 0, o.status, 0, 0,
        # no conditions; trailStopPrice .. completedStatus (15)
        0, "", "", "", 0, 0, "", o.filled, 0, 0, "", 0, 0, 0, completed_time,
        o.completed_status,
        # minTradeQty .. midOffsetAtHalf
        "", "", "", "", "",
    ]  # fmt: skip


@dataclass(frozen=True)
class OrderState:
    """Margin and commission figures of an openOrder; all blank except for what-if."""

    what_if: bool = False
    init_before: FieldValue = ""
    maint_before: FieldValue = ""
    equity_before: FieldValue = ""
    init_change: FieldValue = ""
    maint_change: FieldValue = ""
    equity_change: FieldValue = ""
    init_after: FieldValue = ""
    maint_after: FieldValue = ""
    equity_after: FieldValue = ""
    commission: FieldValue = ""
    min_commission: FieldValue = ""
    max_commission: FieldValue = ""
    commission_currency: str = ""
