"""`make bench-web`'s tiny mode, so it cannot rot between full runs: a real `tradd web`
process, status polling, the pages (fetched; the browser is the page tests' business),
an analysis through the API and the same scan on the CLI, the console's RSS. Every step
must complete and the table must print; the figures are not judged (a shared CI machine
is no place for speed targets)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.test_research_benches import _bench


def test_web_bench_tiny_measures_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "web.json"
    done = _bench("bench.web_bench", "--no-browser", "--output", str(out), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["status_polling"]["requests"] > 0
    assert set(result["pages_fetched_ms"]) == {"login", "optimizer", "jobs", "research", "live"}
    assert result["analysis"]["backtests"] == 4 * 3
    assert result["analysis"]["api_warm_cache_hits"] == 4 * 3
    assert result["console_rss_mb"] > 0
    assert set(result["verdict"]) == {"status_p99_ms", "page_ms", "api_over_cli", "rss_mb"}
    assert "console RSS (MB)" in done.stdout
