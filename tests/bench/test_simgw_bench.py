"""The simulator benchmark's tiny mode, so `make bench-simgw` cannot rot between runs.

It runs the real bench as `make` does (`python -m bench.simgw_bench --tiny`, seconds-long
windows): every measurement it makes (throughput with one and two clients, real-time
latency) must complete and write its JSON. The figures themselves are not judged here: a shared CI
machine is no place for speed targets (the full run is `make bench-simgw`).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.test_research_benches import _bench


def test_tiny_mode_measures_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "simgw.json"
    done = _bench("bench.simgw_bench", "--output", str(out), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [run["clients"] for run in result["throughput"]] == [1, 2]
    assert all(run["received"] > 0 and run["ticks"] > 0 for run in result["throughput"])
    (latency,) = result["latency"]  # the speed-60 run: speed 1 is too slow for CI
    assert latency["speed"] == 60 and latency["samples"] > 0
    assert latency["open_bucket_ms"] is not None
    assert set(result["symbols"]) >= {"GOOG", "IDXFUT"}
