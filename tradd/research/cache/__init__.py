"""The backtest cache: a backtest whose every input is the same as an earlier one's is not
run again; its stored result is used (`key`: what "the same" means, `store`: the table)."""

from tradd.research.cache.key import Fingerprints, Uncacheable, cache_key, canonical_json
from tradd.research.cache.store import BacktestCache, expire_cache, open_backtest_cache

__all__ = [
    "BacktestCache",
    "Fingerprints",
    "Uncacheable",
    "cache_key",
    "canonical_json",
    "expire_cache",
    "open_backtest_cache",
]
