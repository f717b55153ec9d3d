"""A job's life through the real app and real processes: the queue and its limits,
cancel (queued and running), a process killed, a console restarted under a running job,
retention, and a command that fails at once."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fixtures.simulator import eventually
from tests.fixtures.web import Console
from tests.web.support import (
    LONG,
    SMALL,
    FakeClock,
    finished,
    gone,
    status,
    submit,
    wait_status,
)


def running_with_progress(client: Any, job_id: str) -> dict[str, Any]:
    """The job's status once it runs and has finished at least one backtest."""

    def started() -> dict[str, Any] | None:
        body = status(client, job_id)
        assert body["status"] in ("queued", "running"), body
        return body if body["status"] == "running" and body["done"] >= 1 else None

    found: dict[str, Any] = eventually(started, 180, f"{job_id} running with progress")
    return found


def test_the_running_limit_queues_the_rest_in_order(
    console_factory: Callable[..., Console],
) -> None:
    console = console_factory(web={"max_running_jobs": 1}, start_runner=False)
    alice, bob = console.client("alice"), console.client("bob")
    medium = {**LONG, "symbols": ["GOOG", "ORCL"]}  # still running when the others are read
    first, second, third = submit(alice, medium), submit(bob), submit(alice)
    assert [status(alice, first)["queue_position"], status(bob, second)["queue_position"],
            status(alice, third)["queue_position"]] == [1, 2, 3]  # fmt: skip
    console.ctx.runner.start()
    wait_status(alice, first, "running")
    queued = status(bob, second)
    assert queued["status"] == "queued" and queued["queue_position"] == 1, queued
    assert status(alice, third)["queue_position"] == 2
    clients = {first: alice, second: bob, third: alice}
    for job_id, client in clients.items():
        assert finished(client, job_id, timeout=300)["status"] == "completed"
    spans = [(at(status(c, j)["started_at"]), at(status(c, j)["finished_at"]))
             for j, c in clients.items()]  # fmt: skip
    for (_, before_end), (next_start, _) in itertools.pairwise(spans):
        assert before_end <= next_start, spans  # one at a time, in the order they came


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_per_user_limit_answers_429_until_a_job_is_cancelled(
    console_factory: Callable[..., Console],
) -> None:
    console = console_factory(web={"max_jobs_per_user": 2}, start_runner=False)
    alice, bob = console.client("alice"), console.client("bob")
    first, _ = submit(alice), submit(alice)
    refused = alice.post("/api/v1/optimizer/analyze", json=SMALL)
    assert refused.status_code == 429, refused.text
    assert refused.json()["detail"] == (
        "alice has 2 jobs queued or running (limit 2, [web] max_jobs_per_user): wait for one "
        "or cancel it"
    )
    submit(bob)  # a limit per user
    deleted = alice.delete(f"/api/v1/optimizer/jobs/{first}")
    assert deleted.json() == {"job_id": first, "deleted": True, "cancelled": True}
    assert alice.get(f"/api/v1/optimizer/status/{first}").status_code == 404
    submit(alice)


def test_cancelling_a_running_job_keeps_what_it_finished_in_the_cache(
    console_factory: Callable[..., Console],
) -> None:
    console = console_factory()
    alice = console.client("alice")
    job_id = submit(alice, LONG)
    progress = running_with_progress(alice, job_id)
    job = console.ctx.jobs.get(job_id)
    assert job is not None and job.pid is not None
    reply = alice.delete(f"/api/v1/optimizer/jobs/{job_id}")
    assert reply.json() == {"job_id": job_id, "deleted": True, "cancelled": True}, reply.text
    after = alice.get(f"/api/v1/optimizer/status/{job_id}")
    assert after.status_code in (200, 404), after.text
    if after.status_code == 200:  # cancelled, until its process has ended
        assert after.json()["status"] == "cancelled"
    eventually(lambda: gone(job.pid), 60, "the cancelled job's process to end")  # type: ignore[arg-type]
    eventually(lambda: alice.get(f"/api/v1/optimizer/status/{job_id}").status_code == 404, 30,
               "the cancelled job deleted")  # fmt: skip
    assert console.ctx.runs.get(job_id) is None
    assert not Path(job.output).exists()
    rerun = submit(alice, LONG)
    done = finished(alice, rerun, timeout=300)
    assert done["status"] == "completed", done
    assert done["cache_hits"] is not None and done["cache_hits"] >= progress["done"], done


def test_a_job_whose_process_is_killed_is_failed_with_the_reason(
    console_factory: Callable[..., Console],
) -> None:
    console = console_factory()
    alice = console.client("alice")
    job_id = submit(alice, LONG)
    running_with_progress(alice, job_id)
    job = console.ctx.jobs.get(job_id)
    assert job is not None and job.pid is not None
    os.killpg(job.pid, signal.SIGKILL)
    failed = wait_status(alice, job_id, "failed", "completed", timeout=30)
    assert failed["status"] == "failed", failed
    assert failed["error"] == (
        f"the job's process (pid {job.pid}) was killed by SIGKILL without finishing its run"
    )
    run = console.ctx.runs.get(job_id)
    assert run is not None and run.status == "failed"


def test_a_job_survives_a_restart_of_the_console(
    console_factory: Callable[..., Console],
) -> None:
    first = console_factory()
    alice = first.client("alice")
    job_id = submit(alice, LONG)
    running_with_progress(alice, job_id)
    key = alice.cookies["tradd_session"]
    job = first.ctx.jobs.get(job_id)
    assert job is not None and job.pid is not None
    first.close()
    assert not gone(job.pid)  # the console stopped, its job did not

    second = console_factory()
    stale = second.client()
    stale.cookies.set("tradd_session", key)
    assert stale.get("/api/v1/auth/me").status_code == 401  # sessions do not survive
    alice = second.client("alice")
    assert status(alice, job_id)["status"] in ("running", "completed")
    done = finished(alice, job_id, timeout=300)
    assert done["status"] == "completed" and done["progress"] == 100.0, done
    assert len(alice.get(f"/api/v1/optimizer/results/{job_id}").json()["results"]) == 4


def test_finished_jobs_are_deleted_after_the_retention_period(
    console_factory: Callable[..., Console],
) -> None:
    clock = FakeClock()
    console = console_factory(web={"retention_days": 2, "housekeeping_interval": 600.0},
                              clock=clock.clock, monotonic=clock.monotonic)  # fmt: skip
    token = console.token_client("alice")  # sessions would expire as the clock moves on
    job_id = submit(token)
    assert finished(token, job_id)["status"] == "completed"
    job = console.ctx.jobs.get(job_id)
    assert job is not None and Path(job.output, "scan.json").is_file()

    clock.wall += timedelta(days=1)
    console.ctx.runner.housekeeping()
    assert status(token, job_id)["status"] == "completed"  # younger than 2 days: kept

    clock.advance(1.5 * 86400)  # the runner's own round is due now
    eventually(lambda: token.get(f"/api/v1/optimizer/status/{job_id}").status_code == 404, 30,
               "the job deleted by housekeeping")  # fmt: skip
    assert console.ctx.runs.get(job_id) is None
    assert not Path(job.output).exists()


def test_a_job_whose_command_fails_at_once_is_failed_with_its_error_line(
    console_factory: Callable[..., Console],
) -> None:
    console = console_factory(start_runner=False)
    alice = console.client("alice")
    job_id = submit(alice, {"symbols": ["GOOG"]})  # GOOG has data now ...
    (Path(console.settings.data.dir) / "GOOG.1d.csv").unlink()  # ... and no longer
    console.ctx.runner.start()
    failed = wait_status(alice, job_id, "failed", "completed", timeout=120)
    assert failed["status"] == "failed", failed
    data = console.settings.data.dir
    assert failed["error"] == (
        f"tradd: error: none of the symbols has 1d data in {data}: no 1d data for GOOG"
    )
