"""Commissions per asset class: the schedules on hand-worked cases, the same figures as the
simulator charges, the settings that change them, and the record of what a run paid."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradd.bt import IBCommission
from tradd.config.loader import load_settings
from tradd.marketdata.contracts import ContractDefinitions, ContractSpec, load_definitions
from tradd.research.broker import BrokerConfig
from tradd.research.costs import (
    CommissionRates,
    CostScheme,
    commission_record,
    costs_for,
    scheme_for,
)
from tradd.simgw.commissions import commission_for

from ..conftest import RunCli

SAMPLE = Path(__file__).resolve().parents[2] / "tradd" / "sample_data"
DEFAULT = CommissionRates()


def _scheme(symbol: str, rates: CommissionRates = DEFAULT, **spec: Any) -> CostScheme:
    definitions = ContractDefinitions({symbol: ContractSpec(symbol=symbol, **spec)} if spec else {})
    return costs_for([symbol], rates, definitions)[symbol]


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        (20_000, 1.10, 2.00),  # 0.2 bp x 22,000 = 0.44: the USD 2 minimum
        (10_000_000, 1.10, 220.00),  # 0.2 bp x 11,000,000
        (-10_000_000, 1.10, 220.00),  # a sale pays the same
        (1_000_000, 1.10, 22.00),
    ],
)
def test_forex_follows_ibs_schedule(quantity: int, price: float, expected: float) -> None:
    scheme = _scheme("EURUSD")
    assert scheme.kind == "forex"
    assert scheme.commission(quantity, price) == pytest.approx(expected, abs=1e-9)


def test_forex_with_usd_base_converts_the_usd_minimum_into_the_quote() -> None:
    """USD.JPY is quoted in JPY: the USD 2 minimum is 2 x price JPY; 0.2 bp stays 0.2 bp."""
    scheme = _scheme("USDJPY")
    assert scheme.commission(20_000, 150.0) == pytest.approx(300.0)  # 2 USD in JPY
    assert scheme.commission(10_000_000, 150.0) == pytest.approx(30_000.0)  # 200 USD


@pytest.mark.parametrize(
    ("symbol", "quantity", "price", "sec_type", "currency", "base"),
    [
        ("EURUSD", 20_000, 1.10, "CASH", "USD", "EUR"),
        ("EURUSD", 10_000_000, 1.10, "CASH", "USD", "EUR"),
        ("USDJPY", 10_000_000, 150.0, "CASH", "JPY", "USD"),
        ("IDXFUT", 3, 3500.0, "FUT", "EUR", "ESTX50"),
        ("GOOG", 100, 50.0, "STK", "USD", "GOOG"),
        ("GOOG", 100_000, 400.0, "STK", "USD", "GOOG"),
    ],
)
def test_research_charges_what_the_simulator_charges(
    symbol: str, quantity: int, price: float, sec_type: str, currency: str, base: str
) -> None:
    inst = SimpleNamespace(sec_type=sec_type, currency=currency, symbol=base)
    charged = commission_for(inst, quantity, price)  # type: ignore[arg-type]
    definitions = load_definitions(SAMPLE)
    scheme = costs_for([symbol], DEFAULT, definitions)[symbol]
    in_quote = charged.amount * (price if base == "USD" else 1.0)  # simulator: USD
    assert scheme.commission(quantity, price) == pytest.approx(in_quote, abs=1e-4)


def test_futures_per_contract_in_the_contracts_currency() -> None:
    eurex = _scheme("IDXFUT", sec_type="FUT", currency="EUR", multiplier=10)
    cme = _scheme("ES", sec_type="FUT", currency="USD", multiplier=50)
    assert eurex.commission(3, 3500.0) == pytest.approx(3.00)
    assert eurex.commission(-3, 3500.0) == pytest.approx(3.00)
    assert cme.commission(4, 5000.0) == pytest.approx(4 * 0.85)
    rates = CommissionRates(futures_per_contract=2.5, futures_minimum=6.0)
    custom = _scheme("ES", rates, sec_type="FUT", currency="USD", multiplier=50)
    assert custom.commission(4, 5000.0) == pytest.approx(10.0)
    assert custom.commission(1, 5000.0) == pytest.approx(6.0)  # the minimum


def test_crypto_rate_minimum_and_the_minimums_cap() -> None:
    scheme = _scheme("BTCUSD")
    assert scheme.kind == "crypto"
    assert scheme.commission(1, 50_000.0) == pytest.approx(90.0)  # 0.18% of 50,000
    assert scheme.commission(0.01, 50_000.0) == pytest.approx(1.75)  # 0.90 < minimum
    assert scheme.commission(0.001, 50_000.0) == pytest.approx(0.50)  # minimum cut to 1%


@pytest.mark.parametrize(("shares", "price"), [(100, 50.0), (1, 0.5), (10_000, 20.0), (-300, 7.0)])
def test_stocks_pay_what_they_paid_before(shares: int, price: float) -> None:
    old = IBCommission(per_share=0.005, minimum=1.0, max_pct=1.0)
    assert _scheme("GOOG").commission(shares, price) == pytest.approx(
        old.getcommission(shares, price)
    )


def test_the_record_names_scheme_rates_and_multiplier() -> None:
    definitions = load_definitions(SAMPLE)
    costs = costs_for(["GOOG", "EURUSD", "IDXFUT", "BTCUSD"], BrokerConfig().rates, definitions)
    record = commission_record(costs)
    assert record["GOOG"] == {"scheme": "stock", "currency": "USD", "per_share": 0.005,
                              "minimum": 1.0, "max_pct": 1.0, "multiplier": 1.0}  # fmt: skip
    assert record["EURUSD"]["scheme"] == "forex"
    assert record["EURUSD"]["bps"] == pytest.approx(0.2)
    assert record["EURUSD"]["minimum"] == 2.0
    assert record["IDXFUT"] == {"scheme": "futures", "currency": "EUR", "per_contract": 1.0,
                                "minimum": 0.0, "multiplier": 10.0}  # fmt: skip
    assert record["BTCUSD"]["pct"] == pytest.approx(0.18)
    assert record["BTCUSD"]["minimum"] == 1.75


def test_settings_reach_the_schemes(tmp_path: Path) -> None:
    config = tmp_path / "tradd.toml"
    config.write_text(
        "[backtest.commission]\nper_share = 0.01\n"
        "[backtest.commission.forex]\nbps = 0.5\nminimum = 3.0\n"
        "[backtest.commission.futures]\nper_contract = 2.0\n"
        "[backtest.commission.crypto]\npct = 0.12\nminimum = 1.0\n"
    )
    rates = BrokerConfig.from_settings(load_settings(config).backtest).rates
    assert _scheme("EURUSD", rates).commission(10_000_000, 1.0) == pytest.approx(500.0)
    assert _scheme("EURUSD", rates).commission(1, 1.0) == pytest.approx(3.0)
    assert _scheme("X", rates, sec_type="FUT", currency="EUR").commission(2, 1.0) == 4.0
    assert _scheme("BTCUSD", rates).commission(1, 10_000.0) == pytest.approx(12.0)
    assert _scheme("GOOG", rates).commission(1000, 50.0) == pytest.approx(10.0)


def test_old_stock_only_config_still_loads(tmp_path: Path) -> None:
    config = tmp_path / "tradd.toml"
    config.write_text("[backtest.commission]\nper_share = 0.004\nminimum = 0.5\nmax_pct = 0.5\n")
    commission = load_settings(config).backtest.commission
    assert (commission.per_share, commission.forex.bps, commission.futures.per_contract) == (
        0.004,
        0.2,
        None,
    )


def test_config_check_refuses_bad_rates_naming_each_key(run_cli: RunCli, tmp_path: Path) -> None:
    config = tmp_path / "tradd.toml"
    config.write_text(
        "[backtest.commission.forex]\nbps = -1\nrate = 1\n"
        "[backtest.commission.futures]\nminimum = 5000\n"
        "[backtest.commission.crypto]\npct = 50\n"
    )
    result = run_cli("config", "check", "--config", str(config))
    assert result.code == 78, result.stdout + result.stderr
    for key in ("forex.bps", "forex.rate", "futures.minimum", "crypto.pct"):
        assert f"backtest.commission.{key}" in result.stderr


def test_unknown_sec_types_are_charged_as_stocks() -> None:
    assert scheme_for(ContractSpec(symbol="SPX", sec_type="IND"), DEFAULT).kind == "stock"
