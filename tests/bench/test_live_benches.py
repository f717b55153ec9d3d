"""The live-trading benchmarks' tiny modes, so `make bench-worker`, `bench-daemon` and
`bench-alerts` cannot rot between full runs.

Each runs the real bench as `make` does (`python -m bench.NAME --tiny`, a fresh process):
the simulator on a thread of the bench, a real worker or `tradd run` with real workers, the
SMTP server for alerts; every step must complete and the figures must be written. The
figures are not judged (a shared CI machine is no place for speed targets), but what they
count is: every order, every flatten, every alert.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.test_research_benches import _bench


def test_worker_bench_tiny_measures_latency_and_memory(tmp_path: Path) -> None:
    out = tmp_path / "worker.json"
    done = _bench("bench.worker_bench", "--output", str(out), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    latency, memory = result["latency"], result["memory"]
    assert (latency["signals"], latency["warmup"]) == (5, 2)
    assert latency["latency"]["samples"] + latency["missing"] == 5
    assert latency["latency"]["samples"] >= 1 and latency["exit_code"] == 0
    assert [s["label"] for s in memory["samples"]] == ["ready", "2 bars", "end"]
    assert memory["orders_received"] == memory["orders_expected"] == 2 * 3
    assert memory["peak_mib"] > 0 and memory["exit_code"] == 0
    assert len(result["scheduling_noise"]["after"]) == 2
    assert "Memory: one worker" in done.stdout


def test_daemon_bench_tiny_times_status_and_flattens_twice(tmp_path: Path) -> None:
    out = tmp_path / "daemon.json"
    done = _bench("bench.daemon_bench", "--output", str(out), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["strategies"] == 2
    assert result["tradctl_status"]["p50_ms"] > 0
    assert len(result["flatten"]) == 2  # the second after resuming both
    assert all(r["reply_ms"] > 0 for r in result["flatten"])
    assert result["memory_after"]["supervisor_mib"] > 0


def test_alerts_bench_tiny_delivers_every_alert(tmp_path: Path) -> None:
    out = tmp_path / "alerts.json"
    done = _bench("bench.alerts_bench", "--output", str(out), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["alerts"] == result["delivered"] == 5
    assert result["max_ms"] >= result["p50_ms"] > 0
