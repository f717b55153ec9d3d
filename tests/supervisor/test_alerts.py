"""Alerts end to end: real `tradd run`, real workers, a real SMTP server and the real twilio
client against a loopback stand-in of Twilio's Messages endpoint."""

from __future__ import annotations

import os
import signal
from typing import Any

from tests.fixtures.simulator import eventually, strategy_entry
from tests.worker.conftest import sim_ledger

from .conftest import daemon_document


def alerting(tmp_path, simulator, sqlite_url, entries, smtp=None, twilio=None, **alerts: Any):
    """A daemon document with [alerts] for these servers, and the env holding the secrets."""
    document = daemon_document(tmp_path, simulator, sqlite_url, entries)
    section: dict[str, Any] = {"dedup_window": 300, "retry_initial": 0.1, "retry_max": 0.5,
                               "summary": {"enabled": False}, **alerts}  # fmt: skip
    env: dict[str, str] = {}
    if smtp is not None:
        section["email"] = {"enabled": True, "host": "127.0.0.1", "port": smtp.port,
                            "security": "none", "username": smtp.username,
                            "recipients": ["ops@example.com", "risk@example.com"], "timeout": 5}  # fmt: skip
        env["TRADD_ALERTS__EMAIL__PASSWORD"] = smtp.password
    if twilio is not None:
        section["sms"] = {"enabled": True, "account_sid": twilio.account_sid,
                          "from_number": min(twilio.numbers), "to": ["+15551230001"],
                          "api_base_url": twilio.base_url, "timeout": 5}  # fmt: skip
        env["TRADD_ALERTS__SMS__AUTH_TOKEN"] = twilio.auth_token
    document["alerts"] = section
    return document, env


def test_a_risk_breach_in_a_worker_arrives_by_email(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server
) -> None:
    entries = [strategy_entry("s1", params={"script": "1:BUY:10"},
                              risk={"max_order_value": {"limit": 1.0, "action": "BLOCK"}})]  # fmt: skip
    document, env = alerting(tmp_path, simulator, sqlite_url, entries, smtp=smtp_server)
    daemon = start_daemon(document, env=env)
    daemon.wait_trading("s1")
    simulator.call(simulator.gw.advance, 60)
    [mail] = smtp_server.wait_for(1, 20)
    assert mail.subject.startswith("[tradd WARNING]") and "s1" in mail.subject
    assert "risk breach" in mail.subject
    assert "MAX_ORDER_VALUE" in mail.body and "strategy: s1" in mail.body
    assert sorted(mail.rcpt_tos) == ["ops@example.com", "risk@example.com"]
    assert mail.login == smtp_server.username

    def marked() -> list:
        listed = daemon.result("alerts", action="list")["alerts"]
        done = [(d["channel"], d["status"]) for d in listed[0]["deliveries"]] == [("email", "sent")]
        return listed if done else []

    listed = eventually(marked, 10, "the delivery marked sent")
    assert listed[0]["kind"] == "risk_breach"
    assert (
        smtp_server.password not in str(listed)
        and smtp_server.password not in daemon.output.read_text()
    )


def test_a_crash_loop_goes_out_by_sms_and_email(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server, twilio_server
) -> None:
    entries = [strategy_entry("crashy", strategy="tests.supervisor.strategies.Crashing")]
    document, env = alerting(tmp_path, simulator, sqlite_url, entries, smtp=smtp_server,
                             twilio=twilio_server)  # fmt: skip
    daemon = start_daemon(document, env=env)
    daemon.wait_state("crashy", "FATAL", 90)
    [sms] = twilio_server.wait_for_messages(1, 20)
    assert sms["to"] == "+15551230001" and "crash loop" in sms["body"]
    request = next(r for r in twilio_server.requests if r.method == "POST")
    assert request.basic_auth == (twilio_server.account_sid, twilio_server.auth_token)
    assert request.form["From"] == min(twilio_server.numbers)
    mails = eventually(lambda: [m for m in smtp_server.messages if "crash loop" in m.subject], 20)
    assert mails[0].subject.startswith("[tradd CRITICAL]")
    assert "this strategy always crashes" in mails[0].body  # the worker's last words
    assert twilio_server.auth_token not in daemon.output.read_text()


def test_flatten_is_reported_with_who_asked_and_the_result(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server
) -> None:
    entries = [strategy_entry("s1", params={"script": "1:BUY:10"})]
    document, env = alerting(tmp_path, simulator, sqlite_url, entries, smtp=smtp_server)
    daemon = start_daemon(document, env=env)
    daemon.wait_trading("s1")
    simulator.call(simulator.gw.advance, 60)
    eventually(lambda: sim_ledger(simulator)["positions"] == {"GOOG": 10.0}, 20)
    assert daemon.result("flatten", all=True, requested_by="alice")["ok"]
    mail = eventually(lambda: next((m for m in smtp_server.messages
                                    if "--all requested by alice" in m.subject), None), 20)  # fmt: skip
    assert "confirmed flat" in mail.subject and "ok: True" in mail.body
    assert "s1: FLAT via worker" in mail.body and "GOOG: 10.0 -> 0.0 (flat)" in mail.body


def test_alerts_pending_when_the_daemon_dies_are_sent_after_it_restarts(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server
) -> None:
    entries = [strategy_entry("s1", params={"script": "1:BUY:10"},
                              risk={"max_order_value": {"limit": 1.0, "action": "BLOCK"}})]  # fmt: skip
    document, env = alerting(tmp_path, simulator, sqlite_url, entries, smtp=smtp_server)
    smtp_server.down()
    daemon = start_daemon(document, env=env)
    daemon.wait_trading("s1")
    simulator.call(simulator.gw.advance, 60)

    def pending() -> bool:
        listed = daemon.result("alerts", action="list")["alerts"]
        return any(a["kind"] == "risk_breach" and a["deliveries"][0]["attempts"] >= 1
                   and a["deliveries"][0]["status"] == "pending" for a in listed)  # fmt: skip

    eventually(pending, 20, "the alert stored, its send failed, still pending")
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(10)
    smtp_server.up()
    again = start_daemon(document, env=env)
    mails = smtp_server.wait_for(1, 30)
    assert "risk breach" in mails[0].subject
    again.wait_trading("s1")
    listed = again.result("alerts", action="list")["alerts"]
    assert [d["status"] for a in listed if a["kind"] == "risk_breach" for d in a["deliveries"]] == [
        "sent"
    ]
    assert len([m for m in smtp_server.messages if "risk breach" in m.subject]) == 1


def test_tradctl_alerts_test_reports_the_delivery(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server, twilio_server
) -> None:
    document, env = alerting(tmp_path, simulator, sqlite_url, [strategy_entry("s1")],
                             smtp=smtp_server, twilio=twilio_server)  # fmt: skip
    daemon = start_daemon(document, env=env)
    result = daemon.result("alerts", action="test", channel="sms")
    assert result["ok"] and result["deliveries"]["sms"]["status"] == "sent"
    assert twilio_server.wait_for_messages(1, 5)[0]["body"]
    both = daemon.result("alerts", action="test")
    assert both["ok"] and set(both["deliveries"]) == {"email", "sms"}
    assert daemon.call("alerts", action="test", channel="webhook")["error"]["code"] == "unavailable"
    smtp_server.down()
    failed = daemon.result("alerts", action="test", channel="email")
    assert not failed["ok"] and failed["deliveries"]["email"]["status"] == "pending"


def test_connection_lost_and_restored_are_alerted(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server
) -> None:
    document, env = alerting(
        tmp_path, simulator, sqlite_url, [strategy_entry("s1")], smtp=smtp_server
    )
    daemon = start_daemon(document, env=env)
    daemon.wait_trading("s1")
    simulator.call(simulator.gw.faults.connectivity_lost)
    lost = eventually(
        lambda: next((m for m in smtp_server.messages if "disconnected" in m.subject), None), 20
    )
    assert lost.subject.startswith("[tradd WARNING] s1: disconnected")
    simulator.call(simulator.gw.faults.connectivity_restored, data_lost=False)
    back = eventually(
        lambda: next((m for m in smtp_server.messages if "reconnected" in m.subject), None), 20
    )
    assert back.subject.startswith("[tradd INFO] s1: reconnected")


def test_a_crash_alert_names_the_exception_not_an_unrelated_log_line(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server
) -> None:
    trigger = tmp_path / "die-on-start"
    entries = [strategy_entry("dying", strategy="tests.supervisor.dying.DiesOnRestart",
                              params={"trigger": str(trigger)})]  # fmt: skip
    document, env = alerting(tmp_path, simulator, sqlite_url, entries, smtp=smtp_server)
    daemon = start_daemon(document, env=env)
    pid = daemon.wait_trading("dying")["pid"]
    trigger.touch()  # from now on every start dies, after logging something unrelated
    os.kill(pid, signal.SIGKILL)
    fatal = daemon.wait_state("dying", "FATAL", 90)
    cause = "sqlite3.DatabaseError: database disk image is malformed"
    assert cause in fatal["reason"] and "API port" not in fatal["reason"]
    crashes = [e["message"] for e in daemon.result("events")["events"]
               if e["kind"] == "worker_crashed"]  # fmt: skip
    assert "killed by SIGKILL" in crashes[0]
    assert all(cause in m and "API port" not in m for m in crashes[1:]) and crashes[1:]
    mails = eventually(lambda: [m for m in smtp_server.messages if "crash loop" in m.subject], 20)
    assert cause in mails[0].body and "API port" not in mails[0].body
