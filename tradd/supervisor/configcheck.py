"""One validation for `tradd config check` and for a reload, so the two cannot drift apart.

A reload that accepted what `config check` rejects restarted workers that then exited 78,
leaving their positions with no strategy and no risk gate; so a reload runs this very
check and changes nothing unless it passes. It runs it in a child process
(`python -m tradd.cli.config_child FILE`: this check plus the schedules' args) with the
workers' working directory and environment: strategy modules are imported fresh, as the
workers will import them (the supervisor's own imports would be stale once a strategy
file is edited), and user code never runs, or hangs, inside the supervisor.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradd.config.loader import load_settings
from tradd.config.settings import Settings
from tradd.errors import EXIT_CONFIG, EXIT_OK, ConfigError
from tradd.worker.__main__ import FAILPOINTS_ENV, SUPERVISOR_ENV

CHECK_TIMEOUT = 60.0
"""Seconds a reload's check may take (it imports every strategy module)."""
NOT_SETTINGS = (FAILPOINTS_ENV, SUPERVISOR_ENV)
"""Variables the supervisor gives its workers that are not settings (they drop them too)."""


Extra = Callable[[Settings], list[str]]
"""A further check's problems (`tradd.cli.schedule_args`: the schedules' args, parsed by
the commands' parsers, which live above the supervisor)."""
CHILD_MODULE = "tradd.cli.config_child"
"""The child's module: this check plus the schedules' args (`Extra`)."""


def check_config(
    path: Path | None, environ: Mapping[str, str] | None = None, extra: Extra | None = None
) -> Settings:
    """Everything a worker needs to start: the file, environment and .env load, every
    strategy's class imports and accepts its parameters (params_file included), and the
    state and log directories take files, and the data directory's contract definitions
    (contracts.toml) are valid; and `extra`'s problems."""
    from tradd.marketdata.contracts import load_definitions
    from tradd.supervisor.preflight import check_writable

    settings = load_settings(path, environ=environ)
    problems = extra(settings) if extra is not None else []
    if problems:
        raise ConfigError(f"invalid schedules: {len(problems)} problem(s)", problems)
    load_definitions(settings.data.dir)  # the workers qualify their symbols from them
    check_strategies(settings)
    check_writable(settings)
    return settings


def check_strategies(settings: Settings) -> None:
    """Every strategy, disabled ones too (a start or reload may enable it), must resolve."""
    from tradd.worker.strategy import resolve_strategy

    problems = []
    for strategy in settings.strategies:
        try:
            resolve_strategy(strategy)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(f"invalid strategies: {len(problems)} problem(s)", problems)


@dataclass(frozen=True)
class CheckResult:
    """The check's verdict as it crosses from the child process (one JSON line)."""

    ok: bool
    message: str = ""
    problems: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"ok": self.ok, "message": self.message, "problems": self.problems})

    @classmethod
    def from_json(cls, text: str) -> CheckResult:
        data: Any = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
            raise ValueError(f"not a check result: {text[:200]!r}")
        problems = data.get("problems") or []
        return cls(data["ok"], str(data.get("message", "")), tuple(str(p) for p in problems))

    def raise_if_invalid(self) -> None:
        if not self.ok:
            raise ConfigError(self.message, list(self.problems))


async def check_in_child(
    path: Path, cwd: Path, env: Mapping[str, str], timeout: float = CHECK_TIMEOUT
) -> CheckResult:
    """Run `check_config(path)` in a child process; a child that fails or hangs is a
    failed check (a reload must fail closed)."""
    argv = (sys.executable, "-m", CHILD_MODULE, str(path))
    try:
        child = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=dict(env), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    except OSError as exc:
        return CheckResult(False, f"cannot run the configuration check: {exc}")
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout)
    except TimeoutError:
        child.kill()
        await child.wait()
        return CheckResult(False, f"the configuration check did not finish in {timeout:g}s "
                                  "(a strategy module that hangs on import?)")  # fmt: skip
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        return CheckResult.from_json(lines[-1])
    except (IndexError, ValueError):
        said = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return CheckResult(
            False, f"the configuration check failed (exit {child.returncode}): {said[0]}"
        )


def main(argv: list[str] | None = None, extra: Extra | None = None) -> int:
    """Check the file named by the one argument; print the verdict as one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tradd.supervisor.configcheck FILE", file=sys.stderr)
        return 2
    environ = {k: v for k, v in os.environ.items() if k not in NOT_SETTINGS}
    try:
        check_config(Path(args[0]), environ, extra)
    except ConfigError as exc:
        print(CheckResult(False, str(exc), tuple(exc.problems)).to_json())
        return EXIT_CONFIG
    except Exception as exc:  # a bug here must still reach the operator as a refusal
        print(CheckResult(False, f"configuration check failed: {exc!r}").to_json())
        return 1
    print(CheckResult(True).to_json())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
