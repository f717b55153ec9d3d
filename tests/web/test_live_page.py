"""The Live page in headless Chromium, served by a real `tradd web` beside a real daemon:
a trader sees the strategy at a glance, pauses it after a confirmation and sees it
REDUCING and the event naming them; a viewer sees no action buttons; no console errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fixtures.alert_servers import free_port
from tests.fixtures.browser import BROWSER_GROUP
from tests.fixtures.daemon import daemon_document
from tests.fixtures.simulator import eventually, strategy_entry
from tests.fixtures.web import PASSWORDS

pytestmark = [BROWSER_GROUP]


def listening(port: int, web: subprocess.Popen[bytes]) -> bool:
    assert web.poll() is None, "tradd web exited"
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def log_in(driver: Any, base: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login?next=/live")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[user])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    eventually(lambda: driver.current_url.endswith("/live"), 10, "the live page")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_live_page_shows_pauses_and_hides_by_role(
    tmp_path: Path, simulator: Any, database_url: str, start_daemon: Any,
    console_factory: Any, chrome_driver: Any,
) -> None:  # fmt: skip
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    daemon = start_daemon(daemon_document(tmp_path, simulator, database_url, [strategy_entry()]))
    daemon.wait_trading("s1")
    console = console_factory(root=tmp_path / "console", control={"socket": str(daemon.socket)},
                              start_runner=False)  # fmt: skip
    port = free_port()
    with (tmp_path / "web.out").open("w") as out:
        web = subprocess.Popen([sys.executable, "-m", "tradd", "web", "--config",
                                str(console.config), "--port", str(port)], cwd=ROOT,
                               stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        eventually(lambda: listening(port, web), 30, "tradd web listening")
        driver = chrome_driver
        log_in(driver, base, "alice")

        def row_text() -> str:  # the table is redrawn every 2 s: an element may go stale
            try:
                rows = driver.find_elements(By.CSS_SELECTOR, "#strategies tr[data-strategy='s1']")
                return str(rows[0].text) if rows else ""
            except StaleElementReferenceException:
                return ""

        def click(selector: str) -> bool:
            try:
                driver.find_element(By.CSS_SELECTOR, selector).click()
            except StaleElementReferenceException:
                return False
            return True

        eventually(lambda: "RUNNING" in row_text() and "connected" in row_text(), 15, "s1 shown")
        assert "ACTIVE" in row_text() and "GOOG" in row_text()
        eventually(lambda: "not explained by the strategies" in driver.find_element(
            By.ID, "unexplained").text, 15, "the account's attribution line")  # fmt: skip
        eventually(lambda: click("button[data-action='pause'][data-strategy='s1']"), 10, "pause")
        dialog = driver.find_element(By.ID, "confirm-dialog")
        assert "web:alice" in dialog.text
        driver.find_element(By.ID, "confirm-ok").click()
        eventually(lambda: "REDUCING" in row_text(), 15, "s1 paused")
        eventually(lambda: "s1 paused by web:alice" in driver.find_element(By.ID, "events").text,
                   15, "the pause in the events")  # fmt: skip
        assert not driver.find_element(By.ID, "flatten-all").is_displayed()  # admin only

        log_in(driver, base, "victor")
        eventually(lambda: "REDUCING" in row_text(), 15, "the viewer sees s1")
        assert driver.find_elements(By.CSS_SELECTOR, "button[data-action]") == []
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == [], severe
    finally:
        web.terminate()
        web.wait(30)
