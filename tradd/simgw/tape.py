"""The replayed tape of one instrument: source bars expanded into a price path.

Every source bar (1m, 5m or 1d from the data directory) is expanded into one
price per second that starts at the bar's open, touches its high and low, and
ends at its close. The path is a seeded Brownian bridge between those anchors,
so the same data and seed always give the same path. Five-second buckets of
the path are what the simulator streams (real-time bars, ticks) and matches
orders against, and they aggregate back exactly to the source bar.

Daily bars are expanded over the liquid session of the instrument's contract
definition (09:30-16:00 US/Eastern for a US stock, 09:00-22:00 MET for the
Eurex future; a session may open the evening before). Those intraday paths are
synthetic: they respect the day's OHLC and volume, nothing more. Intraday bars
are read in the definition's time zone. Bars dated on days the definition does
not trade (weekends, holidays) are left out, so the tape never trades while the
contract details say the market is closed.
"""

from __future__ import annotations

import itertools
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
import structlog

from tradd.marketdata.bars import BAR_SECONDS, Bars
from tradd.marketdata.contracts import ContractSpec
from tradd.simgw.contracts import Instrument

log = structlog.get_logger("tradd.simgw")
BUCKET = 5
_CACHE_BARS = 8

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Buckets:
    """Five-second bars of one source bar; ``start`` is epoch seconds of the first."""

    start: int
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: IntArray

    def __len__(self) -> int:
        return len(self.open)


@dataclass(frozen=True)
class Quote:
    """The market at a moment: the last trade of a bucket and a one-tick spread around it."""

    bucket_start: int
    open: float
    high: float
    low: float
    last: float
    volume: int
    bid: float
    ask: float


class Tape:
    """Deterministic per-second replay of one instrument's bars."""

    def __init__(self, instrument: Instrument, bars: Bars, seed: int) -> None:
        self.instrument = instrument
        self.bars = trading_days_only(bars, instrument.definition)
        self.seed = seed
        self.starts, self.ends = _windows(self.bars, instrument.definition)
        self.days = _local_days(self.starts, instrument.definition)
        self._cache: OrderedDict[int, Buckets] = OrderedDict()
        self._start_list: list[int] = self.starts.tolist()  # plain ints: cheap to index
        self._end_list: list[int] = self.ends.tolist()
        self._near = 0  # the bar the last lookup found (or the one before a gap)

    @property
    def first_time(self) -> int:
        return int(self.starts[0])

    @property
    def last_time(self) -> int:
        return int(self.ends[-1])

    def bar_index(self, t: int) -> int | None:
        """Index of the source bar whose window holds time ``t``, or None when closed.

        The replay asks for every bucket in order, several times per bucket, so the bar
        found last (or the next one) is tried before a binary search: the index is the
        last bar starting at or before ``t`` either way.
        """
        starts = self._start_list
        i = self._near
        n = len(starts)
        if not (i < n and starts[i] <= t and (i + 1 == n or t < starts[i + 1])):
            i += 1
            if not (i < n and starts[i] <= t and (i + 1 == n or t < starts[i + 1])):
                i = int(np.searchsorted(self.starts, t, side="right")) - 1
                if i < 0:
                    return None
            self._near = i
        if t >= self._end_list[i]:
            return None
        return i

    def same_session(self, a: int, b: int) -> bool:
        """Whether two moments fall in bars of the same exchange-local trading day."""
        i, j = self.bar_index(a), self.bar_index(b)
        return i is not None and j is not None and self.days[i] == self.days[j]

    def session_end(self, t: int) -> int | None:
        """End of the exchange-local trading day in progress at ``t`` (or the next one)."""
        i = int(np.searchsorted(self.ends, t, side="right"))
        if i >= len(self.starts):
            return None
        last = int(np.searchsorted(self.days, self.days[i], side="right")) - 1
        return int(self.ends[last])

    def next_open(self, t: int) -> int | None:
        """The first bar start at or after ``t``."""
        i = int(np.searchsorted(self.starts, t, side="left"))
        return int(self.starts[i]) if i < len(self.starts) else None

    def buckets(self, i: int) -> Buckets:
        """The five-second bars of source bar ``i`` (cached: replay walks forward)."""
        cached = self._cache.get(i)
        if cached is not None:
            self._cache.move_to_end(i)
            return cached
        made = self._expand(i)
        self._cache[i] = made
        if len(self._cache) > _CACHE_BARS:
            self._cache.popitem(last=False)
        return made

    def quote(self, bucket_start: int) -> Quote | None:
        """The bucket [bucket_start, bucket_start + 5) if the market is open then."""
        i = self.bar_index(bucket_start)
        if i is None:
            return None
        b = self.buckets(i)
        k = (bucket_start - b.start) // BUCKET
        if not 0 <= k < len(b):
            return None
        last = float(b.close[k])
        tick = self.instrument.min_tick
        return Quote(
            bucket_start,
            float(b.open[k]),
            float(b.high[k]),
            float(b.low[k]),
            last,
            int(b.volume[k]),
            round(last - tick, 10),
            round(last + tick, 10),
        )

    def last_quote_before(self, t: int) -> Quote | None:
        """The latest completed bucket before ``t`` (the price a closed market marks at)."""
        i = int(np.searchsorted(self.starts, t, side="right")) - 1
        if i < 0:
            return None
        end = min(int(self.ends[i]), t - (t - int(self.starts[i])) % BUCKET)
        if end <= int(self.starts[i]):
            i -= 1
            if i < 0:
                return None
            end = int(self.ends[i])
        return self.quote(end - BUCKET)

    def _expand(self, i: int) -> Buckets:
        path, volume = self._draw(i)
        path = path.reshape(-1, BUCKET)
        start = int(self.starts[i])
        return Buckets(start, path[:, 0], path.max(axis=1), path.min(axis=1), path[:, -1], volume)

    def seconds(self, i: int) -> tuple[FloatArray, IntArray]:
        """Price and volume of every second of source bar ``i`` (1-second history bars).

        The same path the buckets are cut from; each bucket's volume is spread over its
        five seconds by a stream of its own, so the seconds add up to the buckets exactly.
        """
        path, volume = self._draw(i)
        rng = np.random.default_rng([self.seed, zlib.crc32(self.bars.symbol.encode()), i, 1])
        return path, split_rows(volume, BUCKET, rng)

    def _draw(self, i: int) -> tuple[FloatArray, IntArray]:
        """The per-second path of source bar ``i`` and its bucket volumes (seeded)."""
        n_sec = int(self.ends[i]) - int(self.starts[i])
        rng = np.random.default_rng([self.seed, zlib.crc32(self.bars.symbol.encode()), i])
        path = price_path(
            float(self.bars.open[i]),
            float(self.bars.high[i]),
            float(self.bars.low[i]),
            float(self.bars.close[i]),
            n_sec,
            self.instrument.min_tick,
            rng,
        )
        volume = split_volume(round(float(self.bars.volume[i])), n_sec // BUCKET, rng)
        return path, volume


def price_path(
    o: float, h: float, lo: float, c: float, n: int, tick: float, rng: np.random.Generator
) -> FloatArray:
    """``n`` prices: first ``o``, last ``c``, maximum ``h``, minimum ``lo``, exactly."""
    if n < 4 or h <= lo:
        path = np.full(n, c, dtype=np.float64)
        path[0] = o
        return np.clip(path, lo, h)
    t_high, t_low = (int(x) for x in rng.choice(np.arange(1, n - 1), size=2, replace=False))
    anchors = sorted([(0, o), (t_high, h), (t_low, lo), (n - 1, c)])
    path = np.empty(n, dtype=np.float64)
    for (t0, p0), (t1, p1) in itertools.pairwise(anchors):
        span = t1 - t0
        steps = np.cumsum(rng.standard_normal(span))
        bridge = steps - np.arange(1, span + 1) / span * steps[-1]
        scale = (h - lo) * 0.5 / max(np.sqrt(n), 1.0)
        segment = p0 + (p1 - p0) * np.arange(1, span + 1) / span + bridge * scale
        path[t0 + 1 : t1 + 1] = segment
    path = np.round(np.round(path / tick) * tick, 8)
    path = np.clip(path, lo, h)
    for t, p in anchors:
        path[t] = p
    return path


def split_volume(total: int, parts: int, rng: np.random.Generator) -> IntArray:
    """Integers summing to ``total``, spread unevenly over ``parts`` buckets."""
    weights = rng.gamma(2.0, size=parts)
    raw = weights / weights.sum() * max(total, 0)
    shares = np.floor(raw).astype(np.int64)
    remainder = int(max(total, 0) - shares.sum())
    if remainder:
        shares[np.argsort(raw - shares)[-remainder:]] += 1
    return np.asarray(shares, dtype=np.int64)


def split_rows(totals: IntArray, parts: int, rng: np.random.Generator) -> IntArray:
    """Each of ``totals`` spread over ``parts`` integers that sum back to it exactly."""
    weights = rng.gamma(2.0, size=(len(totals), parts))
    raw = weights / weights.sum(axis=1, keepdims=True) * np.maximum(totals, 0)[:, None]
    shares = np.floor(raw).astype(np.int64)
    remainder = np.maximum(totals, 0) - shares.sum(axis=1)
    rank = np.argsort(np.argsort(shares - raw, axis=1), axis=1)  # 0 = largest fraction
    shares += rank < remainder[:, None]
    return np.asarray(shares.reshape(-1), dtype=np.int64)


def trading_days_only(bars: Bars, spec: ContractSpec) -> Bars:
    """The bars of days the definition trades; the others are logged and left out."""
    days = session_days(bars.time, spec)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    holidays = np.array(sorted(spec.holidays), dtype="datetime64[D]")
    keep = np.isin(weekday, sorted(spec.weekdays)) & ~np.isin(days, holidays)
    if keep.all():
        return bars
    dropped = sorted({str(d) for d in days[~keep]})
    log.warning("simgw.bars_on_closed_days", symbol=bars.symbol, bars=int((~keep).sum()),
                days=dropped[:10], hint="contracts.toml: the market is shut then")  # fmt: skip
    return bars.take(keep)


def session_days(
    local: npt.NDArray[np.datetime64], spec: ContractSpec
) -> npt.NDArray[np.datetime64]:
    """Trading day (closing date) of naive local times: evening opens count to the next day."""
    days = local.astype("datetime64[D]")
    opens, closes = spec.trading_span
    if closes <= opens:
        tod = (local.astype("datetime64[s]") - days).astype(np.int64)
        days = days + (tod >= opens.hour * 3600 + opens.minute * 60).astype("timedelta64[D]")
    return days


def _windows(bars: Bars, spec: ContractSpec) -> tuple[IntArray, IntArray]:
    """Epoch-second [start, end) of every source bar, in the definition's time zone."""
    stamps = pd.DatetimeIndex(bars.time)
    if bars.intraday:
        local = stamps.tz_localize(
            spec.time_zone, ambiguous=np.zeros(len(stamps), dtype=bool),
            nonexistent="shift_forward",
        )  # fmt: skip
        first = local.as_unit("s").asi8
        return first.astype(np.int64), (first + BAR_SECONDS[bars.bar]).astype(np.int64)
    starts: list[int] = []
    ends: list[int] = []
    days: list[date] = bars.time.astype("datetime64[D]").tolist()
    for window in spec.sessions(days, liquid=True):
        assert window is not None  # trading_days_only kept only trading days
        starts.append(int(window[0].timestamp()))
        ends.append(int(window[1].timestamp()))
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _local_days(starts: IntArray, spec: ContractSpec) -> IntArray:
    """Trading day number of each bar start: its local date, or the next one for a bar in a
    session that opened the evening before (sessions may cross midnight, local or UTC)."""
    local = pd.DatetimeIndex(starts.astype("datetime64[s]")).tz_localize("UTC")
    naive = local.tz_convert(spec.time_zone).tz_localize(None).to_numpy()
    return np.asarray(session_days(naive, spec).astype(np.int64), dtype=np.int64)
