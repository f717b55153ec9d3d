"""Events as typed records: every kind is known, a halt says why, and alerts use the why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tradd.config.alerts import ALERT_KINDS
from tradd.records.base import problem
from tradd.records.events import Event, EventKind, EventsReply, HaltCause
from tradd.supervisor.alerting import from_worker

AT = datetime(2024, 3, 11, 14, 0, 1, tzinfo=UTC)


def event(**overrides: object) -> dict[str, object]:
    wire = {"seq": 1, "at": AT.isoformat(), "kind": "disconnected", "severity": "warning",
            "message": "IB link lost", "data": {"code": 1100}}  # fmt: skip
    return {**wire, **overrides}


def test_an_unknown_event_kind_fails_naming_it() -> None:
    with pytest.raises(ValidationError) as caught:
        EventsReply.model_validate({"events": [event(), event(seq=2, kind="coffee_break")]})
    said = problem(caught.value)
    assert said.startswith("events.1.kind: Input should be") and "'coffee_break'" in said


def test_an_unknown_severity_or_key_fails() -> None:
    with pytest.raises(ValidationError):
        Event.model_validate(event(severity="apocalyptic"))
    with pytest.raises(ValidationError):
        Event.model_validate(event(mood="grim"))


def test_the_wire_form_round_trips_and_names_a_cause_only_on_a_halt() -> None:
    lost = Event.model_validate(event())
    assert lost.as_dict() == event() and Event.model_validate(lost.as_dict()) == lost
    halt = Event(seq=2, at=AT, kind=EventKind.HALTED, severity="critical",
                 message="strategy error: boom", cause=HaltCause.STRATEGY_ERROR)  # fmt: skip
    assert halt.as_dict()["cause"] == "strategy_error"
    assert Event.model_validate(halt.as_dict()) == halt


@pytest.mark.parametrize(
    ("cause", "kind"),
    [(HaltCause.POSITION_MISMATCH, "mismatch"), (HaltCause.STRATEGY_ERROR, "strategy_error"),
     (None, "halted")],
)  # fmt: skip
def test_a_halts_cause_is_the_alerts_kind(cause: HaltCause | None, kind: str) -> None:
    halt = Event(seq=1, at=AT, kind=EventKind.HALTED, severity="critical",
                 message="whatever the words", cause=cause)  # fmt: skip
    alert = from_worker("s1", Event.model_validate(halt.as_dict()))
    assert (alert.kind, alert.strategy, alert.severity) == (kind, "s1", "critical")


def test_every_cause_has_an_alert_kind_and_every_kind_may_be_routed() -> None:
    assert {cause.alert_kind for cause in HaltCause} <= set(EventKind)
    assert set(ALERT_KINDS) == {str(kind) for kind in EventKind}
