"""`python -m tradd.worker --config etc/tradd.toml --strategy NAME`: one live strategy.

Exit codes: 0 stopped cleanly, 1 failed (the supervisor restarts it with backoff), 2 bad
arguments, 78 configuration error (not restarted until the configuration is fixed).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import structlog

from tradd.config.loader import load_settings
from tradd.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ConfigError, TraddError
from tradd.logs import configure_logging
from tradd.stdio import ensure_standard_streams
from tradd.worker.exitreport import ExitReport

SUPERVISOR_ENV = "TRADD_SUPERVISOR_PID"
"""Set by `tradd run`: the worker stops when that process is no longer its parent."""
FAILPOINTS_ENV = "TRADD_FAILPOINTS"
"""Comma-separated crash points for crash-safety tests (`after_persist`, `after_send`)."""


def quiet_client_library() -> None:
    """ib_async/ib_insync log a full object dump at INFO for every order event; tradd logs
    what matters itself. Their warnings and errors still come through."""
    for name in ("ib_async", "ib_insync"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    ensure_standard_streams()  # started with 0/1/2 closed (a detached parent): /dev/null
    parser = argparse.ArgumentParser(prog="python -m tradd.worker", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="tradd.toml to read")
    parser.add_argument("--strategy", required=True, help="name of a [[strategies]] entry")
    parser.add_argument(
        "--exit-report", type=Path, default=None, help="where to write what it fails with (JSON)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else 0
    try:
        return _run(args)
    except Exception as exc:  # not a TraddError: a bug, or e.g. a corrupt database
        structlog.get_logger("tradd.worker").exception("worker failed", error=repr(exc))
        _report(args.exit_report, exc)
        return EXIT_FAILURE


def _run(args: argparse.Namespace) -> int:
    from tradd.worker.app import Worker, WorkerOptions
    from tradd.worker.orders import Failpoints

    environ = {k: v for k, v in os.environ.items() if k not in (FAILPOINTS_ENV, SUPERVISOR_ENV)}
    supervisor = os.environ.get(SUPERVISOR_ENV, "")
    failpoints = frozenset(filter(None, os.environ.get(FAILPOINTS_ENV, "").split(",")))
    try:
        settings = load_settings(args.config, environ=environ)
        quiet_client_library()
        configure_logging(
            settings.log, f"worker-{args.strategy}", context={"strategy": args.strategy}
        )
        worker = Worker(
            settings,
            args.strategy,
            WorkerOptions(
                failpoints=Failpoints(failpoints),
                supervisor_pid=int(supervisor) if supervisor.isdigit() else None,
            ),
        )
    except ConfigError as exc:
        print(f"tradd worker: {exc}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        _report(args.exit_report, exc)
        return exc.exit_code
    except TraddError as exc:
        print(f"tradd worker: error: {exc}", file=sys.stderr)
        _report(args.exit_report, exc)
        return exc.exit_code
    code = worker.run()
    if code != EXIT_OK and worker.failure is not None:
        _report(args.exit_report, worker.failure)
    return code


def _report(path: Path | None, exc: BaseException) -> None:
    if path is not None:
        ExitReport.of(exc).write(path)


if __name__ == "__main__":
    sys.exit(main())
