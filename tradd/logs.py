"""Structured logging: JSON lines to a file under the log directory, readable lines on stderr.

Every component calls `configure_logging` once at start with its name; modules then use
`structlog.get_logger()` and bind context (strategy, symbol, orderRef) as they go.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
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
    settings: LogSettings, component: str, *, console: bool | None = None
) -> Path:
    """Route structlog and stdlib logging to `<dir>/<component>.log` (JSON) and stderr."""
    settings.dir.mkdir(parents=True, exist_ok=True)
    path = settings.dir / f"{component}.log"
    level = getattr(logging, settings.level.upper())
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    file_handler.setFormatter(_formatter(structlog.processors.JSONRenderer()))
    root.addHandler(file_handler)
    if settings.console if console is None else console:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(logging.WARNING)  # the terminal shows problems; the file has it all
        stderr.setFormatter(_formatter(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())))
        root.addHandler(stderr)
    root.setLevel(level)
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(component=component)
    return path


def _formatter(renderer: structlog.types.Processor) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
