"""The shipped Grafana dashboard and Prometheus config fit the metrics tradd exports."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from prometheus_client import generate_latest

from tests.metrics.conftest import ROOT, names, run_promtool, samples
from tests.metrics.test_exposition import VIEWS, running_snapshot
from tradd.metrics.collector import SupervisorMetrics
from tradd.records.status import parse_status

DASHBOARD = ROOT / "etc" / "grafana" / "tradd.json"
SCRAPE_CONFIG = ROOT / "etc" / "prometheus" / "tradd.yml"
METRIC = re.compile(r"\b((?:tradd|process)_[a-z0-9_]+)\b")


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # inside collapsed rows
    return found


def expressions(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else str(query or ""))
    return exprs


def test_every_metric_the_dashboard_uses_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    full = replace(VIEWS[0], snapshot=parse_status({**running_snapshot(), "unrealized_pnl": 12.5}))
    exported = names(samples(generate_latest(SupervisorMetrics(lambda: [full]).registry).decode()))
    used = {m for expr in expressions(dashboard) for m in METRIC.findall(expr)}
    assert len(used) >= 15
    histogram_parts = ("_bucket", "_sum", "_count")
    for name in used:
        base = next((name[: -len(p)] for p in histogram_parts if name.endswith(p)), name)
        assert name in exported or base in exported or f"{base}_count" in exported, name


def test_dashboard_variables_and_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "tradd"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["strategy"]["query"]["query"] == "label_values(tradd_worker_up, strategy)"
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            if "tradd_" in target["expr"]:  # every tradd panel follows the strategy picker
                assert 'strategy=~"$strategy"' in target["expr"], panel["title"]
    exprs = " ".join(expressions(dashboard))
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.99," in exprs
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))


def test_scrape_config_is_valid(promtool: str) -> None:
    text = SCRAPE_CONFIG.read_text()
    assert "job_name: tradd" in text and '"127.0.0.1:9464"' in text and "15s" in text
    run_promtool(promtool, "check", "config", str(SCRAPE_CONFIG))
