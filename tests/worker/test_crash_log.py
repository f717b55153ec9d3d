"""A worker that fails logs the traceback in its JSON log: "worker failed" said
`exc_info: true` and nothing else, so a crash in the rehearsal left no trace of where it
came from (issue 15). A real `python -m tradd.worker` whose strategy raises: the line
that reports it is logged the same way ("worker failed" for any other exception)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import tomli_w

from tests.conftest import ROOT
from tests.fixtures.simulator import strategy_entry, worker_settings
from tradd.simgw.background import BackgroundGateway

CRASHING = "tests.supervisor.strategies.Crashing"


def test_the_failure_line_carries_the_traceback(
    tmp_path: Path, simulator: BackgroundGateway, sqlite_url: str
) -> None:
    settings = worker_settings(tmp_path, simulator.port, sqlite_url,
                               [strategy_entry(strategy=CRASHING)])  # fmt: skip
    document = settings.model_dump(mode="json", exclude_none=True)
    document["database"]["url"] = sqlite_url  # the dump masks it
    config = tmp_path / "tradd.toml"
    config.write_text(tomli_w.dumps(document))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    done = subprocess.run(
        [sys.executable, "-m", "tradd.worker", "--config", str(config), "--strategy", "s1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "logs" / "worker-s1.log").open()]
    failed = [line for line in lines if line["event"] == "strategy failed; halting it"]
    assert failed, [line["event"] for line in lines]
    exception = failed[0]["exception"]
    assert exception.startswith("Traceback (most recent call last)")
    assert "strategies.py" in exception  # where it came from
    assert "RuntimeError: this strategy always crashes" in exception
    assert "this strategy always crashes" in done.stderr  # the console shows it too
