"""The control protocol and the peer policy, directly."""

from __future__ import annotations

import pytest

from tradd.config.daemon import ControlSettings
from tradd.control.commands import COMMANDS
from tradd.control.peers import Peer, PeerPolicy
from tradd.control.protocol import ErrorCode, ProtocolError, error_reply, ok_reply, parse_request
from tradd.errors import ConfigError


@pytest.mark.parametrize(("line", "code"), [
    (b"nope", "bad_json"), (b"[1]", "bad_request"), (b'{"v": 2, "cmd": "status"}', "unsupported_version"),
    (b'{"v": true, "cmd": "status"}', "unsupported_version"), (b'{"cmd": 3}', "bad_request"),
    (b'{"cmd": "status", "args": []}', "bad_request"), (b'{"cmd": "status", "x": 1}', "bad_request"),
    (b"\xff\xfe", "bad_json"), (b"[" * 100000, "bad_json"),
])  # fmt: skip
def test_bad_requests_get_their_code(line: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_request(line)
    assert caught.value.code == code


@pytest.mark.parametrize(("cmd", "args", "message"), [
    ("flatten", {}, "exactly one of strategy or all"),
    ("flatten", {"strategy": "a", "all": True}, "exactly one"),
    ("flatten", {"all": "yes"}, "exactly one"),
    ("stop", {}, "strategy must be a name"),
    ("stop", {"strategy": 5}, "strategy must be a name"),
    ("events", {"since": -1}, "since must be an integer"),
    ("status", {"verbose": True}, "unknown argument"),
])  # fmt: skip
def test_command_arguments_are_validated(cmd: str, args: dict, message: str) -> None:
    with pytest.raises(ProtocolError, match=message) as caught:
        COMMANDS[cmd].validate(args)
    assert caught.value.code == "bad_argument"


def test_replies_are_single_json_lines_even_with_nan() -> None:
    assert (
        ok_reply({"equity": float("nan")}) == b'{"v": 1, "ok": true, "result": {"equity": null}}\n'
    )
    assert error_reply(ErrorCode.CONFLICT, "busy").endswith(b"\n")


def test_only_mutating_commands_are_serialised() -> None:
    # `enter` trades, but its worker serialises entries (and a flatten answers it blocked)
    assert {n for n, c in COMMANDS.items() if not c.mutating} == {
        "status",
        "health",
        "events",
        "alerts",
        "enter",
        "proposals",
        "schedules",  # touches no strategy: runs beside a flatten or a reload
    }


def test_peer_policy() -> None:
    policy = PeerPolicy.from_settings(
        ControlSettings(allowed_uids=(1001,), allowed_groups=("0",)), own_uid=1000
    )
    assert policy.allows(Peer(1, 0, 50)) and policy.allows(Peer(1, 1000, 50))
    assert policy.allows(Peer(1, 1001, 50)) and policy.allows(Peer(1, 4242, 0))
    assert not PeerPolicy.from_settings(ControlSettings(), own_uid=1000).allows(Peer(1, 4242, 4242))
    with pytest.raises(ConfigError, match="no group named 'no-such-group'"):
        PeerPolicy.from_settings(ControlSettings(allowed_groups=("no-such-group",)))
