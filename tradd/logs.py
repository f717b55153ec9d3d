"""Structured logging: JSON lines to a file under the log directory, readable lines on stderr.

Every component calls `configure_logging` once at start with its name; modules then use
`structlog.get_logger()` and bind context (strategy, symbol, orderRef) as they go.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from tradd.config.settings import LogSettings

_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(
    settings: LogSettings,
    component: str,
    *,
    console: bool | None = None,
    context: dict[str, str] | None = None,
) -> Path:
    """Route structlog and stdlib logging to `<dir>/<component>.log` (JSON) and stderr.

    `context` is added to every line from every thread (e.g. the worker's strategy name),
    including the client library's own log records."""
    settings.dir.mkdir(parents=True, exist_ok=True)
    path = settings.dir / f"{component}.log"
    level = getattr(logging, settings.level.upper())
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    static = _static_fields(context or {})
    json_lines: list[structlog.types.Processor] = [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ]
    file_handler.setFormatter(_formatter(json_lines, static))
    root.addHandler(file_handler)
    if (settings.console if console is None else console) and sys.stderr is not None:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(logging.WARNING)  # the terminal shows problems; the file has it all
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        stderr.setFormatter(_formatter([renderer], static))  # it renders exc_info itself
        root.addHandler(stderr)
    root.setLevel(level)
    foreign = RepeatLimiter(settings.repeat_window)  # the client library's, asyncio's records
    for handler in root.handlers:
        handler.addFilter(foreign)
    structlog.configure(
        processors=[
            *_SHARED,
            RepeatLimiter(settings.repeat_window),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(component=component)
    return path


def _static_fields(fields: dict[str, str]) -> structlog.types.Processor:
    def add(
        _logger: object, _name: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        for key, value in fields.items():
            event.setdefault(key, value)
        return event

    return add


def _formatter(
    render: list[structlog.types.Processor], static: structlog.types.Processor
) -> structlog.stdlib.ProcessorFormatter:
    """`render` ends in the renderer. A JSON line needs `format_exc_info` before it: the
    renderer alone writes `exc_info: true` and drops the traceback."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, static],
        processors=[
            static,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *render,
        ],
    )


class RepeatLimiter:
    """Collapse a line repeated within `window` seconds into one, and say how many.

    The first line of a kind passes; identical ones (same logger, level, event and
    key/value pairs, the timestamp aside) within `window` seconds of it are dropped and
    counted; the first one after the window passes with `repeated=N`. A loop that fails
    a thousand times a second then costs a line every `window` seconds, not 200 MB.
    Works as a structlog processor and as a logging filter (stdlib records)."""

    MAX_KINDS = 4096

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window, self._clock = window, clock
        self._seen: dict[str, tuple[float, int]] = {}  # key -> (when it passed, dropped since)
        self._lock = threading.Lock()
        self._sweep_at = 0.0

    @property
    def remembered(self) -> int:
        """Kinds of line remembered now."""
        return len(self._seen)

    def allow(self, key: str) -> int | None:
        """None: drop this line; else how many like it were dropped since the last one."""
        if self.window <= 0:
            return 0
        now = self._clock()
        with self._lock:
            if now >= self._sweep_at:
                self._sweep(now)
            passed = self._seen.pop(key, None)
            if passed is not None and now - passed[0] < self.window:
                self._seen[key] = (passed[0], passed[1] + 1)
                return None
            self._seen[key] = (now, 0)
            if len(self._seen) > self.MAX_KINDS:  # the oldest kind goes
                del self._seen[next(iter(self._seen))]
        return passed[1] if passed is not None else 0

    def _sweep(self, now: float) -> None:
        """Forget lines whose window is over with nothing dropped: most lines are distinct
        (an order ref, an exec id), and a worker kept thousands of them (MiBs) for nothing."""
        self._sweep_at = now + self.window
        self._seen = {k: v for k, v in self._seen.items() if v[1] or now - v[0] < self.window}

    def __call__(
        self, _logger: object, _name: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        key = repr(sorted((k, repr(v)) for k, v in event.items() if k != "timestamp"))
        dropped = self.allow(key)
        if dropped is None:
            raise structlog.DropEvent
        if dropped:
            event["repeated"] = dropped
        return event

    def filter(self, record: logging.LogRecord) -> bool:
        """One decision per record, however many handlers ask."""
        if isinstance(record.msg, dict):  # from structlog: already limited
            return True
        decided = getattr(record, "repeat_passed", None)
        if isinstance(decided, bool):
            return decided
        message = record.getMessage()
        dropped = self.allow(f"{record.name}|{record.levelno}|{message}")
        record.repeat_passed = dropped is not None
        if dropped:
            record.msg, record.args = f"{message} ({dropped} repeated)", ()
        return dropped is not None
