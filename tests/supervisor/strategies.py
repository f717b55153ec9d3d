"""Strategies for supervisor tests."""

from __future__ import annotations

from tradd.strategy import Strategy


class Crashing(Strategy):
    """Fails as soon as Backtrader builds it: a worker that crashes on every start."""

    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError("this strategy always crashes")
