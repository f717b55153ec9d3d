"""Which recorded bars the replay reads, and which of them live was offline for.

Bars are read per session; a restarted worker reads some again (its warm-up covers what
the previous session saw live). Each (symbol, start) is kept once, as first read, and
counts as live if any session read it live. Bars before the period, and history read
before the first live bar, are warm-up: indicators only. History read after the first
live bar is a gap the worker filled after an outage: live could not trade on it, the
replay does, and those bars are the time offline. So is a hole in the bars within one
exchange day (bars never read at all: the worker was down and the gap exceeded what it
fetches back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tradd.ib.types import Bar
from tradd.persistence.live_bars import LiveBar
from tradd.research.drift.replay import ReplayBar


@dataclass(frozen=True)
class SelectedBars:
    replay: dict[str, list[ReplayBar]]
    in_period: list[LiveBar]
    """The period's bars, live or gap-filled, as read (for timing and matching)."""
    offline: frozenset[tuple[str, datetime]]
    offline_periods: list[dict[str, object]]
    live_count: int
    warmup_count: int


def select(
    bars: Sequence[LiveBar], start: datetime, keep: int, zones: Mapping[str, str]
) -> SelectedBars:
    unique: dict[tuple[str, datetime], LiveBar] = {}
    live_keys: set[tuple[str, datetime]] = set()
    for bar in bars:
        key = (bar.symbol, bar.start)
        unique.setdefault(key, bar)
        if not bar.historical:
            live_keys.add(key)
    first_live = min((s for _, s in live_keys if s >= start), default=None)
    by_symbol: dict[str, list[LiveBar]] = {}
    for key in sorted(unique, key=lambda k: (k[0], k[1])):
        by_symbol.setdefault(key[0], []).append(unique[key])
    replay: dict[str, list[ReplayBar]] = {}
    offline: set[tuple[str, datetime]] = set()
    in_period: list[LiveBar] = []
    warmup_count = 0
    for symbol, series in by_symbol.items():
        items = []
        for bar in series:
            before_live = first_live is None or bar.start < first_live
            warm = bar.start < start or ((symbol, bar.start) not in live_keys and before_live)
            if not warm:
                in_period.append(bar)
                if (symbol, bar.start) not in live_keys:
                    offline.add((symbol, bar.start))
            items.append((bar, warm))
        warm_items = [i for i in items if i[1]][-keep:]
        warmup_count += len(warm_items)
        traded = [i for i in items if not i[1]]
        replay[symbol] = [ReplayBar(_bar(b), w) for b, w in warm_items + traded]
    periods = _periods(in_period, offline, zones)
    live_count = sum(1 for b in in_period if (b.symbol, b.start) in live_keys)
    return SelectedBars(replay, in_period, frozenset(offline), periods, live_count, warmup_count)


def _bar(bar: LiveBar) -> Bar:
    return Bar(bar.symbol, bar.start, bar.bar_seconds, bar.open, bar.high, bar.low, bar.close,
               bar.volume)  # fmt: skip


def _periods(
    bars: Sequence[LiveBar],
    offline: frozenset[tuple[str, datetime]] | set[tuple[str, datetime]],
    zones: Mapping[str, str],
) -> list[dict[str, object]]:
    """Runs of gap-filled bars, and holes within an exchange day, per symbol."""
    out: list[dict[str, object]] = []
    series: dict[str, list[LiveBar]] = {}
    for bar in sorted(bars, key=lambda b: (b.symbol, b.start)):
        series.setdefault(bar.symbol, []).append(bar)
    for symbol, rows in series.items():
        zone = ZoneInfo(zones.get(symbol, "US/Eastern"))
        run: list[LiveBar] = []
        for previous, bar in zip([None, *rows], rows, strict=False):
            if previous is not None:
                step = timedelta(seconds=bar.bar_seconds)
                day = previous.start.astimezone(zone).date()
                if day == bar.start.astimezone(zone).date() and bar.start - previous.start > step:
                    missing = int((bar.start - previous.start) / step) - 1
                    hole = _period(symbol, previous.start + step, bar.start, missing, "not read")
                    out.append(hole)
            if (symbol, bar.start) in offline:
                run.append(bar)
                continue
            if run:
                out.append(_period(symbol, run[0].start, bar.start, len(run), "read as history"))
                run = []
        if run:
            end = run[-1].start + timedelta(seconds=run[-1].bar_seconds)
            out.append(_period(symbol, run[0].start, end, len(run), "read as history"))
    return sorted(out, key=lambda p: (str(p["from"]), str(p["symbol"])))


def _period(symbol: str, start: datetime, end: datetime, bars: int, how: str) -> dict[str, object]:
    return {"symbol": symbol, "from": start.isoformat(), "to": end.isoformat(), "bars": bars,
            "seconds": (end - start).total_seconds(), "how": how}  # fmt: skip
