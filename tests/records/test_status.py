"""The worker's status as a typed record: what a worker says, the supervisor validates."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.fixtures.simulator import GOOG_OPEN, eventually, strategy_entry, worker_settings
from tests.records.samples import heartbeat, status, status_data
from tradd.records.base import problem, wire
from tradd.records.status import Heartbeat, WorkerStatus, parse_status
from tradd.simgw.background import BackgroundGateway
from tradd.worker.channel import request


def refusal(data: object) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_status(data)
    return problem(caught.value)


def test_an_unknown_key_fails_naming_it() -> None:
    said = refusal(status_data(mood="cheerful"))
    assert said.startswith("mood: Extra inputs are not permitted") and "'cheerful'" in said


def test_a_wrong_type_fails_naming_the_field_and_the_value() -> None:
    positions = {"GOOG": {"quantity": "ten", "avg_price": 1.0, "last": None,
                          "realized_pnl": 0.0}}  # fmt: skip
    said = refusal(status_data(positions=positions))
    assert said.startswith("positions.GOOG.quantity: ") and "'ten'" in said


def test_a_missing_key_fails_naming_it() -> None:
    data = status_data()
    del data["equity"]
    assert refusal(data).startswith("equity: Field required")


def test_not_a_mapping_at_all_fails() -> None:
    assert "(the record)" in refusal(["not", "a", "status"])


def test_a_heartbeat_is_a_status_with_the_loops_pulse() -> None:
    beat = parse_status(status_data(loop_turns=5, loop_age=0.5, backlog=3))
    assert isinstance(beat, Heartbeat) and (beat.loop_turns, beat.backlog) == (5, 3)
    plain = parse_status(status_data())
    assert type(plain) is WorkerStatus
    assert "loop_age" not in wire(plain)  # a status answered by the loop says no pulse
    assert refusal(status_data(loop_turns=5)).startswith("loop_age: Field required")


def test_records_are_frozen() -> None:
    record = status()
    with pytest.raises(ValidationError):
        record.equity = 1.0  # type: ignore[misc]


def test_the_wire_form_round_trips() -> None:
    for record in (status(), heartbeat()):
        assert parse_status(wire(record)) == record
    assert wire(status()) == status_data()  # the same keys and values the worker sends


def test_a_schema_can_be_generated_for_the_web_console() -> None:
    schema = Heartbeat.model_json_schema()
    assert {"positions", "stats", "loop_age"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_a_real_workers_status_and_heartbeat_round_trip(
    tmp_path: Path, simulator: BackgroundGateway, start_worker
) -> None:
    """A worker holding a position answers `status` and `heartbeat` over its socket; both
    validate, and say again exactly what the worker sent."""
    url = f"sqlite:///{tmp_path / 'tradd.db'}"
    entry = strategy_entry(params={"script": "1:BUY:10"})
    settings = worker_settings(tmp_path, simulator.port, url, [entry])
    live = start_worker(settings, simulator).ready()
    live.advance(max(GOOG_OPEN - simulator.gw.sim_time, 0) + 60)  # bar 1: BUY 10
    live.wait_until(live.engine.manager.book.positions, 10, "the buy filled")
    channel = settings.worker_channel("s1")
    answered = {
        "status": request(channel, "status")["result"],
        "heartbeat": eventually(  # the loop publishes what it did within a quarter second
            lambda: (r := request(channel, "heartbeat")["result"])["positions"] and r, 10
        ),
    }
    for command, sent in answered.items():
        record = parse_status(sent)
        assert wire(record) == sent, command
        assert record.positions["GOOG"].quantity == 10, command
        assert record.stats.orders["submitted"] == 1, command
    assert isinstance(record, Heartbeat) and record.loop_turns > 0
