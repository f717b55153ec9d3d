"""The worker command protocol: request parsing (every refusal has its code), the reply
lines both ends exchange (the wire format is pinned), and the codes documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tradd.control.protocol import ErrorCode
from tradd.records.entry import EntryArgs
from tradd.records.worker_protocol import (
    MAX_REQUEST,
    WorkerCommand,
    WorkerError,
    WorkerErrorCode,
    WorkerReply,
    WorkerRequest,
    parse_reply,
    parse_request,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "worker.md"


def error_of(line: bytes) -> WorkerError:
    parsed = parse_request(line)
    assert isinstance(parsed, WorkerError), parsed
    return parsed


# -- parse_request ---------------------------------------------------------------------------
@pytest.mark.parametrize("line", [b"not json", b'{"cmd": "status"', b"", b"\xff\xfe\x00"])
def test_bad_json(line: bytes) -> None:
    assert error_of(line).code is WorkerErrorCode.BAD_JSON


def test_deeply_nested_json_is_bad_json() -> None:
    assert error_of(b"[" * 30_000 + b"]" * 30_000).code is WorkerErrorCode.BAD_JSON


@pytest.mark.parametrize("line", [b"[1, 2]", b'"status"', b"42", b"null"])
def test_a_request_must_be_a_json_object(line: bytes) -> None:
    assert error_of(line) == WorkerError(WorkerErrorCode.BAD_REQUEST, "a request is a JSON object")


UNKNOWN = [b'{"cmd": "dance"}', b"{}", b'{"cmd": 3}', b'{"cmd": "STATUS"}',
           b'{"cmd": ["status"]}', b'{"cmd": {"a": 1}}']  # fmt: skip


@pytest.mark.parametrize("line", UNKNOWN)
def test_unknown_command(line: bytes) -> None:
    error = error_of(line)
    assert error.code is WorkerErrorCode.UNKNOWN_COMMAND
    assert all(name in error.message for name in WorkerCommand)  # it lists what is allowed


def test_unknown_command_names_what_was_asked() -> None:
    assert "cmd 'dance'" in error_of(b'{"cmd": "dance"}').message


def test_oversized_request_is_refused_before_parsing() -> None:
    line = b'{"cmd": "status", "pad": "' + b"x" * MAX_REQUEST + b'"}'
    assert error_of(line) == WorkerError(
        WorkerErrorCode.TOO_LARGE, f"request over {MAX_REQUEST} bytes"
    )


def test_request_of_exactly_the_maximum_size_is_parsed() -> None:
    head = b'{"cmd": "ping", "pad": "'
    line = head + b"x" * (MAX_REQUEST - len(head) - 2) + b'"}'
    assert len(line) == MAX_REQUEST
    parsed = parse_request(line)
    assert isinstance(parsed, WorkerRequest) and parsed.command is WorkerCommand.PING
    assert error_of(line + b" ").code is WorkerErrorCode.TOO_LARGE  # one byte more


def test_every_command_parses_to_its_member_with_its_arguments() -> None:
    for command in WorkerCommand:
        parsed = parse_request(json.dumps({"cmd": str(command), "since": 3}).encode())
        assert parsed == WorkerRequest(command, {"since": 3})
        assert isinstance(parsed, WorkerRequest) and parsed.command is command


def test_the_arguments_of_a_request_cannot_be_changed() -> None:
    request = WorkerRequest(WorkerCommand.FLATTEN, {"requested_by": "ops"})
    with pytest.raises(TypeError):
        request.args["requested_by"] = "someone else"  # type: ignore[index]


# -- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_",
    [
        WorkerRequest(WorkerCommand.STATUS),
        WorkerRequest.flatten("ops"),
        WorkerRequest.events(7, 5.0),
        WorkerRequest.enter(EntryArgs("GOOG", "BUY", quantity=3.0, client_ref="r1")),
    ],
)
def test_a_request_line_parses_back_to_the_same_request(request_: WorkerRequest) -> None:
    assert parse_request(request_.line()) == request_


def test_request_lines_keep_the_wire_format() -> None:
    assert WorkerRequest.flatten("ops").line() == b'{"cmd": "flatten", "requested_by": "ops"}\n'
    entry = EntryArgs("GOOG", "SELL", value=2000.0, requested_by="tradctl")
    assert json.loads(WorkerRequest.enter(entry).line()) == {
        "cmd": "enter", "symbol": "GOOG", "side": "SELL", "value": 2000.0,
        "requested_by": "tradctl",
    }  # fmt: skip


@pytest.mark.parametrize(
    "reply",
    [
        WorkerReply(result={"trading_state": "ACTIVE", "reason": None}),
        WorkerReply(result=None),
        *(WorkerReply.refused(code, f"why {code}") for code in WorkerErrorCode),
    ],
)
def test_a_reply_line_parses_back_to_the_same_reply(reply: WorkerReply) -> None:
    assert parse_reply(reply.line()) == reply


def test_reply_lines_keep_the_wire_format() -> None:
    assert WorkerReply(result={"a": 1}).line() == b'{"ok": true, "result": {"a": 1}}\n'
    refused = WorkerReply.refused(WorkerErrorCode.CONFLICT, "no")
    assert refused.line() == b'{"ok": false, "error": {"code": "conflict", "message": "no"}}\n'
    assert not refused.ok and WorkerReply(result=1).ok


@pytest.mark.parametrize(
    "line",
    [
        b"[]",
        b'{"ok": false}',
        b'{"ok": false, "error": "conflict"}',
        b'{"ok": false, "error": {"code": "on_fire", "message": "?"}}',
        b'{"ok": false, "error": {"code": ["conflict"], "message": "?"}}',
        b"not json",
    ],
)
def test_a_reply_outside_the_protocol_is_a_value_error(line: bytes) -> None:
    with pytest.raises(ValueError):
        parse_reply(line)


# -- the codes -------------------------------------------------------------------------------
def test_every_worker_error_code_is_a_control_protocol_code() -> None:
    """The daemon passes a worker's refusal on as a control error with the same code."""
    assert {str(code) for code in WorkerErrorCode} <= {str(code) for code in ErrorCode}
    for code in WorkerErrorCode:
        assert ErrorCode(code) == code


def test_every_command_and_error_code_is_documented() -> None:
    text = DOCS.read_text()
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE))
    assert {str(c) for c in WorkerCommand} <= rows
    assert {str(c) for c in WorkerErrorCode} <= rows
