"""The daemon's busy state: a record, shown to operators as words, tested as a kind."""

from __future__ import annotations

from tradd.control.commands import COMMANDS
from tradd.records.busy import Busy, BusyKind


def test_every_state_changing_command_is_a_kind_of_busy() -> None:
    mutating = {name for name, command in COMMANDS.items() if command.mutating}
    assert mutating <= set(BusyKind)


def test_operators_read_what_is_under_way() -> None:
    assert str(Busy(BusyKind.RELOAD, "SIGHUP")) == "reload (SIGHUP)"
    assert str(Busy(BusyKind.FLATTEN)) == "flatten"
