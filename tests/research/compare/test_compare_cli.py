"""`tradd compare` end to end: the CLI in a subprocess, its JSON, its HTML in headless
Chromium (selenium) and its PDF rendered back to pixels (pypdfium2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import ROOT, SAMPLE_DATA
from tests.fixtures.browser import BROWSER_GROUP, file_url
from tradd.marketdata.store import DataStore
from tradd.research.backtest import run_backtest
from tradd.research.broker import BrokerConfig
from tradd.research.compare.browser import BrowserUnavailable, find_browser
from tradd.research.setup import ResearchInputs

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

# One worker runs this module: the browser tests never overlap, and the comparison the
# JSON and HTML tests share is made once.
pytestmark = [BROWSER_GROUP, pytest.mark.slow]

SMA = "strategies.sma_cross.SmaCross"
RSI = "strategies.rsi.RsiReversion"
BREAKOUT = "strategies.breakout.DonchianBreakout"
SYMBOLS = ("GOOG", "ORCL")
START, END = "2010-01-01", "2012-12-31"
CASH = 50_000.0
SMA_PARAMS = {"fast": 5, "slow": 40, "threshold": 0.0}


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str


def _tradd(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    clean.update({"COLUMNS": "200", "TRADD_LOG__DIR": str(tmp / "logs"),
                  "TRADD_STATE_DIR": str(tmp / "state"), **(env or {})})  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "tradd", *args], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    return Ran(done.returncode, done.stdout, done.stderr)


def _data(tmp: Path) -> Path:
    target = tmp / "data"
    target.mkdir()
    for symbol in SYMBOLS:
        shutil.copy(SAMPLE_DATA / f"{symbol}.1d.csv", target / f"{symbol}.1d.csv")
    return target


@dataclass(frozen=True)
class Report:
    ran: Ran
    html: Path
    document: dict[str, Any]
    data: Path
    rsi_toml: Path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    tmp = tmp_path_factory.mktemp("compare")
    data = _data(tmp)
    optimization = tmp / "optimization.json"  # the shape `tradd optimize` writes
    optimization.write_text(json.dumps({
        "optimization_id": "hand-written", "strategy": SMA, "method": "grid", "trials": 2,
        "best_params": SMA_PARAMS, "best_metrics": {"sharpe": 1.0}, "top_10_results": [],
    }))  # fmt: skip
    rsi_toml = tmp / "rsi.toml"
    rsi_toml.write_text(f'strategy = "{RSI}"\n\n[params]\nperiod = 10\noversold = 25.0\n')
    html = tmp / "out" / "comparison.html"
    # One run for all tests: with a browser it prints the PDF too (test_pdf_...), so the
    # JSON and HTML tests still run where Chromium is missing.
    try:
        browser: str | None = str(find_browser(os.environ))
    except BrowserUnavailable:
        browser = None
    ran = _tradd(
        tmp, "compare", "--strategies", SMA, RSI, BREAKOUT,
        "--params-from", str(optimization), str(rsi_toml),  # joined to "a,b" by the CLI
        "--symbols", *SYMBOLS, "--start", START, "--end", END, "--cash", str(CASH),
        "--workers", "2", "--data-dir", str(data), "--output", str(html),
        "--format", "both" if browser else "html",
        env={"TRADD_CHROMIUM": browser} if browser else None,
    )  # fmt: skip
    assert ran.code == 0, ran.stderr
    return Report(ran, html, json.loads(html.with_suffix(".json").read_text()), data, rsi_toml)


def test_json_is_ranked_by_sharpe_with_every_pair_tested(report: Report) -> None:
    doc = report.document
    strategies = doc["strategies"]
    sharpes = [s["metrics"]["sharpe"] for s in strategies]
    assert sharpes == sorted(sharpes, reverse=True)
    assert [s["rank"] for s in strategies] == [1, 2, 3]
    assert {s["strategy"] for s in strategies} == {SMA, RSI, BREAKOUT}
    assert (doc["symbols"], doc["start"], doc["end"]) == (list(SYMBOLS), "2010-01-04", END)
    assert doc["initial_cash"] == CASH
    ranked = [s["label"] for s in strategies]
    pairs = [(t["first"], t["second"]) for t in doc["tests"]]
    assert pairs == [(ranked[0], ranked[1]), (ranked[0], ranked[2]), (ranked[1], ranked[2])]
    for test in doc["tests"]:
        assert test["paired_t_test"]["observations"] == doc["days"] > 700
        assert 0.0 <= test["paired_t_test"]["p_value"] <= 1.0
        assert 0.0 <= test["sharpe_difference_test"]["p_value"] <= 1.0
        assert "5% level" in test["reading"]
    out = report.ran.stdout
    assert "ranked by Sharpe" in out and all(label in out for label in ranked)
    assert str(report.html) in out.replace("\n", "")


def test_params_come_from_the_files_and_numbers_equal_a_single_backtest(
    report: Report, tmp_path: Path
) -> None:
    by_path = {s["strategy"]: s for s in report.document["strategies"]}
    assert by_path[SMA]["params"] == SMA_PARAMS
    assert by_path[SMA]["params_from"].endswith("optimization.json")
    assert by_path[RSI]["params"] == {"period": 10, "oversold": 25.0, "overbought": 70.0}
    assert by_path[RSI]["params_from"] == str(report.rsi_toml)
    assert by_path[BREAKOUT]["params"] == {"entry": 20, "exit": 10}
    assert by_path[BREAKOUT]["params_from"] is None
    broker = BrokerConfig(cash=CASH)
    for path, args in ((SMA, ["fast=5", "slow=40"]), (RSI, ["period=10", "oversold=25"])):
        inputs = ResearchInputs(
            path, SYMBOLS, date.fromisoformat(START), date.fromisoformat(END), "1d", broker
        )
        single = run_backtest(inputs, args, tmp_path / path, DataStore(report.data))
        assert by_path[path]["metrics"] == single.metrics.as_dict(), path


def test_html_report_opens_in_headless_chromium_without_errors(
    report: Report, chrome_driver: WebDriver
) -> None:
    from selenium.webdriver.common.by import By

    chrome_driver.get(file_url(report.html))
    severe = [e for e in chrome_driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    images = chrome_driver.execute_script(
        "return Array.from(document.images, i => [i.complete, i.naturalWidth, i.alt]);"
    )
    assert [alt for *_, alt in images] == ["Equity", "Drawdown"]
    assert all(complete and width > 0 for complete, width, _ in images), images
    rows = chrome_driver.find_elements(By.CSS_SELECTOR, "table#metrics tbody tr")
    labels = [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows]
    assert labels == [s["label"] for s in report.document["strategies"]]
    tests = chrome_driver.find_elements(By.CSS_SELECTOR, "table#tests tbody tr")
    assert len(tests) == 3
    external = chrome_driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('data:'));"
    )
    assert external == []


def test_pdf_is_printed_beside_the_html_and_has_content(report: Report, chromium_path: str) -> None:
    import pypdfium2

    pdf = report.html.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert report.document["files"]["pdf"] == "comparison.pdf"
    assert str(pdf) in report.ran.stdout.replace("\n", "")
    document = pypdfium2.PdfDocument(pdf)
    try:
        assert len(document) >= 1
        pixels = document[0].render(scale=1).to_numpy()
    finally:
        document.close()
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    ink = float((pixels.min(axis=2) < 245).mean())
    assert ink > 0.02, f"page 1 is nearly blank ({ink:.2%} non-white)"
