"""Errors sorted by what the caller should do next, each with a documented exit code.

The CLI turns any `TraddError` into a one-line message on stderr and its `exit_code`
(the BSD sysexits convention: 2 usage, 65 data, 78 config). The worker and the supervisor
use the same classes to decide whether to stop, retry or halt a strategy.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_DATA = 65
EXIT_CONFIG = 78
EXIT_INTERRUPTED = 130


class TraddError(Exception):
    """Base class: a problem we can describe to the user in one line."""

    exit_code = EXIT_FAILURE


class UsageError(TraddError):
    """A command-line argument is wrong. Stop; the user must fix the command."""

    exit_code = EXIT_USAGE


class DataError(TraddError):
    """Input data is malformed or missing. Stop; the user must fix the data."""

    exit_code = EXIT_DATA


class ConfigError(TraddError):
    """The configuration is invalid. Stop and do not restart until it is fixed."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class TemporaryError(TraddError):
    """Something outside us failed transiently (network, storage). Retry with backoff."""


class StrategyError(TraddError):
    """A strategy misbehaved. Halt that strategy, keep everything else running."""
