"""The proposals API without a daemon: roles and bad input refused before anything is
sent, and 503 when the daemon is down (nothing decided). Against the real daemon it is
exercised by tests/supervisor/test_promotion.py (list, approve refused, reject)."""

from __future__ import annotations

from tests.fixtures.web import Console

NOT_RUNNING = "daemon not running: nothing sent"


def test_without_the_daemon_proposals_are_503_and_roles_come_first(console: Console) -> None:
    victor, alice = console.client("victor"), console.client("alice")
    for path in ("/api/v1/proposals", "/api/v1/proposals/3"):
        reply = victor.get(path)
        assert reply.status_code == 503 and reply.json()["detail"].startswith(NOT_RUNNING)
    for action in ("approve", "reject"):
        assert victor.post(f"/api/v1/proposals/3/{action}").status_code == 403
        down = alice.post(f"/api/v1/proposals/3/{action}")
        assert down.status_code == 503 and down.json()["detail"].startswith(NOT_RUNNING)
    assert alice.post("/api/v1/proposals/0/approve").status_code == 422
    assert victor.get("/api/v1/proposals?state=live").status_code == 422
    assert victor.get("/api/v1/proposals?strategy=%3Cx%3E").status_code == 422
    no_csrf = console.client("alice")
    del no_csrf.headers["X-CSRF-Token"]
    assert no_csrf.post("/api/v1/proposals/3/approve").status_code == 403
    page = victor.get("/proposals")
    assert page.status_code == 200 and "/static/proposals.js" in page.text
