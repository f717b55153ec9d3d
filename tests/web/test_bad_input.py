"""Bad input through the real app: every field of analyze, execute and history refused
with a 422 that names it and the value, malformed and oversized bodies, unknown jobs, the
daemon and the database out of reach; never a stack trace."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures.simulator import eventually
from tests.fixtures.web import Console
from tests.web.support import SMALL, database_down, finished, submit

ANALYZE = "/api/v1/optimizer/analyze"
EXECUTE = "/api/v1/optimizer/execute"
UNKNOWN = "scan-20990101-abcdef"


def clean(reply: Any) -> Any:
    """`reply`, checked to hold no trace of the code that answered it."""
    text = reply.text
    for trace in ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3."):
        assert trace not in text, text
    return reply


def refused(reply: Any, field: str, *shown: str) -> str:
    """The 422's detail, checked to name `field` and each of `shown`."""
    clean(reply)
    assert reply.status_code == 422, reply.text
    detail: str = reply.json()["detail"]
    assert detail.startswith((f"{field}:", f"{field} ")) or f" {field} " in detail, detail
    for text in shown:
        assert text in detail, (text, detail)
    return detail


def case(change: Any, field: str | None, shown: list[str], id: str) -> tuple[Any, ...]:
    return (id, change, field, shown)


ANALYZE_CASES = [
    case({"symbols": []}, "symbols", ["at least 1 item", "got []"], id="no-symbols"),
    case(
        {"symbols": [f"S{i}" for i in range(101)]},
        "symbols",
        ["at most 100 items"],
        id="too-many-symbols",
    ),
    case({"symbols": ["GOOG", "GO<OG"]}, "symbols.1", ["got 'GO<OG'"], id="bad-characters"),
    case(
        {"symbols": ["<script>alert(1)</script>"]},
        "symbols.0",
        ["got '<script>alert(1)</script>'"],
        id="script-symbol",
    ),
    case({"symbols": ["GOOG", "ORCL", "goog"]}, "symbols", ["repeated: GOOG"], id="duplicates"),
    case({"symbols": ["AAPL", "GOOG"]}, "symbols", ["no 1d data for AAPL"], id="no-data"),
    case(
        {"start_date": "2012-01-01", "end_date": "2011-06-30"},
        "start_date",
        ["2012-01-01", "end_date 2011-06-30"],
        id="dates-reversed",
    ),
    case(
        {"start_date": "2011-06-30", "end_date": "2011-06-30"},
        "start_date",
        ["2011-06-30"],
        id="dates-equal",
    ),
    case({"start_date": "2011-02-30"}, "start_date", ["got '2011-02-30'"], id="invalid-date"),
    case({"end_date": "last tuesday"}, "end_date", ["got 'last tuesday'"], id="not-a-date"),
    case({"initial_capital": 0}, "initial_capital", ["greater than 0", "got 0"], id="capital-zero"),
    case({"initial_capital": -5000}, "initial_capital", ["got -5000"], id="capital-negative"),
    case({"initial_capital": "lots"}, "initial_capital", ["got 'lots'"], id="capital-text"),
    case({"max_position_pct": 0}, "max_position_pct", ["got 0"], id="pct-zero"),
    case(
        {"max_position_pct": 100.5},
        "max_position_pct",
        ["less than or equal to 100", "got 100.5"],
        id="pct-over-100",
    ),
    case({"max_position_pct": -1}, "max_position_pct", ["got -1"], id="pct-negative"),
    case(
        {"strategies": ["strategies.nope.Nope"]},
        "strategies",
        ["strategies.nope.Nope", "not found"],
        id="unknown-strategy",
    ),
    case(
        {"strategies": ["strategies.sma_cross.NoSuchClass"]},
        "strategies",
        ["NoSuchClass"],
        id="unknown-class",
    ),
    case({"strategies": ["<script>"]}, "strategies.0", ["got '<script>'"], id="strategy-markup"),
    case(
        {"strategies": "strategies.rsi.RsiReversion"},
        "strategies",
        ["valid list"],
        id="strategies-not-a-list",
    ),
    case(
        {"colour": "red"},
        "colour",
        ["Extra inputs are not permitted", "got 'red'"],
        id="unknown-field",
    ),
]


@pytest.fixture
def alice(shared_console: Console) -> Iterator[Any]:
    """alice logged in to the module's console: the tests that take her only send what is
    refused or ask for what does not exist, so none changes what another one sees."""
    yield shared_console.client("alice")


def check(cases: list[tuple[Any, ...]], call: Callable[[Any], Any]) -> None:
    """Every case (id, input, field, shown): refused naming `field` and `shown` (a 404 when
    `field` is None); all of them checked, then every failure reported at once."""
    failures = []
    for name, given, field, shown in cases:
        try:
            reply = call(given)
            if field is None:
                assert clean(reply).status_code == 404, reply.text
            else:
                refused(reply, field, *shown)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)


def test_each_analyze_field_is_checked(alice: Any) -> None:
    check(ANALYZE_CASES, lambda change: alice.post(ANALYZE, json={**SMALL, **change}))
    assert alice.get("/api/v1/optimizer/history").json()["total"] == 0  # nothing queued


def test_a_missing_field_is_named_without_the_body_around_it(alice: Any) -> None:
    detail = refused(alice.post(ANALYZE, json={"strategies": None}), "symbols", "Field required")
    assert "got" not in detail
    detail = refused(alice.post(EXECUTE, json={"symbols": ["GOOG"]}), "job_id", "Field required")
    assert "GOOG" not in detail


EXECUTE_CASES = [
    case({"job_id": ""}, "job_id", ["at least 1 character"], id="empty-id"),
    case({"job_id": "x" * 65}, "job_id", ["at most 64 characters"], id="long-id"),
    case({"job_id": 12}, "job_id", ["valid string", "got 12"], id="number-id"),
    case({"job_id": UNKNOWN, "symbols": ["<b>"]}, "symbols.0", ["got '<b>'"], id="symbol"),
    case({"job_id": UNKNOWN, "symbols": []}, None, [], id="no-symbols-means-all"),
    case({"job_id": UNKNOWN, "position_pct": 0}, "position_pct", ["got 0"], id="pct-zero"),
    case({"job_id": UNKNOWN, "position_pct": 150}, "position_pct", ["got 150"], id="pct-150"),
    case(
        {"job_id": UNKNOWN, "allow_stale": "maybe"}, "allow_stale", ["got 'maybe'"], id="stale-text"
    ),
    case(
        {"job_id": UNKNOWN, "dry_run": True},
        "dry_run",
        ["Extra inputs are not permitted"],
        id="unknown-field",
    ),
    case({"job_id": UNKNOWN}, None, [], id="unknown-job"),
]
HISTORY_CASES = [
    case("page=0", "page", ["got '0'"], id="page-0"),
    case("page=-3", "page", ["got '-3'"], id="page-negative"),
    case("page=abc", "page", ["got 'abc'"], id="page-text"),
    case("page_size=0", "page_size", ["got '0'"], id="size-0"),
    case("page_size=201", "page_size", ["got '201'"], id="size-201"),
]


def test_each_execute_field_is_checked(alice: Any) -> None:
    check(EXECUTE_CASES, lambda body: alice.post(EXECUTE, json=body))


def test_history_paging_is_checked(alice: Any) -> None:
    check(HISTORY_CASES, lambda query: alice.get(f"/api/v1/optimizer/history?{query}"))


def test_execute_checks_its_symbols_against_the_job_and_the_daemon(console: Console) -> None:
    alice = console.client("alice")
    job_id = submit(alice)
    reply = alice.post(EXECUTE, json={"job_id": job_id})
    assert clean(reply).status_code == 409  # not finished yet: nothing sent
    assert "not a completed analysis" in reply.json()["detail"]
    assert finished(alice, job_id)["status"] == "completed"
    refused(alice.post(EXECUTE, json={"job_id": job_id, "symbols": ["ORCL"]}), "symbols",
            f"not in job {job_id}: ORCL")  # fmt: skip
    stale = alice.post(EXECUTE, json={"job_id": job_id})
    assert clean(stale).status_code == 409 and "allow_stale" in stale.json()["detail"]
    down = alice.post(EXECUTE, json={"job_id": job_id, "allow_stale": True})
    assert clean(down).status_code == 503
    assert down.json()["detail"] == "daemon not running: nothing sent"


# bodies


def test_malformed_json_is_a_422_saying_where(alice: Any) -> None:
    for content, shown in [
        (b'{"symbols": [', "malformed JSON: Expecting value at character 13"),
        (b"{'symbols': ['GOOG']}", "malformed JSON: Expecting property name enclosed in double "
         "quotes at character 1"),
        (b'{"symbols": ["GOOG"]} trailing', "malformed JSON: Extra data at character 22"),
        (b"\xff\xfe", "malformed JSON"),
    ]:  # fmt: skip
        reply = alice.post(ANALYZE, content=content, headers={"content-type": "application/json"})
        refused(reply, "body", shown)
        assert reply.json()["errors"][0]["field"] == "body", reply.text


def test_a_body_that_is_not_an_analysis_is_refused(alice: Any) -> None:
    for content, content_type, shown in [
        (json.dumps(SMALL).encode(), "text/plain", "valid dictionary"),  # no cross-site form
        (b"[1, 2]", "application/json", "valid dictionary"),
        (b"", "application/json", "Field required"),
        (b'{"symbols": ["GOOG"], "initial_capital": NaN}', "application/json", "got nan"),
        (b'{"symbols": ["GOOG"], "initial_capital": Infinity}', "application/json", "got inf"),
    ]:  # fmt: skip
        reply = alice.post(ANALYZE, content=content, headers={"content-type": content_type})
        assert clean(reply).status_code == 422, (content, reply.text)
        assert shown in reply.json()["detail"], (content, reply.text)


def test_an_oversized_body_is_a_413_with_or_without_content_length(
    console_factory: Any,
) -> None:
    console = console_factory(web={"max_body_bytes": 4096}, start_runner=False)
    alice = console.client("alice")
    big = json.dumps({**SMALL, "padding": "x" * 5000}).encode()
    expected = {"detail": "request body over 4096 bytes ([web] max_body_bytes)"}

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    for path in (ANALYZE, EXECUTE, "/api/v1/auth/login"):
        declared = alice.post(path, content=big, headers={"content-type": "application/json"})
        assert (declared.status_code, declared.json()) == (413, expected), path
        streamed = alice.post(path, content=chunked(), headers={"content-type": "application/json"})
        assert "content-length" not in streamed.request.headers
        assert (streamed.status_code, streamed.json()) == (413, expected), path
    just_under = json.dumps({**SMALL, "padding": "x" * 3000})
    assert alice.post(ANALYZE, content=just_under,
                      headers={"content-type": "application/json"}).status_code == 422  # fmt: skip
    assert alice.get("/api/v1/auth/me").status_code == 200


# unknown jobs


def test_an_unknown_job_is_404_everywhere(alice: Any) -> None:
    for job_id in (UNKNOWN, "nonsense", "x" * 200, "%00", "%F0%9F%98%80", "scan-2026'; --", "%25"):
        for reply in (alice.get(f"/api/v1/optimizer/status/{job_id}"),
                      alice.get(f"/api/v1/optimizer/results/{job_id}"),
                      alice.delete(f"/api/v1/optimizer/jobs/{job_id}")):  # fmt: skip
            assert clean(reply).status_code == 404, (job_id, reply.text)
            assert reply.json()["detail"].startswith("no job "), (job_id, reply.text)


# the database down


def test_with_the_database_down_the_api_answers_503_and_recovers(
    console: Console, database_url: str
) -> None:
    alice, token = console.client("alice"), console.token_client("bob")
    job_id = submit(alice)
    assert finished(alice, job_id)["status"] == "completed"
    down = {"detail": "database unavailable: nothing done; try again"}
    with database_down(database_url):
        replies = [
            alice.get(f"/api/v1/optimizer/status/{job_id}"),
            alice.get("/api/v1/optimizer/history"),
            alice.post(ANALYZE, json=SMALL),
            alice.delete(f"/api/v1/optimizer/jobs/{job_id}"),
            token.get("/api/v1/auth/me"),
            console.client().post("/api/v1/auth/login",
                                  json={"username": "bob", "password": "bob-password-12"}),
        ]  # fmt: skip
        for reply in replies:
            assert (clean(reply).status_code, reply.json()) == (503, down), reply.request.url
        page = console.client().get("/login")  # the pages need no database
        assert page.status_code == 200 and "<html" in page.text.lower()
    back = eventually(lambda: alice.get(f"/api/v1/optimizer/status/{job_id}").status_code == 200,
                      30, "the database back")  # fmt: skip
    assert back
    assert alice.get(f"/api/v1/optimizer/status/{job_id}").json()["status"] == "completed"
    assert token.get("/api/v1/auth/me").json()["name"] == "bob"
    again = submit(alice)  # the runner survived the outage: it starts new jobs
    assert finished(alice, again)["status"] == "completed"
