"""RunStore: the research_runs table on both backends."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.db import open_database
from tradd.research.runs import RunStore
from tradd.research.runs import store as store_module
from tradd.research.runs.store import ID_ATTEMPTS


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> RunStore:
    return RunStore(sessions, Clock())


def test_a_run_goes_from_running_to_complete_with_its_progress_and_summary(
    store: RunStore,
) -> None:
    request = {"symbols": ["GOOG"], "output": Path("/tmp/out"), "ratio": float("nan")}
    run_id = store.start("scan", request, Path("/tmp/out"), total=12)
    assert re.fullmatch(r"scan-20261202-[0-9a-f]{6}", run_id)
    started = store.get(run_id)
    assert started is not None
    assert (started.status, started.progress_done, started.progress_total) == ("running", 0, 12)
    assert started.request == {"symbols": ["GOOG"], "output": "/tmp/out", "ratio": None}
    assert started.output == "/tmp/out" and started.finished_at is None
    store.progress(run_id, 5)
    store.progress(run_id, 7, total=14)
    store.finish(run_id, "complete", {"best": {"GOOG": "x"}})
    done = store.get(run_id)
    assert done is not None
    assert (done.status, done.progress_done, done.progress_total) == ("complete", 7, 14)
    assert done.summary == {"best": {"GOOG": "x"}} and done.error is None
    assert done.finished_at is not None and done.finished_at > done.created_at
    assert done.created_at.tzinfo is not None
    store.set_summary(run_id, {"best": {}, "execution": {"rows": []}})
    assert store.get(run_id).summary == {"best": {}, "execution": {"rows": []}}  # type: ignore[union-attr]


def test_list_is_newest_first_filters_by_kind_and_limits(store: RunStore) -> None:
    first = store.start("scan", {}, None)
    second = store.start("optimize", {}, None)
    third = store.start("scan", {}, None)
    assert [r.id for r in store.list()] == [third, second, first]
    assert [r.id for r in store.list(kind="scan")] == [third, first]
    assert [r.id for r in store.list(limit=1)] == [third]
    assert [r.id for r in store.list(kind="walkforward")] == []
    with pytest.raises(ValueError, match="unknown run kind 'nope'"):
        store.list(kind="nope")
    with pytest.raises(ValueError, match="unknown run kind"):
        store.start("nope", {}, None)


def test_delete_removes_the_record_and_says_whether_there_was_one(store: RunStore) -> None:
    run_id = store.start("walkforward", {"a": 1}, None)
    assert store.delete(run_id) is True
    assert store.get(run_id) is None
    assert store.delete(run_id) is False
    store.progress(run_id, 3)  # a deleted run's process carries on without error
    store.finish(run_id, "failed", error="boom")
    assert store.get(run_id) is None


def test_a_run_finishes_only_with_a_final_status(store: RunStore) -> None:
    run_id = store.start("scan", {}, None)
    with pytest.raises(ValueError, match="not 'running'"):
        store.finish(run_id, "running")
    store.finish(run_id, "failed", error="ValueError: bad")
    record = store.get(run_id)
    assert record is not None and (record.status, record.error) == ("failed", "ValueError: bad")


def test_a_clashing_id_is_drawn_again_and_never_overwrites_a_run(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter(["aaaaaa", "aaaaaa", "bbbbbb"] + ["cccccc"] * (1 + ID_ATTEMPTS))
    monkeypatch.setattr(store_module.secrets, "token_hex", lambda n: next(draws))
    store = RunStore(sessions, lambda: datetime(2026, 12, 2, 23, 59, tzinfo=UTC))
    first = store.start("scan", {"n": 1}, None)
    second = store.start("scan", {"n": 2}, None)
    assert (first, second) == ("scan-20261202-aaaaaa", "scan-20261202-bbbbbb")
    assert store.get(first).request == {"n": 1}  # type: ignore[union-attr]
    store.start("scan", {"n": 3}, None)  # cccccc
    with pytest.raises(RuntimeError, match="could not find a free run id"):
        store.start("scan", {"n": 4}, None)
    assert sorted(r.request["n"] for r in store.list()) == [1, 2, 3]


def test_timestamps_come_back_as_the_same_instant_in_utc(
    sessions: sessionmaker[Session],
) -> None:
    local = timezone(timedelta(hours=-5))
    moment = datetime(2026, 7, 1, 20, 15, 30, 123456, tzinfo=local)
    store = RunStore(sessions, lambda: moment)
    run_id = store.start("optimize", {}, None)
    store.finish(run_id, "complete")
    record = store.get(run_id)
    assert record is not None and record.created_at == moment == record.finished_at
    assert record.created_at.utcoffset() == timedelta(0)
    assert record.as_dict()["created_at"] == "2026-07-02T01:15:30.123456+00:00"


def test_runs_written_at_once_from_two_connections_all_land(database_url: str) -> None:
    """A scan and an optimization in two processes share the database: every start,
    progress and finish of each lands, none is lost to the other's lock."""
    engines = [open_database(database_url) for _ in range(2)]
    errors: list[BaseException] = []

    def work(sessions: sessionmaker[Session], kind: str, ids: list[str]) -> None:
        try:
            store = RunStore(sessions, lambda: datetime.now(UTC))
            for _ in range(5):
                run_id = store.start(kind, {}, None, total=20)
                for done in range(1, 21):
                    store.progress(run_id, done)
                store.finish(run_id, "complete", {"n": 20})
                ids.append(run_id)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    ids: list[list[str]] = [[], []]
    threads = [threading.Thread(target=work, args=(sessions, kind, mine))
               for (_, sessions), kind, mine in zip(engines, ("scan", "optimize"), ids,
                                                    strict=True)]  # fmt: skip
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        runs = RunStore(engines[0][1], lambda: datetime.now(UTC)).list(limit=100)
    finally:
        for engine, _ in engines:
            engine.dispose()
    assert sorted(r.id for r in runs) == sorted(ids[0] + ids[1]) and len(runs) == 10
    assert {(r.status, r.progress_done, r.progress_total) for r in runs} == {("complete", 20, 20)}
