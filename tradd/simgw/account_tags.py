"""Account values under IB's tag names: the account-summary set, segment and ledger keys.

reqAccountSummary, reqAccountUpdates and reqAccountUpdatesMulti all read the
rows built here from one ``Valuation``, so the same tag carries the same
number whichever way a client asks. The account is a single-currency (USD)
Reg T margin account: the base-currency ledger (``BASE``) and the USD ledger
are the same figures, and the exchange rate is 1.
"""

from __future__ import annotations

from tradd.simgw.account import Valuation

BASE = "USD"
SUMMARY_TAGS = (
    "AccountType", "NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash",
    "BuyingPower", "EquityWithLoanValue", "PreviousDayEquityWithLoanValue",
    "GrossPositionValue", "RegTEquity", "RegTMargin", "SMA", "InitMarginReq", "MaintMarginReq",
    "AvailableFunds", "ExcessLiquidity", "Cushion", "FullInitMarginReq", "FullMaintMarginReq",
    "FullAvailableFunds", "FullExcessLiquidity", "LookAheadNextChange", "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq", "LookAheadAvailableFunds", "LookAheadExcessLiquidity",
    "HighestSeverity", "DayTradesRemaining", "DayTradesRemainingT+1", "DayTradesRemainingT+2",
    "DayTradesRemainingT+3", "DayTradesRemainingT+4", "Leverage",
)  # fmt: skip
SEGMENTED = frozenset({
    "AccruedCash", "AvailableFunds", "EquityWithLoanValue", "ExcessLiquidity",
    "FullAvailableFunds", "FullExcessLiquidity", "FullInitMarginReq", "FullMaintMarginReq",
    "GrossPositionValue", "InitMarginReq", "LookAheadAvailableFunds", "LookAheadExcessLiquidity",
    "LookAheadInitMarginReq", "LookAheadMaintMarginReq", "MaintMarginReq", "NetLiquidation",
    "PreviousDayEquityWithLoanValue", "RegTEquity", "RegTMargin", "SMA", "TotalCashValue",
})  # fmt: skip
"""Tags IB also sends per segment in account updates; this account is all securities (-S)."""
REG_T_INITIAL = 0.5


def standard(v: Valuation, previous_day_equity: float) -> dict[str, tuple[str, str]]:
    """The account-summary tags: value text and currency ("" for unitless tags)."""
    nlv = v.net_liquidation
    reg_t_margin = v.gross_position_value * REG_T_INITIAL
    numbers = {
        "NetLiquidation": nlv, "TotalCashValue": v.cash, "SettledCash": v.cash,
        "AccruedCash": 0.0, "BuyingPower": v.buying_power, "EquityWithLoanValue": nlv,
        "PreviousDayEquityWithLoanValue": previous_day_equity,
        "GrossPositionValue": v.gross_position_value, "RegTEquity": nlv,
        "RegTMargin": reg_t_margin, "SMA": max(nlv - reg_t_margin, 0.0),
    }  # fmt: skip
    for prefix in ("", "Full", "LookAhead"):
        numbers[f"{prefix}InitMarginReq"] = v.init_margin
        numbers[f"{prefix}MaintMarginReq"] = v.init_margin
        numbers[f"{prefix}AvailableFunds"] = v.available_funds
        numbers[f"{prefix}ExcessLiquidity"] = v.available_funds
    out = {tag: (f"{value:.2f}", BASE) for tag, value in numbers.items()}
    out["AccountType"] = ("INDIVIDUAL", "")
    out["Cushion"] = (f"{v.available_funds / nlv if nlv else 0.0:.6f}", "")
    out["LookAheadNextChange"] = ("0", "")
    out["HighestSeverity"] = ("0", "")
    for days in ("", "T+1", "T+2", "T+3", "T+4"):  # -1: unlimited (equity above USD 25,000)
        out[f"DayTradesRemaining{days}"] = ("-1", "")
    out["Leverage"] = (f"{v.gross_position_value / nlv if nlv else 0.0:.2f}", "")
    return out


def ledger(v: Valuation) -> dict[str, str]:
    """The ledger tags ($LEDGER groups; per-currency keys of account updates)."""
    figures = {
        "CashBalance": v.cash, "TotalCashBalance": v.cash, "AccruedCash": 0.0,
        "StockMarketValue": v.market_value, "OptionMarketValue": 0.0,
        "FutureOptionValue": 0.0, "FuturesPNL": 0.0, "NetLiquidationByCurrency":
        v.net_liquidation, "UnrealizedPnL": v.unrealized_pnl, "RealizedPnL": v.realized_pnl,
        "ExchangeRate": 1.0, "FundValue": 0.0, "NetDividend": 0.0, "MutualFundValue": 0.0,
        "MoneyMarketFundValue": 0.0, "CorporateBondValue": 0.0, "TBondValue": 0.0,
        "TBillValue": 0.0, "WarrantValue": 0.0, "FxCashBalance": 0.0, "IssuerOptionValue": 0.0,
    }  # fmt: skip
    return {tag: f"{value:.2f}" for tag, value in figures.items()}


def update_rows(
    v: Valuation, previous_day_equity: float, account: str
) -> list[tuple[str, str, str]]:
    """reqAccountUpdates(Multi) rows: key, value, currency, in IB's shape."""
    rows = [("AccountCode", account, ""), ("AccountReady", "true", ""),
            ("AccountOrGroup", account, "BASE"), ("AccountOrGroup", account, BASE),
            ("Currency", "BASE", "BASE"), ("Currency", BASE, BASE),
            ("RealCurrency", "BASE", "BASE"), ("RealCurrency", BASE, BASE)]  # fmt: skip
    for tag, (value, ccy) in standard(v, previous_day_equity).items():
        rows.append((tag if tag != "Leverage" else "Leverage-S", value, ccy))
        if tag in SEGMENTED:
            rows.append((f"{tag}-S", value, ccy))
    for tag, value in ledger(v).items():
        rows += [(tag, value, "BASE"), (tag, value, BASE)]
    return rows


def summary_rows(v: Valuation, previous_day_equity: float, tags: str) -> list[tuple[str, str, str]]:
    """reqAccountSummary rows for a tag list: standard tags by name, ``All`` for the
    standard set, ``$LEDGER`` (base currency), ``$LEDGER:ALL`` (every currency and
    BASE), ``$LEDGER:<CCY>`` (that currency); unknown tags are ignored, as by TWS."""
    wanted = [t.strip() for t in tags.split(",") if t.strip()]
    values = standard(v, previous_day_equity)
    names = SUMMARY_TAGS if "All" in wanted else [t for t in SUMMARY_TAGS if t in wanted]
    rows = [(tag, *values[tag]) for tag in names]
    for group in (t.upper() for t in wanted if t.upper().startswith("$LEDGER")):
        rows += [(tag, value, ccy) for ccy in _ledger_currencies(group)
                 for tag, value in ledger(v).items()]  # fmt: skip
    return rows


def _ledger_currencies(group: str) -> list[str]:
    if group == "$LEDGER":
        return ["BASE"]
    if group == "$LEDGER:ALL":
        return [BASE, "BASE"]
    currency = group.partition(":")[2]
    return [currency] if currency == BASE else []
