"""Benchmark: an event raised in a worker to its email accepted by an SMTP server.

One run (about half a minute): the IB simulator (paused, stepped by this process) and an
aiosmtpd server on loopback run on threads here; `tradd run` is a real process with one
real worker running `bench.bench_strategies.EveryBar` on GOOG with 5-second bars, whose every
order the risk gate refuses (`max_order_value` 1 USD, BLOCK): one `risk_breach` event per
bar, each a distinct alert (`dedup_window = 0`). The path measured is the product's own:
worker event -> the supervisor's long poll of the worker's events -> router -> outbox
(SQLite) -> dispatcher -> aiosmtplib -> the SMTP server's DATA accepted. Latency = the
server's receipt time minus the event's time stamp (the `at:` line of the body, taken by
the worker when it raised the event; same machine, same clock). ``--alerts`` (200) bars,
one every ``--interval`` (0.1 s). Target: p99 <= 1 s. Results: bench/results/alerts.json.

    .venv/bin/python -m bench.alerts_bench [--alerts 200] [--interval 0.1] [--tiny]

``--tiny`` (CI: tests/bench/test_live_benches.py; about 10 s, most of it the daemon's
start-up): 5 alerts, results in bench/results/tiny/alerts.json; figures that mean nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import tomli_w
from aiosmtpd.controller import Controller

from bench.daemon_bench import all_trading, wait, write_results
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.config import SimConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "alerts.json"
TINY_OUTPUT = ROOT / "bench" / "results" / "tiny" / "alerts.json"
TINY_ALERTS = 5
AT_LINE = re.compile(r"^at: (\S+)\r?$", re.M)


class Inbox:
    """aiosmtpd handler: the receipt time and the event time of every message."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.lock = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received = time.time()
        payload = message_from_bytes(envelope.content).get_payload(decode=True)
        body = payload if isinstance(payload, bytes) else b""
        match = AT_LINE.search(body.decode("utf-8", "replace"))
        if match:
            sent = datetime.fromisoformat(match.group(1)).timestamp()
            with self.lock:
                self.latencies.append(received - sent)
                self.lock.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float) -> int:
        with self.lock:
            self.lock.wait_for(lambda: len(self.latencies) >= count, timeout)
            return len(self.latencies)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def document(tmp: Path, port: int, smtp_port: int) -> dict[str, Any]:
    off = {"limit": "off"}
    strategy = {
        "name": "alerting",
        "strategy": "bench.bench_strategies.EveryBar",
        "symbols": ["GOOG"],
        "client_id": 31,
        "bar": "5s",
        "warmup_bars": 30,
        "params": {"size": 1},
        "risk": {"max_order_value": {"limit": 1.0, "action": "BLOCK"}},
    }
    return {
        "state_dir": str(tmp / "state"),
        "log": {"dir": str(tmp / "logs"), "console": False},
        "database": {"url": f"sqlite:///{tmp / 'tradd.db'}"},
        "broker": {"port": port, "market_clock": "gateway", "probe_interval": 2.0},
        "worker": {"heartbeat": 0.2, "channel_dir": str(tmp / "run")},
        "supervisor": {"heartbeat_interval": 1.0},
        "control": {"socket": str(tmp / "control.sock")},
        "metrics": {"enabled": False},
        "risk": {
            "max_position_size": off,
            "max_daily_loss": {"limit_pct": "off"},
            "max_drawdown": off,
            "max_leverage": off,
            "position_limit": off,
            "max_orders_per_minute": off,
        },
        "alerts": {
            "dedup_window": 0,
            "daily_loss_pct": "off",
            "summary": {"enabled": False},
            "email": {
                "enabled": True,
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "none",
                "recipients": ["ops@example.com"],
                "rate_limit": 100000,
            },
        },
        "strategies": [strategy],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    sim_config = SimConfig(
        data_dir=ROOT / "tradd" / "sample_data",
        port=0,
        speed=0,
        pacing=False,
        start=date(2006, 1, 10),
        symbols=("GOOG",),
    )
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with contextlib.ExitStack() as stack:
            name = args.workdir or stack.enter_context(
                tempfile.TemporaryDirectory(prefix="tradd-alerts-bench-")
            )
            sim = stack.enter_context(BackgroundGateway(sim_config))
            tmp = Path(name)
            config = tmp / "tradd.toml"
            config.write_text(tomli_w.dumps(document(tmp, sim.port, smtp.port)))
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
            with (tmp / "daemon.err").open("w") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "tradd", "run", "--config", str(config)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            try:
                sock = tmp / "control.sock"
                wait(lambda: all_trading(sock, 1), 120, "the worker trading")
                pause = threading.Event()
                for _ in range(args.alerts):
                    sim.call(sim.gw.advance, 5)
                    pause.wait(args.interval)
                got = inbox.wait_for(args.alerts, 30)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
    finally:
        smtp.stop()
    ms = sorted(x * 1000 for x in inbox.latencies)
    if not ms:
        raise SystemExit("alerts bench: no email arrived")
    return {
        "alerts": args.alerts,
        "delivered": got,
        "p50_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 1),
        "max_ms": round(ms[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--workdir", help="keep configs, logs and database here (debugging)")
    parser.add_argument("--tiny", action="store_true", help=f"{TINY_ALERTS} alerts (CI)")
    args = parser.parse_args()
    if args.tiny:
        args.alerts = TINY_ALERTS
    write_results(run(args), args.output or (TINY_OUTPUT if args.tiny else DEFAULT_OUTPUT))


if __name__ == "__main__":
    main()
