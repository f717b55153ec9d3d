"""`tradd drift` end to end: a live worker on the simulator, then its replay.

One live session serves every assertion (these tests are expensive). First with no
fault: the replay reproduces every live signal and fill exactly. Then slippage, a
rejection and an outage are injected in turn, and the report must put each on its cause.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.fixtures.simulator import GOOG_OPEN, Live, strategy_entry, worker_settings
from tests.research.conftest import Tradd
from tradd.errors import EXIT_CONFIG, EXIT_DATA
from tradd.persistence.db import open_database
from tradd.persistence.drift_results import DriftResults
from tradd.persistence.ledger import Ledger, utc_now
from tradd.persistence.live_bars import LiveBar, LiveBars, LiveSession
from tradd.simgw.background import BackgroundGateway

SLIP_TICKS = 3
TICK = 0.01


def _config(tmp_path: Path, sim: BackgroundGateway, url: str) -> tuple[Any, Path]:
    entry = strategy_entry(strategy="tests.research.drift.strategies.Flip", warmup_bars=10)
    settings = worker_settings(tmp_path, sim.port, url, [entry])
    document = settings.model_dump(mode="json", exclude_none=True)
    document["database"]["url"] = url
    path = tmp_path / "tradd.toml"
    path.write_text(tomli_w.dumps(document))
    return settings, path


def _bars(live: Live, count: int) -> None:
    """`count` minute bars, each handled (and its order answered) before the next: the
    market stands still between a bar's close and its order, as at IB in that instant."""
    for _ in range(count):
        live.advance(60)


def _drift(tradd: Tradd, config: Path, output: Path) -> dict[str, Any]:
    code, out, err = tradd("drift", "s1", "--config", str(config), "--output", str(output))
    assert code == 0, (out, err)
    assert "drift" in out and str(output / "drift.html") in out
    return dict(json.loads((output / "drift.json").read_text()))


def _by_kind(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in doc["fills"] if f["kind"] == kind]


def test_drift_exact_without_faults_then_each_fault_on_its_cause(
    tmp_path: Path, simulator: BackgroundGateway, start_worker: Any, tradd: Tradd
) -> None:
    url = f"sqlite:///{tmp_path / 'tradd.db'}"
    settings, config = _config(tmp_path, simulator, url)
    live = start_worker(settings, simulator).ready()
    live.advance(max(GOOG_OPEN - simulator.gw.sim_time, 0))
    engine, sessions = open_database(url)
    ledger = Ledger(sessions, "s1")
    try:
        _bars(live, 20)
        live.worker.bar_log.flush()  # what housekeeping does every snapshot_interval
        [session] = LiveBars(sessions).sessions("s1")
        assert (session.strategy_path, session.params, session.symbols, session.bar_seconds) == (
            "tests.research.drift.strategies.Flip", {"size": 10}, ("GOOG",), 60)  # fmt: skip
        clean = _drift(tradd, config, tmp_path / "clean")
        assert clean["bars"] == {"live": 20, "offline": 0, "warmup": 11}
        _assert_exact(clean, ledger)
        # the shared account's attribution over the period, in the JSON and the HTML
        assert [s["strategy"] for s in clean["attribution"]["strategies"]] == ["s1"]
        assert set(clean["attribution"]["account"]) >= {"pnl", "strategies_pnl", "unexplained"}
        html = (tmp_path / "clean" / "drift.html").read_text()
        assert "not explained by any strategy" in html
        stored = DriftResults(sessions, utc_now).latest()["s1"]
        assert stored.report_path == str((tmp_path / "clean" / "drift.html").resolve())
        assert stored.drift_pnl == pytest.approx(0.0, abs=1e-9)
        assert stored.run_id is not None and stored.run_id.startswith("drift-")
        code, out, _ = tradd("runs", "list", "--kind", "drift", "--config", str(config))
        assert code == 0 and stored.run_id in out

        slipped = _with_slippage(live, simulator, ledger)
        rejected = _with_rejection(live, simulator, ledger)
        _with_outage(live, simulator)
        _bars(live, 6)
        assert live.stop() == 0  # flushes the bar log
        faults = _drift(tradd, config, tmp_path / "faults")
        _assert_causes(faults, slipped, rejected)

        code, _, err = tradd("drift", "s1", "--config", str(config), "--from", "2001-02-05",
                             "--to", "2001-02-06", "--output", str(tmp_path / "none"))  # fmt: skip
        assert code == EXIT_DATA and "2001-02-05" in err and "2001-02-06" in err
        code, _, err = tradd("drift", "nope", "--config", str(config))
        assert code == EXIT_CONFIG and "'nope'" in err
    finally:
        engine.dispose()


def _assert_exact(doc: dict[str, Any], ledger: Ledger) -> None:
    fills = ledger.fills()
    assert len(fills) >= 4, "the strategy should have traded a few times"
    assert doc["signals"] == {"matched": len(fills), "missed": 0, "added": 0, "unfilled": 0}
    for row in doc["fills"]:
        assert row["live"]["price"] == pytest.approx(row["replay"]["price"], abs=1e-9), row
        assert row["slippage_bps"] == pytest.approx(0.0, abs=1e-6)
        assert row["live"]["commission"] == pytest.approx(row["replay"]["commission"])
    assert doc["drift_pnl"] == pytest.approx(0.0, abs=1e-9)
    assert doc["live_pnl"] == pytest.approx(doc["replay_pnl"], abs=1e-9)
    assert all(v == pytest.approx(0.0, abs=1e-9) for v in doc["components"].values())
    assert doc["offline"] == []


def _with_slippage(live: Live, sim: BackgroundGateway, ledger: Ledger) -> set[str]:
    """Market orders fill SLIP_TICKS worse for a while: the order refs that did."""
    before = {f.order_ref for f in ledger.fills()}
    sim.call(sim.gw.faults.slip, SLIP_TICKS)
    _bars(live, 8)
    sim.call(sim.gw.faults.slip, 0)
    refs = {f.order_ref for f in ledger.fills()} - before
    assert refs, "no fill while slipping"
    return {r for r in refs if r}


def _with_rejection(live: Live, sim: BackgroundGateway, ledger: Ledger) -> str:
    sim.call(sim.gw.faults.reject_next, 201)
    for _ in range(20):
        _bars(live, 1)
        rejected = [o for o in ledger.orders() if o.status == "Rejected"]
        if rejected:
            return rejected[0].order_ref
    raise AssertionError("no order to reject in 20 bars")


def _with_outage(live: Live, sim: BackgroundGateway) -> None:
    """1100: data stops for five minutes; 1101: the worker fills the gap from history."""
    sim.call(sim.gw.faults.connectivity_lost)
    sim.call(sim.gw.advance, 300)
    live.clock.catch_up()
    sim.call(sim.gw.faults.connectivity_restored, data_lost=True)
    live.wait_until(lambda: live.engine.ready_count >= 2, 15, "re-synced after 1101")
    live.settle()


def _assert_causes(doc: dict[str, Any], slipped: set[str], rejected: str) -> None:
    c = doc["components"]
    assert sum(c.values()) == pytest.approx(doc["drift_pnl"], abs=1e-6)
    worse = [f for f in _by_kind(doc, "matched") if f["live"]["order_ref"] in slipped]
    assert {f["live"]["order_ref"] for f in worse} == slipped
    cost = sum(f["live"]["filled"] * SLIP_TICKS * TICK for f in worse)
    assert c["slippage"] == pytest.approx(-cost, abs=1e-6)
    assert all(f["slippage_bps"] > 0 and f["delay_seconds"] >= 0 for f in worse)
    refused = [f for f in doc["fills"] if f["cause"] == "refused"]
    assert refused[0]["kind"] == "missed" and refused[0]["live"]["order_ref"] == rejected
    assert refused[0]["live"]["status"] == "Rejected"
    # the replay's exit of the position live never got is the rejection's too
    assert [f["side"] for f in refused] == ["BUY", "SELL"]
    assert c["refused"] == pytest.approx(sum(f["effect"] for f in refused), abs=1e-9)
    history = [p for p in doc["offline"] if p["how"] == "read as history"]
    assert history and history[0]["bars"] == 5
    offline = [f for f in doc["fills"] if f["cause"] == "offline"]
    assert offline and all(f["kind"] == "missed" and f["live"] is None for f in offline)
    # opened on a bar live read only as history; its exit (maybe after) is offline too
    assert history[0]["from"] <= offline[0]["bar"] < history[0]["to"]
    assert c["offline"] == pytest.approx(sum(f["effect"] for f in offline), abs=1e-9)
    assert c["offline"] != 0.0
    assert c["signal"] == pytest.approx(0.0, abs=1e-9)
    assert c["commissions"] == pytest.approx(0.0, abs=1e-9)
    assert c["other"] == pytest.approx(0.0, abs=1e-6)


def test_live_bars_round_trip_per_session(sessions: Any) -> None:
    """What a worker writes reads back as it was, on SQLite and PostgreSQL: the session's
    parameters, and the bars of exactly the sessions that read one in the period."""
    store = LiveBars(sessions)
    t0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    first = store.start_session(LiveSession("s1", t0, "pkg.Mod.Cls", {"fast": 5, "x": 1.5},
                                            ("GOOG",), 60, 5.0, {"per_share": 0.005}))  # fmt: skip
    later = store.start_session(LiveSession("s1", t0 + timedelta(days=1), "pkg.Mod.Cls", {},
                                            ("GOOG",), 60, 5.0, {}))  # fmt: skip

    def bar(session: int, minute: int, historical: bool) -> LiveBar:
        start = t0 + timedelta(minutes=minute)
        return LiveBar(session, "s1", "GOOG", 60, start, 1.0, 2.0, 0.5, 1.5, 100.0, historical,
                       start + timedelta(seconds=60, microseconds=123))  # fmt: skip

    bars = [bar(first, m, m < 2) for m in range(4)] + [bar(later, 24 * 60 + 1, False)]
    assert store.add(bars) == 5 and store.add([]) == 0
    [session, _] = store.sessions("s1")
    assert (session.id, session.params, session.symbols) == (first, {"fast": 5, "x": 1.5},
                                                             ("GOOG",))  # fmt: skip
    assert store.session_ids("s1", t0 + timedelta(minutes=2), t0 + timedelta(hours=1)) == [first]
    assert store.session_bars([first], t0 + timedelta(days=2)) == bars[:4]
    assert store.newest("s1") == bars[-1].start
    assert store.sessions("other") == [] and store.newest("other") is None
