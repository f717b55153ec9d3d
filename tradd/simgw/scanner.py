"""Market scanners over the simulator's instruments: the scan codes, their ranking, the XML.

TWS runs scans server-side over the whole market; the simulator runs them over
the instruments it replays, from the same tape that streams quotes, so a scan
and the tickers it names agree. Three scan codes are served (the ones a
rehearsal needs to pick symbols); any other code is refused as TWS refuses a
scan type it does not offer (error 162 on the subscription's id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tradd.simgw.contracts import Instrument
from tradd.simgw.tape import BUCKET, Tape

SCAN_CODES: dict[str, str] = {
    "TOP_PERC_GAIN": "Top % Gainers",
    "TOP_PERC_LOSE": "Top % Losers",
    "MOST_ACTIVE": "Most Active",
}
INSTRUMENT = "STK"
LOCATIONS = ("STK.US", "STK.US.MAJOR")
MAX_ROWS = 50


@dataclass(frozen=True)
class DayStats:
    """Where an instrument stands in its latest session: last price, change, volume."""

    inst: Instrument
    last: float
    previous_close: float
    volume: int

    @property
    def change(self) -> float:
        if not self.previous_close:
            return 0.0
        return (self.last - self.previous_close) / self.previous_close


@dataclass(frozen=True)
class ScanRequest:
    """The parts of a scanner subscription the simulator honours."""

    rows: int
    instrument: str
    location: str
    code: str
    above_price: float | None
    below_price: float | None
    above_volume: int | None


def day_stats(tape: Tape, now: int, mark: float) -> DayStats | None:
    """Last price (the mark), the previous session's close and this session's volume so far."""
    i = int(np.searchsorted(tape.starts, now, side="right")) - 1
    if i < 0:
        return None
    first = int(np.searchsorted(tape.days, tape.days[i], side="left"))
    bars = tape.bars
    previous = float(bars.close[first - 1]) if first > 0 else float(bars.open[first])
    volume = int(bars.volume[first:i].sum())
    if now >= int(tape.ends[i]):
        volume += int(bars.volume[i])
    else:  # the bar in progress: its five-second buckets up to now
        buckets = tape.buckets(i)
        volume += int(buckets.volume[: (now - buckets.start) // BUCKET].sum())
    return DayStats(tape.instrument, mark, previous, volume)


def refusal(scan: ScanRequest) -> str | None:
    """Why TWS would refuse this scan (text of error 162), or None."""
    if scan.code not in SCAN_CODES:
        return (
            "Historical Market Data Service error message:Scanner type with code "
            f"{scan.code} is disabled"
        )
    if scan.instrument != INSTRUMENT or scan.location not in LOCATIONS:
        return (
            "Historical Market Data Service error message:Scanner instrument/location "
            f"{scan.instrument}/{scan.location} is not available"
        )
    return None


def rank(scan: ScanRequest, stats: list[DayStats]) -> list[Instrument]:
    """Filter by price and volume, order by the scan code, cut to the rows asked for."""
    kept = [s for s in stats if _passes(scan, s)]
    key: Callable[[DayStats], float] = {
        "TOP_PERC_GAIN": lambda s: -s.change,
        "TOP_PERC_LOSE": lambda s: s.change,
        "MOST_ACTIVE": lambda s: -float(s.volume),
    }[scan.code]
    if scan.code == "TOP_PERC_GAIN":
        kept = [s for s in kept if s.change > 0]
    elif scan.code == "TOP_PERC_LOSE":
        kept = [s for s in kept if s.change < 0]
    kept.sort(key=lambda s: (key(s), s.inst.symbol))
    limit = scan.rows if 0 < scan.rows <= MAX_ROWS else MAX_ROWS
    return [s.inst for s in kept[:limit]]


def _passes(scan: ScanRequest, s: DayStats) -> bool:
    return (
        s.inst.sec_type == INSTRUMENT
        and (scan.above_price is None or s.last > scan.above_price)
        and (scan.below_price is None or s.last < scan.below_price)
        and (scan.above_volume is None or s.volume > scan.above_volume)
    )


def parameters_xml() -> str:
    """reqScannerParameters: IB's ScanParameterResponse layout, listing only what is served."""
    scan_types = "".join(
        f"<ScanType><vendor/><displayName>{name}</displayName><scanCode>{code}</scanCode>"
        f"<instruments>{INSTRUMENT}</instruments><absoluteColumns>false</absoluteColumns>"
        f"<Columns/><MobileColumns/><supportsSorting>true</supportsSorting>"
        f"<respSizeLimit>{MAX_ROWS}</respSizeLimit><snapshotSizeLimit>{MAX_ROWS}"
        f"</snapshotSizeLimit><searchDefault>false</searchDefault>"
        f"<access>unrestricted</access></ScanType>"
        for code, name in SCAN_CODES.items()
    )
    filters = "".join(
        f"<SimpleFilter><id>{fid}</id><category>{cat}</category><access>unrestricted</access>"
        f"<AbstractField type=\"{ftype}\"><code>{code}</code><displayName>{name}</displayName>"
        f"<varName>{code}</varName><abbrev>{name}</abbrev><dontAllowClearAll>false"
        f"</dontAllowClearAll></AbstractField></SimpleFilter>"
        for fid, cat, ftype, code, name in (
            ("PRICE", "Price", "scanner.filter.DoubleField", "abovePrice", "Price Above"),
            ("PRICE", "Price", "scanner.filter.DoubleField", "belowPrice", "Price Below"),
            ("VOLUME", "High/Low/Volume", "scanner.filter.IntField", "aboveVolume",
             "Volume Above"),
        )
    )  # fmt: skip
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ScanParameterResponse>'
        '<InstrumentList varName="fullInstrumentList"><Instrument><name>US Stocks</name>'
        f"<type>{INSTRUMENT}</type><secType>STK</secType><filters>PRICE,VOLUME</filters>"
        "<group>STK.GLOBAL</group><shortName>US</shortName></Instrument></InstrumentList>"
        "<LocationTree><Location><displayName>US Stocks</displayName><raw>STK.US</raw>"
        f"<locationCode>{LOCATIONS[0]}</locationCode><instruments>{INSTRUMENT}</instruments>"
        "<routeExchange>SMART</routeExchange><LocationTree><Location>"
        "<displayName>Listed/NASDAQ</displayName>"
        f"<locationCode>{LOCATIONS[1]}</locationCode><instruments>{INSTRUMENT}</instruments>"
        "<routeExchange>SMART</routeExchange></Location></LocationTree></Location>"
        f"</LocationTree><ScanTypeList>{scan_types}</ScanTypeList>"
        f"<FilterList>{filters}</FilterList></ScanParameterResponse>"
    )
