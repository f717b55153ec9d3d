"""Research tests: `tradd ARGS` run in this process through the CLI's entry point."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tradd.cli.app import main

Tradd = Callable[..., tuple[int, str, str]]


def run_main(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `tradd ARGS`, without an interpreter start."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def tradd(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Tradd:
    """`tradd ARGS` with state and logs under tmp_path and a wide terminal."""
    for key, value in {"TRADD_STATE_DIR": str(tmp_path / "state"),
                       "TRADD_LOG__DIR": str(tmp_path / "logs"), "COLUMNS": "200"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return lambda *args: run_main(capsys, args)
