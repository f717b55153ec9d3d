"""A strategy whose kernel is wrong on purpose, for the tests that the two-stage search
catches an unfaithful kernel and falls back to Backtrader (optimize, walk-forward, scan)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strategies.kernels import SmaCrossKernel
from strategies.sma_cross import SmaCross
from tradd.strategy import BoolArray, Kernel, Prices


class LateKernel(SmaCrossKernel):
    """Wrong on purpose: decides one bar after `SmaCross.next()` does."""

    def signals(self, prices: Prices, params: Mapping[str, Any]) -> tuple[BoolArray, BoolArray]:
        enter, exit_ = super().signals(prices, params)
        enter[:, 1:], exit_[:, 1:] = enter[:, :-1].copy(), exit_[:, :-1].copy()
        return enter, exit_


class LateSmaCross(SmaCross):
    """`SmaCross` with an unfaithful kernel: the search must catch it and fall back."""

    @classmethod
    def kernel(cls) -> Kernel:
        return LateKernel()
