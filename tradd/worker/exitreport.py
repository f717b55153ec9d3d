"""A failing worker's last word: the exception it exits with, as a typed record in a file.

The supervisor used to take the newest error line of the worker's log for the crash
alert, and that line can be unrelated (a corrupt database was reported as the gateway's
"Make sure API port on TWS/IBG is open"); an exception that escapes before logging is
set up, or is never logged, leaves nothing to find at all. So the worker writes what
actually ended it to the path the supervisor gave it (`--exit-report`), and the
supervisor reads that first.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from tradd.errors import ConfigError

MAX_MESSAGE = 500
_CREDENTIALS = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]+):[^@\s]+@")
"""`scheme://user:password@`: a URL's password, whatever error message carries it."""


@dataclass(frozen=True)
class ExitReport:
    type: str
    """The exception's class (module-qualified unless a builtin)."""
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> ExitReport:
        kind = type(exc)
        name = kind.__qualname__
        if kind.__module__ not in ("builtins", "__main__"):
            name = f"{kind.__module__}.{name}"
        message = str(exc)
        if isinstance(exc, ConfigError) and exc.problems:
            message += ": " + "; ".join(exc.problems)
        message = _CREDENTIALS.sub(r"\1:***@", message)
        return cls(name, message[:MAX_MESSAGE])

    def describe(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type

    def write(self, path: Path) -> None:
        """Write atomically; never raises (the worker is exiting with a better error)."""
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}")
            temporary.write_text(json.dumps(asdict(self)))
            temporary.replace(path)

    @classmethod
    def read(cls, path: Path) -> ExitReport | None:
        """The report at `path`, or None if there is none or it is not one."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return None
        return cls(data["type"], str(data.get("message", ""))[:MAX_MESSAGE])
