"""Helpers shared by the subcommands: settings, logging, data store, argument parsing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from tradd.config.loader import load_settings
from tradd.config.settings import Settings
from tradd.errors import UsageError
from tradd.logs import configure_logging

if TYPE_CHECKING:
    from rich.console import Console

    from tradd.marketdata.store import DataStore

PIPED_WIDTH = 1000
"""Columns for report output that is not going to a terminal (see `report_console`)."""


def settings_for(config: Path | None, component: str = "cli") -> Settings:
    settings = load_settings(config)
    configure_logging(settings.log, component)
    return settings


def data_store(settings: Settings, data_dir: Path | None) -> DataStore:
    from tradd.marketdata.store import DataStore  # pandas: only for commands that read data

    return DataStore(data_dir or settings.data.dir)


def report_console() -> Console:
    """The console research reports print on (backtest, optimize, walk-forward, compare,
    scan, runs).

    Rich lays tables out to 80 columns when stdout is not a terminal and shortens cells to
    fit ("Sha…"), which makes piped or redirected output unreadable. Piped, the console is
    `PIPED_WIDTH` wide instead: tables take their natural width (they do not stretch) and
    nothing is cut. On a terminal, the terminal's width, as before.
    """
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=PIPED_WIDTH)


def date_checked(option: str) -> Callable[[str | None], str | None]:
    """An option callback: a bad date is refused while the command line is parsed, so a
    `[[schedules]]` entry's arguments are checked by `tradd config check` as well."""

    def check(text: str | None) -> str | None:
        parse_date(option, text)
        return text

    return check


def parse_date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a date (use YYYY-MM-DD)") from None


def split_list(option: str, values: list[str] | None) -> tuple[str, ...]:
    """`--symbols A,B --symbols C` -> (A, B, C); empty items are an error."""
    items: list[str] = []
    for value in values or []:
        parts = [p.strip() for p in value.split(",")]
        if any(not p for p in parts):
            raise UsageError(f"{option} {value!r}: empty item in the list")
        items.extend(parts)
    return tuple(items)


def log() -> structlog.stdlib.BoundLogger:
    return structlog.get_logger("tradd.cli")  # type: ignore[no-any-return]


LIST_OPTIONS = ("--symbols", "--strategies", "--params-from")


def join_list_arguments(argv: list[str]) -> list[str]:
    """Let list options take space-separated values: `--symbols A B` == `--symbols A,B`.

    Click options take one value each; this joins the words that follow a list option
    up to the next option.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        out.append(token)
        i += 1
        if token in LIST_OPTIONS:
            words = []
            while i < len(argv) and not argv[i].startswith("-"):
                words.append(argv[i])
                i += 1
            if words:
                out.append(",".join(words))
    return out
