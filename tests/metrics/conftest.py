"""Metrics test helpers: promtool, and exposition text as {(name, labels): value}."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def promtool() -> str:
    """The promtool binary: CI must have it (the test fails there); elsewhere the test is
    skipped, with the reason shown in pytest's summary (`-rs`)."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool not found on PATH: CI must install it (apt: prometheus)")
        pytest.skip("promtool not found on PATH (install Prometheus to run this check)")
    return path


def run_promtool(promtool: str, *args: str, stdin: str | None = None) -> str:
    """Run promtool; fail with its output unless it exits 0. Returns stdout+stderr."""
    done = subprocess.run([promtool, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False, cwd=ROOT)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed: Samples, name: str, **labels: str) -> float | None:
    return parsed.get((name, frozenset(labels.items())))


def names(parsed: Samples) -> set[str]:
    return {name for name, _ in parsed}
