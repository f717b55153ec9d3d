"""Finding Chromium and driving it, with stand-in browsers (shell scripts)."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest

from tradd.cli.app import main
from tradd.research.compare.browser import (
    EXIT_UNAVAILABLE,
    BrowserUnavailable,
    PdfRenderError,
    find_browser,
    print_pdf,
)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_browser_prefers_the_environment_then_path(tmp_path: Path) -> None:
    own = _script(tmp_path / "my-chrome", "exit 0\n")
    on_path = {"chromium-browser": "/usr/bin/chromium-browser", "mine": str(own)}
    assert find_browser({"TRADD_CHROMIUM": str(own)}, on_path.get) == own
    assert find_browser({"TRADD_CHROMIUM": "mine"}, on_path.get) == own
    assert find_browser({}, on_path.get) == Path("/usr/bin/chromium-browser")


def test_no_browser_is_exit_69_naming_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(BrowserUnavailable) as caught:
        find_browser({}, lambda name: None)
    assert caught.value.exit_code == EXIT_UNAVAILABLE == 69
    message = str(caught.value)
    assert "chromium, chromium-browser, google-chrome" in message
    assert "install Debian's chromium" in message and "TRADD_CHROMIUM" in message
    not_executable = tmp_path / "chrome"
    not_executable.write_text("")
    with pytest.raises(BrowserUnavailable, match=f"TRADD_CHROMIUM={not_executable}: no such"):
        find_browser({"TRADD_CHROMIUM": str(not_executable)}, lambda name: None)


def test_cli_with_a_missing_browser_exits_69_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TRADD_CHROMIUM", "/nonexistent")
    output = tmp_path / "c.html"
    with pytest.raises(SystemExit) as caught:
        main(["compare", "--strategies", "strategies.sma_cross.SmaCross",
              "strategies.rsi.RsiReversion", "--symbols", "GOOG", "--data-dir", str(tmp_path),
              "--output", str(output), "--format", "both"])  # fmt: skip
    assert caught.value.code == 69
    err = capsys.readouterr().err
    assert "TRADD_CHROMIUM=/nonexistent: no such executable" in err
    assert "install Debian's chromium" in err
    assert not output.exists()


def test_cli_needs_two_strategies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["compare", "--strategies", "strategies.sma_cross.SmaCross", "--symbols", "GOOG",
              "--output", str(tmp_path / "c.html")])  # fmt: skip
    assert caught.value.code == 2
    assert "--strategies: give at least 2 strategies" in capsys.readouterr().err


def test_print_pdf_passes_the_page_and_replaces_the_pdf(tmp_path: Path) -> None:
    """The stand-in writes a PDF where --print-to-pdf says and records its arguments."""
    args = tmp_path / "args"
    browser = _script(
        tmp_path / "fake-chromium",
        f'printf "%s\\n" "$@" > {args}\n'
        'for a in "$@"; do case $a in --print-to-pdf=*) printf "%%PDF-1.4 x" > "${a#*=}";; '
        "esac; done\n",
    )
    page = tmp_path / "report.html"
    page.write_text("<html></html>")
    pdf = tmp_path / "report.pdf"
    pdf.write_text("old")
    print_pdf(browser, page, pdf)
    assert pdf.read_bytes() == b"%PDF-1.4 x"
    given = args.read_text().splitlines()
    assert {"--headless", "--no-sandbox", "--disable-gpu"} <= set(given)
    assert given[-1] == page.resolve().as_uri()
    profile = next(a for a in given if a.startswith("--user-data-dir="))
    assert not Path(profile.split("=", 1)[1]).exists()  # the throwaway profile is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "args",
        "fake-chromium",
        "report.html",
        "report.pdf",
    ]


def test_a_failing_browser_is_reported_and_leaves_no_pdf(tmp_path: Path) -> None:
    browser = _script(tmp_path / "broken", "echo 'GPU process exited' >&2\nexit 3\n")
    with pytest.raises(PdfRenderError, match="exit code 3.*GPU process exited"):
        print_pdf(browser, tmp_path / "r.html", tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()
    assert not (tmp_path / ".r.partial.pdf").exists()


def test_a_hanging_browser_is_killed_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    browser = _script(tmp_path / "hang", f"sleep 60 &\necho $! > {pids}\nwait\n")
    started = time.monotonic()
    with pytest.raises(PdfRenderError, match="did not finish printing within 1 s"):
        print_pdf(browser, tmp_path / "r.html", tmp_path / "r.pdf", timeout=1.0)
    assert time.monotonic() - started < 30
    child = int(pids.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_helper_left_holding_the_output_does_not_stall_a_finished_print(tmp_path: Path) -> None:
    """Chromium can leave a helper (its crash reporter) running with our stdout. The print
    is done when the browser exits; waiting for the helper to close the output would turn a
    good PDF into a timeout."""
    pids = tmp_path / "pids"
    browser = _script(
        tmp_path / "leaves-a-helper",
        f"sleep 60 &\necho $! > {pids}\n"
        'for a in "$@"; do case $a in --print-to-pdf=*) printf "%%PDF-1.4 y" > "${a#*=}";; '
        "esac; done\necho printed\n",
    )
    pdf = tmp_path / "r.pdf"
    print_pdf(browser, tmp_path / "r.html", pdf, timeout=20.0)
    assert pdf.read_bytes() == b"%PDF-1.4 y"
    _wait_gone(int(pids.read_text()))  # the helper went with the browser's process group


def test_a_timeout_returns_even_if_a_helper_escaped_the_group(tmp_path: Path) -> None:
    """A helper in its own session survives the group kill and keeps the output open;
    the timeout must still end the print promptly."""
    pids = tmp_path / "pids"
    browser = _script(
        tmp_path / "escapes", f"setsid sh -c 'echo $$ > {pids}; exec sleep 60' &\nsleep 60\n"
    )
    started = time.monotonic()
    try:
        with pytest.raises(PdfRenderError, match="within 1 s"):
            print_pdf(browser, tmp_path / "r.html", tmp_path / "r.pdf", timeout=1.0)
        assert time.monotonic() - started < 20
    finally:
        deadline = time.monotonic() + 10
        while not pids.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(int(pids.read_text()), signal.SIGKILL)  # the helper this test started


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat_path = Path(f"/proc/{pid}/stat")
    return not (stat_path.exists() and stat_path.read_text().split()[2] == "Z")
