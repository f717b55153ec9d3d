"""`pause` and `resume` take who asked (`requested_by`, "tradctl" unless said; the web
console sends `web:<user>`), checked by the daemon before any worker hears of it. The
daemon's event naming them is tested against the real daemon in tests/web/test_live_api.py."""

from __future__ import annotations

import pytest

from tradd.control.commands import COMMANDS
from tradd.control.protocol import ErrorCode, ProtocolError


@pytest.mark.parametrize("name", ["pause", "resume"])
def test_requested_by_defaults_to_tradctl_and_is_kept(name: str) -> None:
    command = COMMANDS[name]
    assert command.validate({"strategy": "s1"}) == {"strategy": "s1", "requested_by": "tradctl"}
    given = {"strategy": "s1", "requested_by": "web:alice"}
    assert command.validate(given) == given


@pytest.mark.parametrize("name", ["pause", "resume"])
@pytest.mark.parametrize("by", ["", "x" * 65, "line\nbreak", 7, None])
def test_a_bad_requested_by_is_refused_naming_it(name: str, by: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        COMMANDS[name].validate({"strategy": "s1", "requested_by": by})
    assert caught.value.code == ErrorCode.BAD_ARGUMENT
    assert f"{name}: requested_by must be 1 to 64 printable characters" in str(caught.value)


def test_other_arguments_are_still_refused() -> None:
    with pytest.raises(ProtocolError, match="unknown argument"):
        COMMANDS["pause"].validate({"strategy": "s1", "all": True})
