"""A strategy whose worker, once `trigger` exists, dies on start of an exception raised
outside the strategy's own code, after an unrelated error was logged: the crash alert must
name the exception, not the newest error line of the log."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradd.strategy import Strategy

UNRELATED = ("API connection failed: ConnectionRefusedError(111, 'Connect call failed'); "
             "Make sure API port on TWS/IBG is open")  # fmt: skip


class DiesOnRestart(Strategy):
    params = (("trigger", ""),)

    @classmethod
    def invalid_params(cls, params: Mapping[str, Any]) -> str | None:
        if params["trigger"] and Path(params["trigger"]).exists():
            logging.getLogger("ib_async.client").error(UNRELATED)
            raise sqlite3.DatabaseError("database disk image is malformed")
        return None
