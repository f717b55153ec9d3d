"""Warm-up: bars before --start that a run feeds so its indicators are warm on its first
measured bar (docs/research-warmup.md).

A 200-bar SMA needs 199 bars before the bar it first has a value on. Started cold at
--start, a run is flat for 199 bars while the average fills; warmed, it feeds the 199
bars before --start, refuses every order created before it (`RecordingBroker`'s
`trade_from`, as walk-forward does for its OOS windows) and measures only from the first
bar at or after --start, starting from the initial cash. For indicators over a fixed
window (SMA, highest/lowest) the result equals a run over all the data measured from the
same day; for recursive ones (EMA, RSI's smoothing) it differs slightly, as they depend
on all the history.

The need comes from Backtrader itself: the strategy's `_minperiod` (its longest
indicator's period) read from a run over one bar per symbol, once per parameter set (a
backtest) or once per run with the space's largest values (an optimization).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

import backtrader as bt
import numpy as np
import numpy.typing as npt

from tradd.errors import DataError, UsageError
from tradd.marketdata.bars import Bars, TimeArray
from tradd.research.feed import make_feed
from tradd.research.params import ParamRange
from tradd.research.run_settings import WarmupInfo
from tradd.research.setup import LoadedInputs
from tradd.strategy_loader import full_params, invalid_reason

AUTO = "auto"
MAX_CORNERS = 64
"""Parameter sets probed for an optimization's need (each numeric range's ends)."""


def parse_warmup(text: str | None) -> int | None:
    """`--warmup`: "auto" (None: the strategy's need) or a number of bars >= 0."""
    if text is None or text.strip().lower() == AUTO:
        return None
    try:
        bars = int(text)
    except ValueError:
        raise UsageError(f"--warmup {text!r}: give a number of bars or 'auto'") from None
    if bars < 0:
        raise UsageError(f"--warmup {bars}: must not be negative")
    return bars


def min_period(strategy: type[bt.Strategy], bars: Sequence[Bars], params: Mapping[str, Any]) -> int:
    """Bars the strategy needs before its first `next`: Backtrader's `_minperiod`.

    Built by a run over no bars (each symbol's feed empty): the strategy and its
    indicators are constructed, nothing is computed and `next` is never called; a few
    milliseconds. UsageError when the strategy refuses `params` (StrategySkipError)."""
    cerebro = bt.Cerebro(stdstats=False, runonce=False, optreturn=False)
    for b in bars:
        cerebro.adddata(make_feed(b.take(slice(0, 0))))
    cerebro.addstrategy(strategy, **dict(params))
    built = cerebro.run()
    if not built:
        raise UsageError(f"{strategy.__name__} refused the parameters {dict(params)}")
    return int(built[0]._minperiod)


def needed_bars(
    strategy: type[bt.Strategy], bars: Sequence[Bars], params: Mapping[str, Any]
) -> int:
    """Warm-up bars a run with `params` needs: one fewer than its minimum period (the
    minimum period's last bar is the first measured one)."""
    return max(0, min_period(strategy, bars, params) - 1)


def needed_for_space(
    strategy: type[bt.Strategy], bars: Sequence[Bars], space: Sequence[ParamRange]
) -> int:
    """The most warm-up any parameter set of an optimization needs, probed once per run.

    Indicator periods grow with their parameters, so the largest need is at the ends of
    the numeric ranges: every valid combination of each numeric range's (or list's) least
    and greatest value and every other choice, at most `MAX_CORNERS` of them. A set the
    strategy refuses or fails on is left out (its trial reports it); when all are, the
    defaults' need is used, and 0 when the strategy fails on those too."""
    found = [n for p in _corners(strategy, space) if (n := _probe(strategy, bars, p)) is not None]
    if not found:
        found = [n for n in [_probe(strategy, bars, full_params(strategy, {}))] if n is not None]
    return max(found, default=0)


def _probe(strategy: type[bt.Strategy], bars: Sequence[Bars], params: dict[str, Any]) -> int | None:
    try:
        return needed_bars(strategy, bars, params)
    except Exception:  # a strategy's bug: the trials with these params will say so
        return None


def _ends(r: ParamRange) -> tuple[Any, ...]:
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in r.values)
    return (min(r.values), max(r.values)) if numeric else r.values


def _corners(strategy: type[bt.Strategy], space: Sequence[ParamRange]) -> Iterator[dict[str, Any]]:
    ends = [(r.name, _ends(r)) for r in space]
    names = [name for name, _ in ends]
    combos = itertools.product(*(dict.fromkeys(values) for _, values in ends))
    for values in itertools.islice(combos, MAX_CORNERS):
        params = full_params(strategy, dict(zip(names, values, strict=True)))
        if not invalid_reason(strategy, params):
            yield params


@dataclass(frozen=True)
class Warmed:
    """A run's feed with its warm-up, and where its measured period starts."""

    bars: list[Bars]
    """What the engine runs on: warm-up bars, then the measured ones."""
    trade_from: datetime | None
    """Orders before this are refused and figures start here (None: no warm-up fed)."""
    info: WarmupInfo


def warm(history: Sequence[Bars], start: date | None, requested: int, needed: int) -> Warmed:
    """Each symbol's `requested` bars before `start` (as many as there are), then the rest.

    `history`: each symbol's bars up to the run's end, from as early as the data goes,
    with at least one bar from `start` on. `info.used` is the least any symbol got;
    `enough` compares it with `needed`, whatever was requested."""
    if start is None:
        first = min(b.time[0] for b in history)
        info = WarmupInfo(requested, 0, needed == 0, _iso(first), needed)
        return Warmed(list(history), None, info)
    cut = np.datetime64(datetime.combine(start, time()), "s")
    fed, used, firsts = [], [], []
    for b in history:
        begin = int(np.searchsorted(b.time, cut))
        if begin == len(b):
            raise DataError(
                f"{b.symbol}: no bars from {start} on to measure (last {b.last:%Y-%m-%d})"
            )
        lo = max(0, begin - requested)
        fed.append(b.take(slice(lo, None)))
        used.append(begin - lo)
        firsts.append(b.time[begin])
    least = min(used)
    info = WarmupInfo(requested, least, least >= needed, _iso(min(firsts)), needed)
    trade_from = datetime.combine(start, time()) if max(used) > 0 else None
    return Warmed(fed, trade_from, info)


def measured_from(clock: TimeArray, trade_from: datetime | None) -> int:
    """Index of the first measured bar on a run's clock."""
    if trade_from is None:
        return 0
    return int(np.searchsorted(clock, np.datetime64(trade_from, "s")))


def measured(
    clock: TimeArray, equity: npt.NDArray[np.float64], trade_from: datetime | None
) -> tuple[TimeArray, npt.NDArray[np.float64]]:
    """The measured part of a run's clock and equity (equity is one value per clock bar)."""
    first = measured_from(clock, trade_from)
    return clock[first:], equity[first:]


def warmup_line(info: WarmupInfo) -> str:
    """The one line the CLI prints."""
    before = info.first_measured[:10] if info.first_measured else "the start"
    if info.enough:
        return f"warm-up: {info.used} bars before {before} (enough)"
    if info.requested == 0:
        return (
            f"warm-up: off (--warmup 0): the first {info.needed} measured bars from {before} "
            "fill the indicators"
        )
    if info.used == 0:
        return (
            f"warm-up: none, the data begins at {before}: the first {info.needed} measured bars "
            "fill the indicators (give a later --start to warm up on earlier bars)"
        )
    return (
        f"warm-up: only {info.used} of {info.needed} bars before {before}: "
        "the first measured bars ran cold"
    )


def _iso(stamp: np.datetime64) -> str:
    return str(stamp.astype("datetime64[s]")).replace("T00:00:00", "")


def with_warmup(loaded: LoadedInputs, needed: int) -> LoadedInputs:
    """`loaded` with its warm-up bars in `bars` (the engine's feed) and the measured start;
    `inputs.warmup` (None: `needed`) bars are asked for."""
    asked = loaded.inputs.warmup
    fed = warm(loaded.history or loaded.bars, loaded.inputs.start, _or(asked, needed), needed)
    return replace(loaded, bars=fed.bars, measured_from=fed.trade_from, warmup=fed.info)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
