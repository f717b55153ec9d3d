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
    file_handler.setFormatter(_formatter(structlog.processors.JSONRenderer(), static))
    root.addHandler(file_handler)
    if (settings.console if console is None else console) and sys.stderr is not None:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(logging.WARNING)  # the terminal shows problems; the file has it all
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        stderr.setFormatter(_formatter(renderer, static))
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


def _static_fields(fields: dict[str, str]) -> structlog.types.Processor:
    def add(
        _logger: object, _name: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        for key, value in fields.items():
            event.setdefault(key, value)
        return event

    return add


def _formatter(
    renderer: structlog.types.Processor, static: structlog.types.Processor
) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, static],
        processors=[
            static,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
