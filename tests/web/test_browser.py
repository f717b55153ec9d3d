"""The console in headless Chromium: a real `tradd web` process, a real daemon on the
simulator, real scan jobs. One browser session walks the issue's scenarios in order:
log in; a 3-ticker analysis to 100%; every symbol's tab; execute one symbol (executed)
and another (blocked by its risk rule); the jobs page; a POST without the CSRF token
(403); another trader cannot open the job (404 shown as a message); a viewer sees no
Execute control and the API refuses it (403); markup in a ticker, a strategy name or a
job id shows as text; and no page logs a console error.

The daemon is the one of tests/supervisor/test_scan_execute.py: s1 trades TakesAProfit on
GOOG, s2 on ORCL with a 100 max order value that blocks any entry.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT
from tests.fixtures.browser import BROWSER_GROUP
from tests.fixtures.daemon import Daemon, daemon_document
from tests.fixtures.simulator import eventually, strategy_entry
from tests.fixtures.web import PASSWORDS, ROLES, write_console_config
from tradd.persistence.db import open_database
from tradd.users.store import UserStore

pytestmark = [BROWSER_GROUP]

PROFIT = "tests.research.scan.strategies.TakesAProfit"
XSS = "<img src=x onerror=window.pwned=1>"
XSS_TICKER = "<img/src=x/onerror=window.pwned=1>"
"""Markup that runs script if it ever becomes markup (`window.pwned` set)."""
WAIT = 60.0


@dataclass
class Web:
    url: str
    proc: subprocess.Popen[str]
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def add_users(database_url: str) -> None:
    """alice and bob (traders), victor (viewer), admin: created before the console starts,
    so it creates (and prints) no first admin."""
    engine, sessions = open_database(database_url)
    try:
        store = UserStore(sessions, lambda: datetime.now(UTC))
        for name, role in ROLES.items():
            store.add(name, role, SecretStr(PASSWORDS[name]))
    finally:
        engine.dispose()


@pytest.fixture
def web_console(tmp_path: Path) -> Iterator[Callable[[Path, str], Web]]:
    started: list[Web] = []

    def start(config: Path, database_url: str) -> Web:
        add_users(database_url)
        port = free_port()
        log = tmp_path / "web.out"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
        with log.open("w") as out:  # a file: a full pipe would block it
            proc = subprocess.Popen(
                [sys.executable, "-m", "tradd", "web", "--config", str(config), "--port", str(port)],
                cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,
            )  # fmt: skip
        web = Web(f"http://127.0.0.1:{port}", proc, log)
        started.append(web)
        eventually(lambda: _answers(web), 30, "tradd web answering")
        return web

    yield start
    for web in started:
        if web.proc.poll() is None:
            web.proc.send_signal(signal.SIGTERM)
            try:
                web.proc.wait(20)
            except subprocess.TimeoutExpired:
                web.proc.kill()
                web.proc.wait(10)


def _answers(web: Web) -> bool:
    if web.proc.poll() is not None:
        raise AssertionError(
            f"tradd web exited {web.proc.returncode}: {web.log.read_text()[-3000:]}"
        )
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"{web.url}/login", timeout=2) as reply,
    ):
        return bool(reply.status == 200)
    return False


class Browser:
    """The steps a person takes, and what they see."""

    def __init__(self, driver: WebDriver, base: str) -> None:
        self.driver, self.base = driver, base

    def get(self, path: str) -> None:
        self.driver.get(self.base + path)
        self.ready()

    def ready(self) -> None:
        self.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def until(self, check: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(check)
        except TimeoutException:
            body = self.driver.execute_script("return document.body && document.body.innerText")
            raise AssertionError(f"not reached within {timeout} s on {self.driver.current_url}: "
                                 f"{str(body)[:3000]}") from None  # fmt: skip

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def shown(self, css: str) -> WebElement:
        return self.until(lambda d: next((e for e in self.all(css) if e.is_displayed()), False))

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def message(self) -> str:
        return str(self.until(lambda d: self.text("#messages").strip() or False))

    def type(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def set_value(self, css: str, value: str) -> None:
        self.driver.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            self.find(css), value,
        )  # fmt: skip

    def login(self, user: str) -> None:
        self.get("/login")
        self.type("#username", user)
        self.type("#password", PASSWORDS[user])
        self.find("#login-submit").click()
        self.until(lambda d: d.current_url.startswith(self.base + "/optimizer"))
        self.ready()
        self.until(lambda d: f"{user} (" in self.text("#who"))

    def logout(self) -> None:
        self.shown("#logout").click()
        self.until(lambda d: d.current_url.startswith(self.base + "/login"))

    def confirm(self, *expected: str) -> str:
        dialog = self.shown("#confirm-dialog")
        text = str(dialog.text)
        for part in expected:
            assert part in text, text
        self.find("#confirm-ok").click()
        return text

    def fetch(self, method: str, path: str, body: Any = None, csrf: bool = False) -> Any:
        """A request from the page itself (its cookie), with or without the CSRF token."""
        script = """
            const [method, path, body, csrf, done] = arguments;
            const headers = {"Content-Type": "application/json"};
            const go = async () => {
              if (csrf) {
                const me = await (await fetch("/api/v1/auth/me")).json();
                headers["X-CSRF-Token"] = me.csrf_token;
              }
              const reply = await fetch(path, {method, headers, credentials: "same-origin",
                body: body === null ? undefined : JSON.stringify(body)});
              return {status: reply.status, body: await reply.json()};
            };
            go().then(done, (error) => done({status: 0, body: String(error)}));
        """
        return self.driver.execute_async_script(script, method, path, body, csrf)

    def errors(self, *expected_status: int) -> list[str]:
        """The console's SEVERE entries since the last call, but for the network errors
        of the statuses a step provokes on purpose (a 404 for another user's job...)."""
        allowed = [f"status of {code} " for code in expected_status]
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and not any(a in entry["message"] for a in allowed)
        ]

    def no_xss(self) -> None:
        assert self.driver.execute_script("return window.pwned === undefined")


def test_the_console_in_a_browser(
    tmp_path: Path, simulator: Any, start_daemon: Callable[..., Daemon],
    web_console: Callable[[Path, str], Web], chrome_driver: WebDriver,
) -> None:  # fmt: skip
    database_url = f"sqlite:///{tmp_path / 'tradd.db'}"
    entries = [
        strategy_entry("s1", strategy=PROFIT, bar="1d"),  # on GOOG
        strategy_entry("s2", strategy=PROFIT, bar="1d", client_id=12, symbols=["ORCL"],
                       params={"hold": 20},
                       risk={"max_order_value": {"limit": 100, "action": "BLOCK"}}),
    ]  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, database_url, entries))
    config = write_console_config(tmp_path / "console", database_url,
                                  control={"socket": str(daemon.socket)})  # fmt: skip
    web = web_console(config, database_url)
    daemon.wait_trading("s1")
    daemon.wait_trading("s2")
    page = Browser(chrome_driver, web.url)

    page.get("/login")
    assert page.errors() == []
    page.login("alice")

    # The form: the catalog, the tickers with data, a live counter, flags before submit.
    page.until(lambda d: len(page.all("#strategy-picker label.pick")) == 3)
    assert "SmaCross" in page.text("#strategy-picker")
    assert {e.text for e in page.all("#available button.chip")} == {"GOOG", "NVDA", "ORCL", "YHOO"}
    page.type("#symbols", f"goog, ORCL nvda XYZ {XSS_TICKER}")
    page.until(lambda d: page.text("#symbol-count") == "5 tickers (2 flagged)")
    flags = [e.text for e in page.all("#symbol-flags .badge")]
    assert flags == [
        "GOOG",
        "ORCL",
        "NVDA",
        "XYZ: no 1d data",
        f"{XSS_TICKER.upper()}: not a ticker",
    ]
    assert page.all("#symbol-flags img") == []  # markup in a ticker is text
    page.find("#analyze").click()
    assert "no 1d data for XYZ" in page.message()  # refused before anything is sent
    page.type("#symbols", "GOOG, ORCL, NVDA")
    page.until(lambda d: page.text("#symbol-count") == "3 tickers")
    assert page.find("#end-date").get_attribute("value") == "2013-03-01"  # the last year of data
    page.type("#extra-strategy", "<script>window.pwned=1</script>")
    page.find("#add-strategy").click()
    page.find("#analyze").click()  # the server names the strategy it refuses: as text
    message = page.until(
        lambda d: "strategies" in page.text("#messages") and page.text("#messages")
    )
    assert "<script>window.pwned=1</script>" in message
    assert page.all("#messages script") == []
    page.no_xss()
    assert page.errors(422) == []
    page.find("#strategy-picker .extra button.remove").click()
    page.type("#extra-strategy", PROFIT)
    page.find("#add-strategy").click()
    page.set_value("#start-date", "2012-10-01")
    page.set_value("#end-date", "2012-12-31")
    page.find("#analyze").click()

    # Progress to 100%, then a tab per symbol with its ranking and equity curve.
    page.until(lambda d: "?job=scan-" in d.current_url)
    job_id = chrome_driver.current_url.split("?job=")[1]
    assert page.shown("#job-id").text == job_id
    page.until(lambda d: page.text("#progress-text").startswith("100%"))
    assert page.find("#progress").get_attribute("value") == "100"
    page.shown("#results-card")
    tabs = page.all("#tabs button")
    assert [t.text for t in tabs] == ["GOOG", "NVDA", "ORCL"]
    for tab in tabs:
        tab.click()
        page.until(lambda d, s=tab.text: f"on {s}:" in page.text("#chart-caption"))
        best = page.find("#ranking tbody tr.best")
        assert best.get_attribute("data-strategy") == PROFIT and "★ best" in best.text
        assert page.find("#equity-chart").get_attribute("data-strategy") == PROFIT
        assert int(page.find("#equity-chart").get_attribute("data-points") or 0) > 50
        assert page.all("#equity-chart canvas")  # uPlot drew it
        returns = best.find_elements(By.CSS_SELECTOR, "td.num")[1]
        assert "pos" in (returns.get_attribute("class") or "")  # a winning trade: green

    # Execute GOOG: executed by s1; ORCL: blocked by s2's rule.
    page.find("#allow-stale").click()  # a rehearsal on 2012 data
    page.type("#position-pct", "5")
    page.find("#tabs button[data-symbol=GOOG]").click()
    page.shown("#execute-symbol").click()
    page.confirm("Execute GOOG?", "GOOG: TakesAProfit at 5%", "allow_stale: yes")
    executed = page.shown("#outcome-executed li[data-symbol=GOOG]").text
    assert "via s1" in executed and "order s1-1" in executed and "shares at" in executed
    page.find("#tabs button[data-symbol=ORCL]").click()
    page.until(lambda d: page.find("#execute-symbol").get_attribute("data-symbol") == "ORCL")
    page.find("#execute-symbol").click()
    page.confirm("Execute ORCL?", "ORCL: TakesAProfit at 5%")
    blocked = page.shown("#outcome-blocked li[data-symbol=ORCL]")
    assert "via s2" in blocked.text
    rule = blocked.find_element(By.CSS_SELECTOR, "li.rule")
    assert rule.get_attribute("data-rule") == "MAX_ORDER_VALUE" and "limit 100" in rule.text
    assert page.errors() == []

    # The jobs page lists it; it reopens on the optimizer page.
    page.get("/jobs")
    row = page.shown(f"#jobs tr[data-job='{job_id}']")
    assert "scan" in row.text and "alice" in row.text and "completed" in row.text
    row.find_element(By.CSS_SELECTOR, "a.open").click()
    page.until(lambda d: d.current_url.endswith(f"/optimizer?job={job_id}"))
    page.shown("#results-card")
    assert page.errors() == []

    # A state-changing request without the CSRF token is refused, with the session cookie.
    refused = page.fetch("POST", "/api/v1/optimizer/analyze", {"symbols": ["GOOG"]})
    assert refused["status"] == 403 and "X-CSRF-Token" in refused["body"]["detail"]
    assert page.errors(403) == []

    # Another trader cannot open alice's job: a 404, shown as a message; markup in a job
    # id is shown as text.
    page.logout()
    page.login("bob")
    page.get(f"/optimizer?job={job_id}")
    assert page.message() == f"no job '{job_id}'"
    assert not page.find("#results-card").is_displayed()
    page.get(f"/optimizer?job={XSS}")
    assert page.message() == f"no job '{XSS}'" and page.all("#messages img") == []
    page.no_xss()
    page.get("/jobs")
    page.shown("#empty")
    assert page.errors(404) == []

    # A viewer sees no Analyze or Execute control, and the API refuses an execute.
    page.logout()
    page.login("victor")
    assert not page.find("#analyze").is_displayed()
    assert not page.find("#execute-bar").is_displayed()
    refused = page.fetch("POST", "/api/v1/optimizer/execute", {"job_id": job_id}, csrf=True)
    assert refused["status"] == 403 and "trader role" in refused["body"]["detail"]
    for path in ("/jobs", "/research", "/live"):
        page.get(path)
    assert page.errors(403) == []

    # Back as alice: a comparison from the research page, its table, chart and tests.
    page.logout()
    page.login("alice")
    page.get("/research")
    page.until(lambda d: len(page.all("#compare-table tbody tr")) == 2)
    page.find("#kind").send_keys("Compare")
    assert not page.find("#ranges").is_displayed()
    page.type("#symbols", "GOOG")
    page.set_value("#start_date", "2011-01-03")
    page.set_value("#end_date", "2011-12-30")
    page.find("#compare-table tbody input").send_keys("nonsense")
    page.find("#submit").click()
    assert page.message() == "strategy 1: nonsense is not name=value"  # nothing sent
    page.find("#compare-table tbody input").clear()
    page.find("#submit").click()
    page.shown("#compare-card")
    assert len(page.all("#compare-results tbody tr")) == 2 and page.all("#compare-equity canvas")
    assert len(page.all("#compare-tests tbody tr")) == 1  # one pair, with its reading
    assert page.text("#job-status").startswith("completed")
    assert page.errors() == []

    # Delete the scan job from the jobs page, after a confirmation.
    page.get("/jobs")
    page.shown(f"#jobs tr[data-job='{job_id}'] button.delete").click()
    page.confirm("Delete this job?", job_id)
    page.until(lambda d: not page.all(f"#jobs tr[data-job='{job_id}']"))
    assert f"{job_id} deleted" in page.message()
    page.no_xss()
    assert page.errors() == []
