"""Contract definitions (``<data dir>/contracts.toml``): loading, defaults, errors that
name the file, symbol, field and value, and the sessions a definition describes."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import SAMPLE_DATA
from tradd.errors import ConfigError
from tradd.marketdata.contracts import ContractSpec, default_spec, load_definitions

MET = ZoneInfo("MET")


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "contracts.toml").write_text(text)
    return tmp_path


def test_the_shipped_future_is_a_eurex_contract_in_met() -> None:
    spec = load_definitions(SAMPLE_DATA).spec("IDXFUT")
    assert (spec.sec_type, spec.ib_symbol, spec.exchange, spec.currency) == (
        "FUT", "ESTX50", "EUREX", "EUR",
    )  # fmt: skip
    assert (spec.multiplier, spec.min_tick, spec.time_zone) == (10, 1.0, "MET")
    assert spec.session(date(2006, 1, 10)) == (
        datetime(2006, 1, 10, 9, tzinfo=MET), datetime(2006, 1, 10, 22, tzinfo=MET),
    )  # fmt: skip
    assert spec.session(date(2006, 4, 14)) is None  # Good Friday, a listed holiday


def test_no_file_means_defaults_by_shape(tmp_path: Path) -> None:
    defs = load_definitions(tmp_path)
    assert defs.source is None and defs.symbols() == []
    stock, fx = defs.spec("GOOG"), defs.spec("EURUSD")
    assert (stock.sec_type, stock.exchange, stock.time_zone) == ("STK", "SMART", "US/Eastern")
    assert (fx.sec_type, fx.ib_symbol, fx.currency, fx.exchange) == (
        "CASH",
        "EUR",
        "USD",
        "IDEALPRO",
    )
    assert defs.spec("EURXYZ").sec_type == "STK"  # not two currency codes
    assert "GOOG" not in defs


def test_entries_fill_ib_defaults_and_upper_case_symbols(tmp_path: Path) -> None:
    defs = load_definitions(write(tmp_path, '[gbpjpy]\nsec_type = "CASH"\nib_symbol = "GBP"\n'
                                            'currency = "JPY"\nmin_tick = 0.005\n'))  # fmt: skip
    spec = defs.spec("GBPJPY")
    assert spec.exchange == "IDEALPRO" and spec.min_tick == 0.005 and "GBPJPY" in defs


@pytest.mark.parametrize(
    ("entry", "field", "value"),
    [
        ('time_zone = "Mars/Olympus"', "time_zone", "'Mars/Olympus'"),
        ('liquid_hours = "9:30-16"', "liquid_hours", "'9:30-16'"),
        ('days = "Mon-Funday"', "days", "'Mon-Funday'"),
        ("multiplier = 0", "multiplier", "0"),
        ('sec_type = "OPT"', "sec_type", "'OPT'"),
        ('colour = "red"', "colour", "'red'"),
        ("holidays = [2006-13-01]", None, None),  # not valid TOML at all
        ('early_closes = { 2006-12-24 = "14h" }', "early_closes", "'14h'"),
    ],
)
def test_errors_name_file_symbol_field_and_value(
    tmp_path: Path, entry: str, field: str | None, value: str | None
) -> None:
    path = write(tmp_path, f'[ESX]\nexchange = "EUREX"\n{entry}\n')
    with pytest.raises(ConfigError) as caught:
        load_definitions(path)
    text = " ".join([str(caught.value), *caught.value.problems])
    assert str(tmp_path / "contracts.toml") in text
    if field is not None:
        assert f"ESX.{field}" in text and str(value) in text


def test_a_non_table_entry_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_definitions(write(tmp_path, 'IDXFUT = "FUT"\n'))
    assert any("[IDXFUT] must be a table" in p for p in caught.value.problems)


def test_sessions_crossing_midnight_belong_to_the_day_they_close() -> None:
    fx = default_spec("EURUSD")
    evening = datetime(2006, 1, 9, 18, 0, tzinfo=ZoneInfo("US/Eastern"))
    assert fx.trading_day(evening) == date(2006, 1, 10)
    assert fx.trading_day(evening.replace(hour=16)) == date(2006, 1, 9)
    start, end = fx.session(date(2006, 1, 10), liquid=False) or (None, None)
    assert start is not None and end is not None
    assert (start.date(), start.time(), end.date(), end.time()) == (
        date(2006, 1, 9), time(17, 15), date(2006, 1, 10), time(17),
    )  # fmt: skip
    assert fx.session(date(2006, 1, 14)) is None and fx.session(date(2006, 1, 15)) is None


def test_early_close_and_custom_days() -> None:
    spec = ContractSpec(symbol="X", days="Sun-Thu", early_closes={date(2006, 1, 10): "1300"})
    assert spec.session(date(2006, 1, 13)) is None  # Friday: not a trading day here
    assert spec.session(date(2006, 1, 8)) is not None  # Sunday is
    window = spec.session(date(2006, 1, 10))
    assert window is not None and window[1].time() == time(13)
    assert spec.session(date(2006, 1, 10), liquid=False) is not None
