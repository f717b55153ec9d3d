"""The `tradd` command a job runs: the same command line a trader would type.

A job is the CLI in a process of its own (`python -m tradd scan ...`), so the console and
the command line share one code path, one research pool, one run record.

A compare job's parameters go to `tradd compare` as it takes them, files
(`--params-from`): `job_files` names and writes them in the job's directory before the
process starts.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradd.web.records import JobKind

COMPARE_REPORT = "comparison.html"
"""A compare job's report in its directory; the JSON, CSV and charts go beside it."""


def job_argv(
    kind: JobKind,
    job_id: str,
    request: Mapping[str, Any],
    output: Path,
    config: Path | None,
    workers: int | None,
) -> list[str]:
    """The argv of the job's process. `request` is the validated API body as JSON."""
    target = output / COMPARE_REPORT if kind is JobKind.COMPARE else output
    argv = [sys.executable, "-m", "tradd", kind.value, "--run-id", job_id, "--output", str(target)]
    if kind is JobKind.COMPARE:
        argv += _compare_options(request, output)
    elif kind is JobKind.SCAN:
        argv += _scan_options(request)
    elif kind in (JobKind.OPTIMIZE, JobKind.WALKFORWARD):
        argv += _research_options(kind, request)
    else:
        raise ValueError(f"no command for {kind.value} jobs yet")
    if workers is not None:
        argv += ["--workers", str(workers)]
    if config is not None:
        argv += ["--config", str(config)]
    return argv


def _scan_options(request: Mapping[str, Any]) -> list[str]:
    options = ["--symbols", ",".join(request["symbols"])]
    if request.get("strategies"):
        options += ["--strategies", ",".join(request["strategies"])]
    if request.get("start_date"):
        options += ["--start", str(request["start_date"])]
    if request.get("end_date"):
        options += ["--end", str(request["end_date"])]
    options += ["--cash", repr(float(request["initial_capital"]))]
    options += ["--max-position-pct", repr(float(request["max_position_pct"]))]
    return options


def _research_options(kind: JobKind, request: Mapping[str, Any]) -> list[str]:
    """`tradd optimize` / `tradd walkforward` options from an optimize or walk-forward body
    (`tradd.web.research_records`)."""
    options = ["--strategy", str(request["strategy"]), "--symbols", ",".join(request["symbols"])]
    for name, flag in (("start_date", "--start"), ("end_date", "--end"),
                       ("objective", "--objective"), ("seed", "--seed")):  # fmt: skip
        if request.get(name) is not None:
            options += [flag, str(request[name])]
    if request.get("initial_capital") is not None:
        options += ["--cash", repr(float(request["initial_capital"]))]
    options += ["--method", str(request["method"]), "--trials", str(int(request["trials"]))]
    if kind is JobKind.WALKFORWARD:
        options += ["--is-months", str(int(request["is_months"])),
                    "--oos-months", str(int(request["oos_months"])),
                    "--mode", str(request["mode"])]  # fmt: skip
    for argument in param_arguments(request["params"]):
        options += ["--param", argument]
    return options


def _compare_options(request: Mapping[str, Any], output: Path) -> list[str]:
    """`tradd compare` options from a compare body (`CompareJobRequest`)."""
    options = ["--strategies", ",".join(request["strategies"]),
               "--symbols", ",".join(request["symbols"])]  # fmt: skip
    for name, flag in (("start_date", "--start"), ("end_date", "--end"),
                       ("warmup", "--warmup")):  # fmt: skip
        if request.get(name) is not None:
            options += [flag, str(request[name])]
    if request.get("initial_capital") is not None:
        options += ["--cash", repr(float(request["initial_capital"]))]
    for name in compare_params_files(request):
        options += ["--params-from", str(output / name)]
    return options


def compare_params_files(request: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`params-N.toml` -> its content, one per strategy up to the last one given
    parameters (`--params-from` goes in order: an empty table keeps the defaults)."""
    given = list(request.get("params") or [])
    while given and not given[-1]:
        given.pop()
    strategies = request["strategies"]
    return {f"params-{i + 1}.toml": {"strategy": strategies[i], "params": dict(p or {})}
            for i, p in enumerate(given)}  # fmt: skip


def job_files(kind: JobKind, request: Mapping[str, Any], output: Path) -> None:
    """Write what the job's command reads besides its options (a compare job's params
    files) into its directory, which exists."""
    if kind is not JobKind.COMPARE:
        return
    import tomli_w

    for name, document in compare_params_files(request).items():
        (output / name).write_text(tomli_w.dumps(document))


def param_arguments(params: Mapping[str, Any]) -> list[str]:
    """`NAME=SPEC` per parameter, as `--param` takes them: a params-file value (a string in
    the range syntax, a number, or an array of choices) written as the command line's."""
    return [f"{name}={_spec_text(spec)}" for name, spec in params.items()]


def _spec_text(spec: Any) -> str:
    if isinstance(spec, list):
        return ",".join(_value_text(v) for v in spec)
    return _value_text(spec)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()
