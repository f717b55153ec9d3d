"""tracked_run: status from how the block ends, secrets kept out, progress throttled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from tradd.config.settings import Settings
from tradd.errors import DataError
from tradd.research.runs import RunStore, tracked_run
from tradd.research.runs.tracked import error_text, secret_values

PASSWORD = "s3cr3t-pw"


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingStore(RunStore):
    """A real store that also remembers each progress write."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions, lambda: datetime.now(UTC))
        self.writes: list[tuple[int, int | None]] = []

    def progress(self, run_id: str, done: int, total: int | None = None) -> None:
        self.writes.append((done, total))
        super().progress(run_id, done, total)


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> CountingStore:
    return CountingStore(sessions)


def settings() -> Settings:
    url = f"postgresql://tradd:{PASSWORD}@db.example/tradd"
    return Settings(database={"url": SecretStr(url)})  # type: ignore[arg-type]


def only_run(store: RunStore) -> Any:
    (run,) = store.list()
    return run


def test_a_block_that_ends_normally_is_complete_with_its_summary(store: CountingStore) -> None:
    with tracked_run(settings(), "scan", {"symbols": ["GOOG"]}, None, store=store) as run:
        assert store.get(run.id).status == "running"  # type: ignore[union-attr]
        run.complete({"best": {"GOOG": "strategies.sma_cross.SmaCross"}})
    record = only_run(store)
    assert record.id == run.id and record.status == "complete"
    assert record.summary == {"best": {"GOOG": "strategies.sma_cross.SmaCross"}}
    assert record.request == {"symbols": ["GOOG"]} and record.finished_at is not None


def test_an_exception_fails_the_run_without_secrets_and_is_re_raised(
    store: CountingStore,
) -> None:
    with (
        pytest.raises(DataError, match="could not reach"),
        tracked_run(settings(), "optimize", {}, None, store=store) as run,
    ):
        run.progress(3, 10)
        raise DataError(f"could not reach postgresql://tradd:{PASSWORD}@db.example/tradd")
    record = only_run(store)
    assert record.status == "failed" and record.progress_done == 3
    assert record.error == "DataError: could not reach postgresql://tradd:***@db.example/tradd"
    assert PASSWORD not in record.error


def test_ctrl_c_marks_the_run_interrupted_and_is_re_raised(store: CountingStore) -> None:
    with (
        pytest.raises(KeyboardInterrupt),
        tracked_run(settings(), "walkforward", {}, None, store=store),
    ):
        raise KeyboardInterrupt
    record = only_run(store)
    assert record.status == "interrupted" and "Ctrl-C" in record.error


@pytest.mark.parametrize(("code", "status"), [(0, "complete"), (130, "interrupted"), (1, "failed")])
def test_a_command_exit_code_decides_the_status(
    store: CountingStore, code: int, status: str
) -> None:
    """optimize and walkforward catch Ctrl-C themselves, report, then exit 130."""
    with pytest.raises(typer.Exit), tracked_run(settings(), "optimize", {}, None, store=store):
        raise typer.Exit(code)
    assert only_run(store).status == status


def test_progress_is_written_at_most_every_half_second_and_always_the_last(
    store: CountingStore,
) -> None:
    clock = Monotonic()
    with tracked_run(settings(), "optimize", {}, None, store=store, monotonic=clock) as run:
        run.progress(1, 10_000)  # the first is written at once
        for done in range(2, 10_001):
            clock.now += 0.001  # 10,000 trials in 10 s
            run.progress(done)
        run.complete({"trials": 10_000})
    writes = store.writes
    assert writes[0] == (1, 10_000)
    assert writes[-1][0] == 10_000
    assert 15 <= len(writes) <= 25  # ~every 0.5 s of 10 s, not 10,000 writes
    record = only_run(store)
    assert (record.progress_done, record.progress_total) == (10_000, 10_000)


def test_progress_is_visible_while_the_run_goes_on(store: CountingStore) -> None:
    clock = Monotonic()
    with tracked_run(settings(), "scan", {}, None, store=store, monotonic=clock) as run:
        run.progress(1, 4)
        clock.now += 0.1
        run.progress(2, 4)  # held back: too soon
        assert store.get(run.id).progress_done == 1  # type: ignore[union-attr]
        clock.now += 0.5
        run.progress(3, 4)
        assert store.get(run.id).progress_done == 3  # type: ignore[union-attr]


def test_secret_values_cover_every_secret_and_url_password() -> None:
    s = Settings(
        database={"url": SecretStr(f"postgresql://u:{PASSWORD}@h/d")},  # type: ignore[arg-type]
        alerts={"sms": {"auth_token": SecretStr("tok-123456")}},  # type: ignore[arg-type]
    )
    found = secret_values(s)
    assert PASSWORD in found and "tok-123456" in found
    text = error_text(RuntimeError(f"token tok-123456 and {PASSWORD}"), found)
    assert text == "RuntimeError: token *** and ***"


def test_a_url_password_not_in_the_settings_is_kept_out_too(store: CountingStore) -> None:
    """`tradd optimize --storage postgresql://...` is given on the command line."""
    storage = "postgresql+psycopg://optuna:Pw-9x@db.example:5432/studies"
    with (
        pytest.raises(RuntimeError),
        tracked_run(settings(), "optimize", {}, None, store=store),
    ):
        raise RuntimeError(f"cannot open storage {storage} (or sqlite:///x.db)")
    error = only_run(store).error
    assert error == (
        "RuntimeError: cannot open storage postgresql+psycopg://optuna:***@db.example:5432/"
        "studies (or sqlite:///x.db)"
    )


def unreachable() -> Settings:
    """A database nobody listens on (a closed loopback port): connecting is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://tradd:{PASSWORD}@127.0.0.1:{port}/tradd?connect_timeout=2"
    return Settings(database={"url": SecretStr(url)})  # type: ignore[arg-type]


def test_research_goes_on_unrecorded_when_the_database_is_unreachable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    done = []
    with tracked_run(unreachable(), "optimize", {}, None, required=False) as run:
        run.progress(1, 2)
        run.complete({"best": 1})
        done.append(True)
    assert done and not run.recorded and "not recorded" in run.describe()
    assert PASSWORD not in capsys.readouterr().err


def test_a_required_run_fails_when_the_database_is_unreachable() -> None:
    with pytest.raises(Exception), tracked_run(unreachable(), "scan", {}, None):  # noqa: B017
        pytest.fail("the block must not run")


def test_an_optional_run_starts_only_once_under_way(store: CountingStore) -> None:
    """A command refused at once (a typo, missing data) leaves no run behind; one that got
    going is recorded, even when it then fails."""
    with (
        pytest.raises(DataError),
        tracked_run(settings(), "optimize", {}, None, store=store, required=False),
    ):
        raise DataError("no data for NOPE")
    assert store.list() == []
    with (
        pytest.raises(DataError),
        tracked_run(settings(), "optimize", {}, None, store=store, required=False) as run,
    ):
        run.progress(0, 4)
        raise DataError("the disk filled up")
    assert only_run(store).status == "failed" and only_run(store).progress_total == 4


def test_an_optional_run_that_ends_at_once_is_still_recorded(store: CountingStore) -> None:
    with tracked_run(settings(), "walkforward", {}, None, store=store, required=False) as run:
        run.complete({"windows": 0})
    assert only_run(store).status == "complete" and run.recorded
