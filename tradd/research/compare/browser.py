"""The PDF report: the HTML report printed by headless Chromium.

Printing the very HTML the user can open means one layout to maintain and a PDF that
looks like the page. Chromium is found through `TRADD_CHROMIUM` (a path or a command
name), else `chromium`, `chromium-browser` or `google-chrome` on PATH.

It always runs with `--no-sandbox`: Chromium refuses to start its sandbox as root (CI
containers, services), and it only ever loads our own local file, no web content. Each
print gets a throwaway profile directory, so concurrent prints and a user's own browser
never share state, and a timeout; on timeout the whole process group is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path

from tradd.errors import TraddError

EXIT_UNAVAILABLE = 69
"""sysexits EX_UNAVAILABLE: a program we need is not there."""
BROWSER_ENV_VAR = "TRADD_CHROMIUM"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
PRINT_TIMEOUT_S = 120.0
INSTALL_HINT = f"install Debian's chromium (apt install chromium) or set {BROWSER_ENV_VAR}"


class BrowserUnavailable(TraddError):
    """No Chromium to print the PDF with. Install one; nothing else can help."""

    exit_code = EXIT_UNAVAILABLE


class PdfRenderError(TraddError):
    """Chromium ran but produced no PDF (crashed, timed out)."""


def find_browser(
    environ: Mapping[str, str], which: Callable[[str], str | None] = shutil.which
) -> Path:
    given = environ.get(BROWSER_ENV_VAR)
    if given:
        found = which(given) if os.sep not in given else given
        if found is None or not (os.path.isfile(found) and os.access(found, os.X_OK)):
            raise BrowserUnavailable(
                f"{BROWSER_ENV_VAR}={given}: no such executable; {INSTALL_HINT} to a "
                "Chromium or Chrome binary (needed for the PDF report)"
            )
        return Path(found)
    for name in BROWSER_NAMES:
        found = which(name)
        if found is not None:
            return Path(found)
    raise BrowserUnavailable(
        f"no Chromium found (looked for {', '.join(BROWSER_NAMES)} on PATH) to print the PDF "
        f"report: {INSTALL_HINT} to its path"
    )


def print_command(browser: Path, page: Path, pdf: Path, profile: Path) -> list[str]:
    return [
        str(browser),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--no-pdf-header-footer",  # no date and file:// path on every page
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf}",
        page.resolve().as_uri(),
    ]


def print_pdf(browser: Path, page: Path, pdf: Path, *, timeout: float = PRINT_TIMEOUT_S) -> None:
    """Print `page` to `pdf`, replacing it only once a whole PDF exists."""
    partial = pdf.with_name(f".{pdf.stem}.partial.pdf")
    partial.unlink(missing_ok=True)
    # ignore_cleanup_errors: a crashed Chromium's leftovers must not hide the real outcome
    with tempfile.TemporaryDirectory(prefix="tradd-chromium-", ignore_cleanup_errors=True) as tmp:
        command = print_command(browser, page, partial, Path(tmp) / "profile")
        code, output = _run(command, timeout, Path(tmp) / "output.log")
    if code != 0 or not partial.is_file() or partial.read_bytes()[:5] != b"%PDF-":
        partial.unlink(missing_ok=True)
        tail = "\n".join(output.strip().splitlines()[-5:])
        raise PdfRenderError(f"{browser} did not print {pdf} (exit code {code}): {tail}")
    os.replace(partial, pdf)


def _run(command: list[str], timeout: float, log: Path) -> tuple[int, str]:
    """Exit code and output. The output goes to a file, not a pipe: a helper process that
    outlives the browser (a crash reporter) would hold a pipe open, and reading it to the end
    would wait for that helper, past the timeout or, once it escaped the group, forever."""
    with log.open("w+b") as sink:
        try:
            process = subprocess.Popen(
                command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: renderers go with it
            )
        except OSError as exc:
            raise BrowserUnavailable(f"cannot start {command[0]}: {exc}; {INSTALL_HINT}") from None
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PdfRenderError(
                f"{command[0]} did not finish printing within {timeout:.0f} s"
            ) from None
        finally:
            _kill_group(process)  # on timeout the browser, always the helpers it left behind
            process.wait()
        sink.seek(0)
        return code, sink.read().decode(errors="replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
