"""Strategies for scan tests."""

from __future__ import annotations

import os

from tradd.strategy import Strategy


class KillsItsProcess(Strategy):
    """Ends the process it runs in on its first bar, like a crash in native code would."""

    def next(self) -> None:
        os._exit(9)
