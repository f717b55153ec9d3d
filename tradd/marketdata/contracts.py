"""Contract definitions: what a data symbol is at IB, and when its market trades.

One file, ``<data dir>/contracts.toml``, read by the simulator (what it serves), the
worker (what it qualifies and when it expects bars) and research (calendars, costs),
so there is one description of each instrument, not three. A symbol without an
entry gets the default of its shape: six letters that are two currency codes are an
IDEALPRO forex pair, anything else a US stock on SMART::

    [IDXFUT]                      # the data symbol: <data dir>/IDXFUT.<bar>.csv
    sec_type = "FUT"
    ib_symbol = "ESTX50"
    exchange = "EUREX"
    currency = "EUR"
    local_symbol = "FESX MAR 06"
    trading_class = "FESX"
    last_trade_date = "20060317"
    multiplier = 10
    min_tick = 1.0
    time_zone = "MET"             # IB's zone id; any IANA name also works
    liquid_hours = "0900-2200"    # local time; close <= open means it opens the day before
    trading_hours = "0900-2200"
    days = "Mon-Fri"
    holidays = ["2006-04-14"]
    early_closes = { "2006-12-24" = "1400" }
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tradd.errors import ConfigError
from tradd.marketdata.calendar_names import CONTRACT, check_known

FILE_NAME = "contracts.toml"
CURRENCIES = frozenset({"USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "HKD", "SEK"})
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SecType = Literal["STK", "CASH", "FUT", "IND", "CFD", "CRYPTO"]
CRYPTO_BASES = frozenset({"BTC", "ETH", "LTC", "BCH"})


class ContractSpec(BaseModel):
    """One instrument as IB knows it, with its session template and holidays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(description="the data symbol (file name)")
    sec_type: SecType = "STK"
    ib_symbol: str = ""
    exchange: str = "SMART"
    primary_exchange: str = ""
    currency: str = "USD"
    local_symbol: str = ""
    trading_class: str = ""
    last_trade_date: str = ""
    multiplier: float = Field(default=1.0, gt=0)
    min_tick: float = Field(default=0.01, gt=0)
    time_zone: str = "US/Eastern"
    liquid_hours: str = "0930-1600"
    trading_hours: str = "0400-2000"
    days: str = "Mon-Fri"
    holidays: frozenset[date] = frozenset()
    early_closes: Mapping[date, str] = Field(default_factory=dict)
    long_name: str = ""
    calendar: str = Field(
        default="",
        description="research calendar: an exchange_calendars name (XNYS, XEUR, 24/5, 24/7) "
        "or 'contract' for these days and holidays; empty: the default of the sec type",
    )
    periods_per_year: float | None = Field(
        default=None,
        gt=0,
        description="annualisation factor of daily returns; default: the calendar's",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("liquid_hours", "trading_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_span(value)
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("early_closes")
    @classmethod
    def _early(cls, value: Mapping[date, str]) -> Mapping[date, str]:
        for day, hhmm in value.items():
            try:
                _hhmm(hhmm)
            except ValueError as exc:
                raise ValueError(f"early close {day}: {hhmm!r} is not HHMM, e.g. 1300") from exc
        return value

    @property
    def is_forex(self) -> bool:
        return self.sec_type == "CASH"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def liquid_span(self) -> tuple[time, time]:
        return parse_span(self.liquid_hours)

    @property
    def trading_span(self) -> tuple[time, time]:
        return parse_span(self.trading_hours)

    @property
    def weekdays(self) -> frozenset[int]:
        """Weekday numbers (Monday 0) on which a session ends."""
        return parse_days(self.days)

    def trades_on(self, day: date) -> bool:
        """Whether ``day`` (a session's closing date) is a trading day: a listed weekday,
        not a holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def trading_day(self, local: datetime) -> date:
        """The trading day a local moment belongs to: a session that opens in the evening
        (close at or before open) belongs to the next day, the day it closes on."""
        opens, closes = self.trading_span
        crosses = closes <= opens
        return (
            local.date() + timedelta(days=1) if crosses and local.time() >= opens else local.date()
        )

    def session(self, day: date, *, liquid: bool = True) -> tuple[datetime, datetime] | None:
        """The session closing on ``day`` as zone-aware datetimes (liquid or total hours);
        None on days the market does not trade. An early close cuts the close short."""
        return self.sessions([day], liquid=liquid)[0]

    def sessions(
        self, days: Iterable[date], *, liquid: bool = True
    ) -> list[tuple[datetime, datetime] | None]:
        """`session` of each of ``days``. The hours, days and zone are parsed once per
        call, not per day: a simulator start asks for thousands of days."""
        weekdays, holidays, zone = self.weekdays, self.holidays, self.zone
        opens, closes = self.liquid_span if liquid else self.trading_span
        crosses = closes <= opens
        out: list[tuple[datetime, datetime] | None] = []
        for day in days:
            if day.weekday() not in weekdays or day in holidays:
                out.append(None)
                continue
            open_day = day - timedelta(days=1) if crosses else day
            start = datetime.combine(open_day, opens, zone)
            end = datetime.combine(day, closes, zone)
            early = self.early_closes.get(day)
            if early is not None:
                end = min(end, datetime.combine(day, _hhmm(early), zone))
            out.append((start, end))
        return out


def parse_span(text: str) -> tuple[time, time]:
    """'0930-1600' to (09:30, 16:00); a close at or before the open crosses midnight."""
    try:
        a, b = text.strip().split("-")
        return _hhmm(a), _hhmm(b)
    except ValueError as exc:
        raise ValueError(f"hours {text!r}: expected HHMM-HHMM, e.g. 0930-1600") from exc


def _hhmm(text: str) -> time:
    text = text.strip()
    if len(text) != 4 or not text.isdigit():
        raise ValueError(text)
    hour, minute = int(text[:2]), int(text[2:])
    return time(0, 0) if (hour, minute) == (24, 0) else time(hour, minute)


def parse_days(text: str) -> frozenset[int]:
    """'Mon-Fri' or 'Sun-Thu' or 'Mon,Wed' to weekday numbers (Monday 0)."""
    out: set[int] = set()
    for part in text.split(","):
        ends = [p.strip().title() for p in part.split("-")]
        if any(e not in WEEKDAYS for e in ends) or len(ends) > 2:
            raise ValueError(f"days {text!r}: use Mon..Sun, e.g. Mon-Fri")
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        out.update(i % 7 for i in range(first, first + (last - first) % 7 + 1))
    return frozenset(out)


def default_spec(symbol: str) -> ContractSpec:
    """The definition of a symbol nobody described: a forex pair, a crypto pair on PAXOS
    (BTCUSD) or a US stock."""
    base, quote = symbol[:3], symbol[3:].lstrip("-.")
    if base in CRYPTO_BASES and quote == "USD":
        return ContractSpec(
            symbol=symbol, sec_type="CRYPTO", ib_symbol=base, exchange="PAXOS", currency="USD",
            local_symbol=f"{base}.USD", trading_class=base, min_tick=0.25, time_zone="UTC",
            liquid_hours="0000-0000", trading_hours="0000-0000", days="Mon-Sun",
            long_name=f"{base} {quote}",
        )  # fmt: skip
    if len(symbol) == 6 and base in CURRENCIES and quote in CURRENCIES:
        return ContractSpec(
            symbol=symbol, sec_type="CASH", ib_symbol=base, exchange="IDEALPRO",
            currency=quote, local_symbol=f"{base}.{quote}", trading_class=f"{base}.{quote}",
            min_tick=0.00005, time_zone="US/Eastern", liquid_hours="1715-1700",
            trading_hours="1715-1700", days="Mon-Fri", long_name=f"{base} {quote}",
        )  # fmt: skip
    return ContractSpec(
        symbol=symbol, ib_symbol=symbol, primary_exchange="NASDAQ", local_symbol=symbol,
        trading_class="NMS", long_name=f"{symbol} (simulated)",
    )  # fmt: skip


class ContractDefinitions:
    """Every definition of a data directory, with defaults for symbols not listed."""

    def __init__(self, specs: Mapping[str, ContractSpec], source: Path | None = None) -> None:
        self._specs = dict(specs)
        self.source = source

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._specs

    def spec(self, symbol: str) -> ContractSpec:
        return self._specs.get(symbol) or default_spec(symbol)

    def symbols(self) -> list[str]:
        return sorted(self._specs)


def load_definitions(data_dir: Path) -> ContractDefinitions:
    """Read ``<data_dir>/contracts.toml`` (absent: defaults only); errors name the field."""
    path = data_dir / FILE_NAME
    if not path.is_file():
        return ContractDefinitions({}, None)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    specs: dict[str, ContractSpec] = {}
    problems: list[str] = []
    for symbol, table in raw.items():
        if not isinstance(table, dict):
            problems.append(f"{path}: [{symbol}] must be a table of fields")
            continue
        try:
            specs[symbol.upper()] = ContractSpec(symbol=symbol.upper(), **_with_defaults(table))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"])
                problems.append(f"{path}: {symbol}.{field}: {err['msg']} (got {err['input']!r})")
    problems += _calendar_problems(path, specs)
    if problems:
        raise ConfigError(f"{path}: invalid contract definitions", problems)
    return ContractDefinitions(specs, path)


def _calendar_problems(path: Path, specs: Mapping[str, ContractSpec]) -> list[str]:
    """Unknown calendar names, found when the file is read (`tradd config check`), not
    at the first research run."""
    problems = []
    for spec in specs.values():
        if spec.calendar in ("", CONTRACT):
            continue  # the default of the sec type, or the definition's own days
        try:
            check_known(spec.calendar, spec.symbol)
        except ConfigError as exc:
            problems.append(f"{path}: {exc}")
    return problems


def _with_defaults(table: dict[str, object]) -> dict[str, object]:
    """Forex and futures fill IB's usual exchange when the entry leaves it out."""
    out = dict(table)
    if out.get("sec_type") == "CASH":
        out.setdefault("exchange", "IDEALPRO")
    return out
