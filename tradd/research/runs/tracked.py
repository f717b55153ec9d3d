"""`tracked_run`: wrap a research command so it is a persisted job with a status.

The command reports progress through the handle as often as it likes; the handle writes
at most one progress update per `interval` seconds (by an injected monotonic clock) and
always the last one, so a 10,000-trial optimization costs a few hundred small writes,
not 10,000. The run ends `complete` when the block ends, `interrupted` on Ctrl-C and
`failed` on any other exception, whose text is stored without secrets (the database
URL's password, tokens: every secret value in the settings) and then re-raised.

Bookkeeping never breaks the research: a progress or finish write that fails (the
database went away) is logged and the command carries on.

While the run goes on a `LeaseKeeper` renews its lease, so that a process killed without a
chance to write its end (SIGKILL, power loss) leaves a run that readers mark failed; and
before the run starts, the runs that died so are reaped (`tradd.research.runs.lease`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from tradd.config.loader import redact_url
from tradd.config.settings import Settings
from tradd.errors import EXIT_INTERRUPTED, TraddError
from tradd.research.runs.lease import LeaseKeeper, reap_dead_runs
from tradd.research.runs.store import RunStore

PROGRESS_INTERVAL_S = 0.5
ERROR_MAX = 2000
"""Characters of an error kept in the run (a traceback-sized message is cut)."""
URL_PASSWORD = re.compile(r"([A-Za-z][\w+.-]*://[^\s/:@]*:)[^\s/@]+@")
"""`scheme://user:` (kept) and the password after it, up to the `@` of the host."""

log = structlog.get_logger("tradd.research.runs")


class RunHandle:
    """What the command sees of its run: `id`, `progress(done, total)`, `complete(summary)`."""

    def __init__(
        self,
        store: RunStore | Callable[[], tuple[RunStore, str]],
        run_id: str,
        monotonic: Callable[[], float],
        interval: float = PROGRESS_INTERVAL_S,
    ) -> None:
        """`store` is the store the run was started in, or (lazy) the function that
        starts it there, called on the first progress or at a clean end."""
        self._opener = None if isinstance(store, RunStore) else store
        self._store = store if isinstance(store, RunStore) else UnrecordedStore()
        self._id = run_id
        self._monotonic, self._interval = monotonic, interval
        self._last_write: float | None = None
        self._pending: tuple[int, int | None] | None = None
        self.summary: dict[str, Any] | None = None

    @property
    def started(self) -> bool:
        """Whether the run exists (a lazy one: once the command got under way)."""
        return self._opener is None

    def start(self) -> None:
        if self._opener is not None:
            opener, self._opener = self._opener, None
            self._store, self._id = opener()

    @property
    def store(self) -> RunStore:
        return self._store

    @property
    def id(self) -> str:
        self.start()
        return self._id

    @property
    def recorded(self) -> bool:
        """False when the database could not be reached (`tracked_run(required=False)`)."""
        return self._id != UNRECORDED

    def describe(self) -> str:
        """The line a command prints about its run."""
        if not self.recorded:
            return "run not recorded (the database could not be reached; see the log)"
        return f"run {self._id} (tradd runs show {self._id})"

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress; written now if the last write is `interval` old, else later."""
        self.start()
        self._pending = (done, total if total is not None else self._total_of_pending())
        now = self._monotonic()
        if self._last_write is None or now - self._last_write >= self._interval:
            self.flush()

    def complete(self, summary: Mapping[str, Any]) -> None:
        """The run's results; stored when the block ends (status complete)."""
        self.summary = dict(summary)

    def flush(self) -> None:
        """Write the latest progress if it has not been written yet."""
        if self._pending is None:
            return
        done, total = self._pending
        self._pending = None
        self._last_write = self._monotonic()
        _quietly(lambda: self._store.progress(self._id, done, total), self._id, "progress")

    def _total_of_pending(self) -> int | None:
        return self._pending[1] if self._pending is not None else None


@contextmanager
def tracked_run(
    settings: Settings,
    kind: str,
    request: Mapping[str, Any],
    output: Path | None,
    *,
    total: int | None = None,
    store: RunStore | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    interval: float = PROGRESS_INTERVAL_S,
    required: bool = True,
    run_id: str | None = None,
) -> Iterator[RunHandle]:
    """A run in the database of `settings` (the daemon's) for the duration of the block.

    `store` replaces the settings' database (tests); `total` is the progress total if
    known up front. Leaving the block normally marks the run complete with the summary
    given to `complete` (if any). With `required=False` the run starts at the first
    progress report (or a clean end), so a command refused before it got under way (a bad
    argument, missing data) records nothing and never touches the database, and a database
    that cannot be reached does not stop the research: the block runs unrecorded
    (`handle.recorded` is False) and a warning says why. A scan requires its run:
    `--execute` keys its orders on the id. `run_id`: the id to record the run under (the
    web console's job id), instead of a new one.
    """
    with ExitStack() as stack:

        def start_run() -> tuple[RunStore, str]:
            opened = store
            try:
                if opened is None:
                    from tradd.research.runs.open import open_run_store

                    opened = stack.enter_context(open_run_store(settings))
                _reap(opened, settings)
                new_id = opened.start(kind, request, output, total, run_id=run_id)
            except (TraddError, SQLAlchemyError) as exc:
                if required:
                    raise
                log.warning("research run not recorded", kind=kind,
                            error=error_text(exc, secret_values(settings)))  # fmt: skip
                return UnrecordedStore(), UNRECORDED
            secrets = secret_values(settings)
            keeper = LeaseKeeper(opened, new_id, opened.lease_interval,
                                 describe=lambda exc: error_text(exc, secrets))  # fmt: skip
            stack.callback(keeper.stop)
            keeper.start()
            return opened, new_id

        if required:
            handle = RunHandle(*start_run(), monotonic, interval)
        else:  # started once under way: a command refused at once leaves no run behind
            handle = RunHandle(start_run, UNRECORDED, monotonic, interval)
        yield from _supervise(handle, settings)


UNRECORDED = "unrecorded"


class UnrecordedStore(RunStore):
    """Stands in when the run could not be recorded: every write is a no-op."""

    def __init__(self) -> None:  # no database
        pass

    def progress(self, run_id: str, done: int, total: int | None = None) -> None:
        pass

    def finish(
        self,
        run_id: str,
        status: str,
        summary: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        pass


def _supervise(handle: RunHandle, settings: Settings) -> Iterator[RunHandle]:
    try:
        yield handle
    except KeyboardInterrupt:
        _end(handle, "interrupted", "interrupted (Ctrl-C)")
        raise
    except BaseException as exc:
        if _exit_code(exc) in (0, None):
            _end(handle, "complete", None)
        elif _exit_code(exc) == EXIT_INTERRUPTED:  # the command stopped on Ctrl-C itself
            _end(handle, "interrupted", "interrupted (Ctrl-C)")
        else:
            _end(handle, "failed", error_text(exc, secret_values(settings)))
        raise
    _end(handle, "complete", None)


def _end(handle: RunHandle, status: str, error: str | None) -> None:
    if not handle.started and status != "complete":
        return  # refused before it got under way: nothing to record
    handle.start()
    handle.flush()
    store = handle.store
    _quietly(lambda: store.finish(handle.id, status, handle.summary, error), handle.id, status)


def _reap(store: RunStore, settings: Settings) -> None:
    """Reap the dead runs before a new one starts; failing to is no reason not to start."""
    try:
        reap_dead_runs(store)
    except (TraddError, SQLAlchemyError) as exc:
        log.warning("could not reap dead research runs",
                    error=error_text(exc, secret_values(settings)))  # fmt: skip


def _quietly(write: Callable[[], None], run_id: str, what: str) -> None:
    try:
        write()
    except (TraddError, SQLAlchemyError) as exc:
        log.warning("could not record the run", run_id=run_id, update=what, error=str(exc))


def _exit_code(exc: BaseException) -> int | str | None:
    """The code of typer.Exit or sys.exit raised inside the block (-1: not an exit).

    0 means the command ended normally; EXIT_INTERRUPTED that it caught Ctrl-C, kept
    what it finished and stopped (optimize, walkforward)."""
    if isinstance(exc, SystemExit):
        return exc.code
    if type(exc).__name__ == "Exit":
        code = getattr(exc, "exit_code", -1)
        return code if isinstance(code, int) else -1
    return -1


def error_text(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """`Type: message`, every secret replaced by *** (a URL keeps all but its password),
    and the password of any other URL too (`--storage postgresql://u:pw@h/db` is given on
    the command line, not in the settings), cut to ERROR_MAX characters."""
    text = f"{type(exc).__name__}: {exc}"
    for secret in sorted(secrets, key=len, reverse=True):  # a URL before its password
        text = text.replace(secret, redact_url(secret) if "://" in secret else "***")
    text = URL_PASSWORD.sub(r"\1***@", text)
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"


def secret_values(settings: BaseModel) -> tuple[str, ...]:
    """Every secret in the settings, and the password inside each secret URL."""
    found: list[str] = []
    _collect(settings, found)
    return tuple(dict.fromkeys(s for s in found if len(s) >= 3))


def _collect(value: Any, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        found.append(raw)
        found.extend(_url_password(raw))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)


def _url_password(raw: str) -> list[str]:
    if "://" not in raw:
        return []
    try:
        password = make_url(raw).password
    except (ArgumentError, ValueError):
        return []
    return [str(password)] if password else []
