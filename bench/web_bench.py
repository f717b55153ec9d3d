"""Benchmark: the web console (`tradd web`) as a real process on loopback, against its targets.

1. Status polling: 50 clients, each polling `GET /api/v1/optimizer/status/{id}` every 2 s
   (the specification's interval), staggered; latency p50/p99/max (target p99 <= 20 ms).
   Then the same 50 clients back to back, as fast as the console answers: its throughput
   and latency when saturated; and one client back to back, the cost of one request
   (both reported, not judged).
2. Each page's first render: in headless Chromium (selenium), the time from navigation
   start until the page's main element is built (for pages behind the login, the nav the
   shared script builds once `/api/v1/auth/me` answered), each page visited once in one
   browser, as a user would (shared assets cached after the first page; the browser
   already running: it first loads the bare favicon, which caches nothing a page uses). Without
   Chromium (or with --no-browser): the page's HTML and every asset it names, fetched.
   Target <= 300 ms.
3. A 20-symbol x 3-strategy analysis through the API (POST analyze, polled to completion
   every 0.1 s) against the same `tradd scan` on the command line (`--no-cache`, as in
   bench/scan_bench.py: the same data directory of 20 symbol files, the same workers, the
   console's configuration and database).
   Each API round starts with an empty backtest cache. Target: API <= 1.2 x CLI. Once more
   through the API with the cache warm, to show the cache hits.
4. The console's RSS (its own process, not its jobs') after all of the above:
   target <= 150 MB.

    .venv/bin/python -m bench.web_bench [--tiny] [--workers N] [--repeat N] [--no-browser]

`--tiny` (CI: tests/bench/test_web_bench.py): 10 clients for 2 s, 4 symbols, one round;
the figures are printed, not judged (a shared CI machine is no place for speed targets).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from bench.daemon_bench import write_results
from bench.scan_bench import COPIES, make_data_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "web.json"
TINY_OUTPUT = ROOT / "bench" / "results" / "tiny" / "web.json"
PAGES = ("login", "optimizer", "jobs", "research", "live")
TARGETS = {"status_p99_ms": 20.0, "page_ms": 300.0, "api_over_cli": 1.2, "rss_mb": 150.0}
PASSWORD = re.compile(r"created user admin with password (\S+)")
POLL_INTERVAL = 2.0
"""The specification's polling interval."""


@dataclass(frozen=True)
class Console:
    url: str
    pid: int
    config: Path
    database: Path
    cookies: dict[str, str]
    csrf: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def console(root: Path, data_dir: Path, workers: int) -> Iterator[Console]:
    """`tradd web` on a config of its own under `root`, logged in as the first admin."""
    port = _free_port()
    root.mkdir(parents=True)
    database = root / "tradd.db"
    config = root / "tradd.toml"
    config.write_text(tomli_w.dumps({
        "state_dir": str(root / "state"), "log": {"dir": str(root / "logs"), "console": False},
        "data": {"dir": str(data_dir)}, "database": {"url": f"sqlite:///{database}"},
        "control": {"socket": str(root / "control.sock")},
        "web": {"port": port, "job_workers": workers, "max_running_jobs": 1,
                "max_jobs_per_user": 100, "dispatch_interval": 0.05},
    }))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    banner = root / "web.out"
    with banner.open("w") as out:
        argv = [sys.executable, "-m", "tradd", "web", "--config", str(config)]
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        password = _wait_banner(proc, banner)
        url = f"http://127.0.0.1:{port}"
        login = {"username": "admin", "password": password}
        reply = httpx.post(f"{url}/api/v1/auth/login", json=login, timeout=30)
        reply.raise_for_status()
        csrf = reply.json()["csrf_token"]
        yield Console(url, proc.pid, config, database, dict(reply.cookies), csrf)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_banner(proc: subprocess.Popen[bytes], banner: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = banner.read_text()
        found = PASSWORD.search(text)
        if found and "tradd console on" in text:
            return found.group(1)
        if proc.poll() is not None:
            sys.exit(f"tradd web exited {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.05)
    sys.exit(f"tradd web: no banner within 60 s:\n{banner.read_text()[-3000:]}")


def _client(c: Console, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=c.url, cookies=c.cookies, headers={"X-CSRF-Token": c.csrf},
                        timeout=60, **kwargs)  # fmt: skip


# --- 1. status polling ---------------------------------------------------------------------


async def _poller(client: httpx.AsyncClient, path: str, until: float, interval: float,
                  offset: float, latencies: list[float]) -> None:  # fmt: skip
    await asyncio.sleep(offset)
    while time.perf_counter() < until:
        start = time.perf_counter()
        reply = await client.get(path)
        latencies.append(time.perf_counter() - start)
        if reply.status_code != 200:
            raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:200]}")
        if interval:
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - start)))


def poll(c: Console, job_id: str, clients: int, seconds: float, interval: float) -> dict[str, Any]:
    """`clients` clients (one connection each, made before the clock starts) polling for
    `seconds`, each every `interval` (0: back to back), staggered over the interval."""
    latencies: list[float] = []
    path = f"/api/v1/optimizer/status/{job_id}"
    elapsed = 0.0

    async def main() -> None:
        nonlocal elapsed
        limits = httpx.Limits(max_connections=1)
        pool = [httpx.AsyncClient(base_url=c.url, cookies=c.cookies, limits=limits, timeout=30)
                for _ in range(clients)]  # fmt: skip
        try:
            await asyncio.gather(*(client.get(path) for client in pool))  # connect
            started = time.perf_counter()
            until = started + seconds
            await asyncio.gather(*(_poller(client, path, until, interval,
                                           interval * i / clients, latencies)
                                   for i, client in enumerate(pool)))  # fmt: skip
            elapsed = time.perf_counter() - started
        finally:
            await asyncio.gather(*(client.aclose() for client in pool))

    asyncio.run(main())
    ms = sorted(x * 1000 for x in latencies)
    return {"clients": clients, "interval_s": interval, "seconds": round(elapsed, 1),
            "requests": len(ms), "per_second": round(len(ms) / elapsed, 1),
            "p50_ms": _pct(ms, 50), "p99_ms": _pct(ms, 99), "max_ms": round(ms[-1], 2)}  # fmt: skip


def _pct(sorted_ms: list[float], pct: float) -> float:
    index = min(len(sorted_ms) - 1, round(pct / 100 * (len(sorted_ms) - 1)))
    return round(sorted_ms[index], 2)


# --- 2. pages ---------------------------------------------------------------------------


READY = """
const done = arguments[arguments.length - 1];
const page = arguments[0];
function ready() {
  if (page === "login") return document.querySelector("main") !== null;
  const nav = document.getElementById("nav");
  return nav !== null && nav.childElementCount > 0;
}
(function check() {
  if (ready()) {
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    done({ready: performance.now(), fcp: paint ? paint.startTime : null,
          load: performance.getEntriesByType("navigation")[0].loadEventEnd});
  } else requestAnimationFrame(check);
})();
"""


def pages_in_browser(c: Console) -> dict[str, Any] | None:
    """Per page: ms from navigation start to the main element built; None without Chromium."""
    chromium = os.environ.get("TRADD_CHROMIUM") or shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    with tempfile.TemporaryDirectory(prefix="tradd-web-bench-chrome-") as profile:
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", f"--user-data-dir={profile}"):  # fmt: skip
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(driver_path, log_output=os.devnull),
                                  options=options)  # fmt: skip
        try:
            driver.set_script_timeout(30)
            out: dict[str, Any] = {}
            # A user opens the console in a browser that is already running: start the
            # browser's renderer and connection on a bare asset first (no page's HTML, script
            # or stylesheet is cached by it), so the login page is not charged with Chromium's
            # own start-up (~80 ms here) that no page can shorten.
            driver.get(f"{c.url}/static/favicon.svg")
            for page in PAGES:
                driver.get(f"{c.url}/{page}")
                timing = driver.execute_async_script(READY, page)
                out[page] = {k: round(v, 1) if v is not None else None for k, v in timing.items()}
                if page == "login":
                    for name, value in c.cookies.items():
                        driver.add_cookie({"name": name, "value": value, "path": "/",
                                           "httpOnly": True, "sameSite": "Strict"})  # fmt: skip
            return out
        finally:
            driver.quit()


ASSET = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")


def pages_fetched(c: Console) -> dict[str, float]:
    """Per page: ms to fetch its HTML and every asset it names (a fresh client each)."""
    out = {}
    for page in PAGES:
        with _client(c) as client:
            start = time.perf_counter()
            html = client.get(f"/{page}")
            html.raise_for_status()
            for asset in ASSET.findall(html.text):
                client.get(asset).raise_for_status()
            out[page] = round((time.perf_counter() - start) * 1000, 1)
    return out


# --- 3. analysis: API vs CLI ------------------------------------------------------------------


def analyze(c: Console, symbols: list[str]) -> tuple[float, dict[str, Any]]:
    with _client(c) as client:
        start = time.perf_counter()
        reply = client.post("/api/v1/optimizer/analyze", json={"symbols": symbols})
        if reply.status_code != 202:
            sys.exit(f"analyze: {reply.status_code} {reply.text}")
        job_id = reply.json()["job_id"]
        while True:
            status = client.get(f"/api/v1/optimizer/status/{job_id}").json()
            if status["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        if status["status"] != "completed":
            sys.exit(f"analysis {job_id} {status['status']}: {status.get('error')}")
        results = client.get(f"/api/v1/optimizer/results/{job_id}").json()["results"]
    rows = sum(len(r["strategies"]) for r in results)
    failed = sum(1 for r in results for s in r["strategies"] if s.get("error"))
    if len(results) != len(symbols) or failed:
        sys.exit(f"analysis {job_id}: {len(results)} symbols, {failed} failed backtests")
    return elapsed, {"job_id": job_id, "backtests": rows, "cache_hits": status.get("cache_hits")}


def cli_scan(c: Console, data_dir: Path, output: Path, symbols: list[str], workers: int) -> float:
    """The same scan as `tradd scan` on the command line, as bench/scan_bench.py times it
    (a fresh process, `--no-cache`), on the console's own configuration and database, so
    that only the console's part differs."""
    tradd = str(Path(sys.executable).with_name("tradd"))
    cmd = [tradd, "scan", "--config", str(c.config), "--data-dir", str(data_dir),
           "--symbols", ",".join(symbols), "--strategies", "all", "--workers", str(workers),
           "--output", str(output), "--no-cache"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"tradd scan failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def empty_cache(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM backtest_cache")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


# --- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tradd-web-bench-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        data_dir.mkdir()
        symbols = make_data_dir(data_dir, 1 if args.tiny else COPIES)
        with console(root / "console", data_dir, args.workers) as c:
            stages = {"idle": rss_mb(c.pid)}
            api_times, cli_times = [], []
            for round_ in range(args.repeat):
                empty_cache(c.database)
                api, shape = analyze(c, symbols)
                api_times.append(api)
                cli_times.append(cli_scan(c, data_dir, root / f"cli{round_}", symbols,
                                          args.workers))  # fmt: skip
            warm, warm_shape = analyze(c, symbols)
            stages["after_analyses"] = rss_mb(c.pid)
            clients, seconds = (10, 2.0) if args.tiny else (50, 30.0)
            steady = poll(c, shape["job_id"], clients, seconds, POLL_INTERVAL)
            saturated = poll(c, shape["job_id"], clients, seconds / 3, 0.0)
            single = poll(c, shape["job_id"], 1, seconds / 6, 0.0)
            stages["after_polling"] = rss_mb(c.pid)
            browser = None if args.no_browser else pages_in_browser(c)
            fetched = pages_fetched(c)
            rss = stages["after_pages"] = rss_mb(c.pid)
    ratio = round(min(api_times) / min(cli_times), 2)
    page_ms = {p: t["ready"] for p, t in browser.items()} if browser else fetched
    return {
        "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
        "status_polling": steady, "status_polling_saturated": saturated,
        "status_polling_one_client": single,
        "pages_browser": browser, "pages_fetched_ms": fetched,
        "page_measure": "chromium: navigation start -> main element built" if browser
        else "HTML + assets fetched (no chromium)",
        "analysis": {"symbols": len(symbols), "backtests": shape["backtests"],
                     "workers": args.workers, "api_seconds": [round(t, 2) for t in api_times],
                     "cli_seconds": [round(t, 2) for t in cli_times], "api_over_cli": ratio,
                     "api_warm_seconds": round(warm, 2),
                     "api_warm_cache_hits": warm_shape["cache_hits"]},
        "console_rss_mb": rss, "console_rss_mb_by_stage": stages,
        "targets": TARGETS,
        "verdict": _verdict(steady["p99_ms"], max(page_ms.values()), ratio, rss),
    }  # fmt: skip


def _verdict(p99: float, page: float, ratio: float, rss: float) -> dict[str, dict[str, Any]]:
    figures = {"status_p99_ms": p99, "page_ms": page, "api_over_cli": ratio, "rss_mb": rss}
    return {k: {"figure": v, "target": TARGETS[k], "ok": v <= TARGETS[k]}
            for k, v in figures.items()}  # fmt: skip


def table(results: dict[str, Any]) -> str:
    names = {"status_p99_ms": "status poll p99, 50 clients @2 s (ms)",
             "page_ms": "slowest page first render (ms)",
             "api_over_cli": "analysis API / CLI time", "rss_mb": "console RSS (MB)"}  # fmt: skip
    lines = [f"{'figure':<42} {'value':>9} {'target':>8}  ok"]
    for key, row in results["verdict"].items():
        ok = "yes" if row["ok"] else "NO"
        lines.append(f"{names[key]:<42} {row['figure']:>9} {'<= ' + str(row['target']):>8}  {ok}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--tiny", action="store_true", help="small and quick (CI)")
    parser.add_argument("--no-browser", action="store_true", help="fetch pages, no Chromium")
    args = parser.parse_args()
    args.output = args.output or (TINY_OUTPUT if args.tiny else DEFAULT_OUTPUT)
    if args.tiny:
        args.repeat = 1
    results = run(args)
    write_results(results, args.output)
    print(table(results))


if __name__ == "__main__":
    main()
