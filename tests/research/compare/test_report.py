"""Ranking, readings, the HTML and the JSON, on synthetic runs (no backtest needed)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from strategies.sma_cross import SmaCross
from tradd.errors import UsageError
from tradd.research.compare.analysis import Comparison, compare, reading
from tradd.research.compare.browser import PdfRenderError
from tradd.research.compare.html import render
from tradd.research.compare.report import ReportFiles, check_output, to_document, write_report
from tradd.research.compare.runner import Contender, StrategyRun
from tradd.research.metrics import compute_metrics, daily_returns
from tradd.research.stats.significance import SignificanceTest

CASH = 100_000.0
DAYS = 500
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def _run(label: str, daily: np.ndarray, params: dict[str, object] | None = None) -> StrategyRun:
    clock = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + len(daily))
    clock = clock.astype("datetime64[s]")
    equity = CASH * np.cumprod(1.0 + daily)
    metrics = compute_metrics(equity, clock, [], initial_cash=CASH, bars_in_market=0)
    contender = Contender(label, f"strategies.x.{label}", SmaCross, params or {"fast": 1})
    return StrategyRun(contender, metrics, clock, equity, daily_returns(equity, clock, CASH))


def _runs() -> list[StrategyRun]:
    rng = np.random.default_rng(7)
    market = rng.normal(0.0003, 0.01, DAYS)
    return [
        _run("Middle", market + rng.normal(0.0005, 0.004, DAYS)),
        _run("Best", market + rng.normal(0.004, 0.004, DAYS)),
        _run("Worst", market + rng.normal(-0.002, 0.004, DAYS)),
    ]


def _comparison(runs: list[StrategyRun]) -> Comparison:
    return compare(runs, symbols=("GOOG",), bar="1d", initial_cash=CASH)


def test_runs_are_ranked_by_sharpe_and_every_pair_is_tested() -> None:
    c = _comparison(_runs())
    assert [r.contender.label for r in c.runs] == ["Best", "Middle", "Worst"]
    sharpes = [r.metrics.sharpe for r in c.runs]
    assert sharpes == sorted(sharpes, reverse=True)
    assert [(p.first, p.second) for p in c.pairs] == [
        ("Best", "Middle"),
        ("Best", "Worst"),
        ("Middle", "Worst"),
    ]
    best_worst = c.pairs[1]
    assert best_worst.paired_t.significant() and best_worst.sharpe is not None
    assert best_worst.sharpe.statistic > 0 and best_worst.sharpe.significant()
    assert "Best is better than Worst by both tests at the 5% level" in best_worst.reading
    assert (c.start, c.end) == ("2020-01-01", str(np.datetime64("2020-01-01") + DAYS - 1))


def test_ties_keep_the_command_line_order() -> None:
    daily = np.random.default_rng(1).normal(0.001, 0.01, 50)
    c = _comparison([_run("A", daily), _run("B", daily.copy())])
    assert [r.contender.label for r in c.runs] == ["A", "B"]
    assert c.pairs[0].paired_t.p_value == 1.0
    assert "cannot tell A and B apart" in c.pairs[0].reading


def test_a_flat_strategy_gets_a_t_test_but_no_sharpe_test() -> None:
    daily = np.random.default_rng(2).normal(0.001, 0.01, 60)
    c = _comparison([_run("Active", daily), _run("Idle", np.zeros(60))])
    pair = c.pairs[0]
    assert pair.sharpe is None
    assert pair.sharpe_note is not None and "constant series" in pair.sharpe_note
    assert "the Sharpe ratios cannot be tested" in pair.reading


def test_readings_in_plain_words() -> None:
    def test(statistic: float, p: float) -> SignificanceTest:
        return SignificanceTest(statistic, p, 100, "m")

    mixed = reading("A", "B", test(2.5, 0.01), test(1.0, 0.3))
    assert mixed.startswith("A has a higher mean daily return than B, significantly (p = 0.010)")
    assert "the Sharpe ratios do not differ significantly (p = 0.300)" in mixed
    assert mixed.endswith(
        "Mixed evidence at the 5% level: only the paired t-test finds A better than B."
    )
    opposite = reading("A", "B", test(-2.5, 0.01), test(3.0, 0.003))
    assert opposite.endswith("the two tests point in opposite directions.")
    reversed_ = reading("A", "B", test(-4.0, 0.0001), test(-3.5, 0.0004))
    assert "B is better than A by both tests" in reversed_
    assert "p < 0.001" in reversed_


def test_with_no_sharpe_test_a_significant_t_test_is_not_called_mixed() -> None:
    """A strategy that never trades has no Sharpe test; the t-test alone then decides, and
    the reading must not claim the tests disagree."""
    rng = np.random.default_rng(3)
    c = _comparison([_run("Active", rng.normal(0.004, 0.01, 250)), _run("Idle", np.zeros(250))])
    pair = c.pairs[0]
    assert pair.sharpe is None and pair.paired_t.significant()
    assert "Mixed" not in pair.reading
    assert pair.reading.endswith("Active is better than Idle by the paired t-test at the 5% level.")
    quiet = reading("A", "B", SignificanceTest(1.0, 0.3, 100, "m"), None)
    assert quiet.endswith("cannot tell A and B apart: the gap between them may be luck.")


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_escaped() -> None:
    runs = _runs()
    evil = "<script>alert('x')</script>"
    runs[0] = _run('Mid<b>"dle"', runs[0].daily, {"note": evil})
    page = render(_comparison(runs), {"Equity": b"\x89PNG-1", "Drawdown <&>": b"\x89PNG-2"}, NOW)
    parsed = _Structure()
    parsed.feed(page)
    tags = [t for t, _ in parsed.tags]
    assert "script" not in tags and "link" not in tags and "b" not in tags
    assert evil in "".join(parsed.text)  # shown as text, escaped in the source
    assert "&lt;script&gt;" in page and "Mid&lt;b&gt;&quot;dle&quot;" in page
    images = [a["src"] for t, a in parsed.tags if t == "img"]
    assert images == [
        "data:image/png;base64,iVBORy0x",
        "data:image/png;base64,iVBORy0y",
    ]
    assert not re.search(r"(https?:)?//[a-z]", page.replace("file://", ""))
    assert "Drawdown &lt;&amp;&gt;" in page
    assert "2024-05-06T07:08:09+00:00" in page


def test_write_report_html_and_json(tmp_path: Path) -> None:
    output = tmp_path / "out" / "cmp.html"
    files = write_report(_comparison(_runs()), output, "html", now=lambda: NOW)
    assert files.pdf is None
    assert sorted(p.name for p in output.parent.iterdir()) == [
        "cmp.drawdown.png",
        "cmp.equity.png",
        "cmp.html",
        "cmp.json",
        "cmp.returns.csv",
    ]
    for chart in files.charts:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads(files.json.read_text())
    assert [s["label"] for s in document["strategies"]] == ["Best", "Middle", "Worst"]
    assert [s["rank"] for s in document["strategies"]] == [1, 2, 3]
    assert document["days"] == DAYS
    assert document["files"] == {
        "html": "cmp.html",
        "json": "cmp.json",
        "equity_png": "cmp.equity.png",
        "drawdown_png": "cmp.drawdown.png",
        "returns_csv": "cmp.returns.csv",
    }
    pair = document["tests"][1]
    assert (pair["first"], pair["second"]) == ("Best", "Worst")
    assert pair["paired_t_test"]["significant"] is True
    assert pair["sharpe_difference_test"]["observations"] == DAYS
    assert document["generated_at"] == "2024-05-06T07:08:09+00:00"


@pytest.mark.parametrize(
    ("output", "fmt", "message"),
    [
        ("r.html", "docx", "--format 'docx': use one of html, pdf, both"),
        ("r.pdf", "pdf", "--output r.pdf: name the HTML report"),
        ("results", "html", "--output results: name the HTML report"),
    ],
)
def test_bad_output_or_format(output: str, fmt: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        check_output(Path(output), fmt)


def test_a_failed_pdf_still_leaves_the_json(tmp_path: Path) -> None:
    """Chromium failing after the backtests must not lose the numbers: the JSON is written
    before printing, without a PDF it does not have."""
    broken = tmp_path / "broken-chromium"
    broken.write_text("#!/bin/sh\necho 'renderer crashed' >&2\nexit 5\n")
    broken.chmod(0o755)
    output = tmp_path / "out" / "cmp.html"
    with pytest.raises(PdfRenderError, match="exit code 5.*renderer crashed"):
        write_report(_comparison(_runs()), output, "both", broken, now=lambda: NOW)
    document = json.loads(output.with_suffix(".json").read_text())
    assert [s["label"] for s in document["strategies"]] == ["Best", "Middle", "Worst"]
    assert "pdf" not in document["files"]
    assert not output.with_suffix(".pdf").exists()


def test_a_printed_pdf_is_listed_in_the_json(tmp_path: Path) -> None:
    fake = tmp_path / "fake-chromium"
    fake.write_text(
        '#!/bin/sh\nfor a in "$@"; do case $a in --print-to-pdf=*) '
        'printf "%%PDF-1.4 x" > "${a#*=}";; esac; done\n'
    )
    fake.chmod(0o755)
    output = tmp_path / "cmp.html"
    files = write_report(_comparison(_runs()), output, "pdf", fake, now=lambda: NOW)
    assert files.pdf == tmp_path / "cmp.pdf" and files.pdf.read_bytes() == b"%PDF-1.4 x"
    assert json.loads(files.json.read_text())["files"]["pdf"] == "cmp.pdf"


def test_json_params_are_strict_json() -> None:
    """TOML allows `nan` and a strategy default may be any object; JSON allows neither."""
    runs = _runs()
    runs[0] = _run("Odd", runs[0].daily, {"level": math.nan, "kind": Path("x"), "n": 3})
    c = _comparison(runs)
    files = ReportFiles(Path("c.html"), Path("c.json"), ())
    document = to_document(c, files, NOW)
    text = json.dumps(document, allow_nan=False)  # raises on NaN
    odd = next(s for s in json.loads(text)["strategies"] if s["label"] == "Odd")
    assert odd["params"] == {"level": None, "kind": "x", "n": 3}
