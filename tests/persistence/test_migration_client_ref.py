"""Revision 0004_client_ref: risk decisions get a client_ref column, filled from the
reasons older workers wrote it into, so a ref used before the upgrade is still found."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import Engine, insert, select, text

from tests.persistence.conftest import T0
from tests.persistence.test_db import HEAD, differences
from tradd.persistence.db import alembic_config, make_engine, session_factory
from tradd.persistence.ledger import Ledger
from tradd.persistence.migrations.versions.r0004_client_ref import old_ref
from tradd.persistence.models import RiskDecision

OLD_ROWS = [  # (order_ref, reason) as workers before 0004 wrote them
    ("s1-1", "approved; operator entry by op (client_ref scan-9:GOOG)"),
    (None, "paused; operator entry by op (client_ref blocked-1)"),
    ("s1-2", "approved"),
    ("s1-3", "approved; operator entry by op"),
    ("s1-4", "resized: max 5; operator entry by a (client_ref x) (client_ref y:1)"),
]


def migrate_to(engine: Engine, target: str, down: bool = False) -> None:
    with engine.begin() as connection:
        step = command.downgrade if down else command.upgrade
        step(alembic_config(connection), target)


def insert_old_rows(engine: Engine) -> None:
    """Rows of the 0003 schema: no client_ref column yet (only the columns it had)."""
    with engine.begin() as connection:
        for order_ref, reason in OLD_ROWS:
            connection.execute(insert(RiskDecision.__table__).values(
                strategy="s1", at=T0, order_ref=order_ref, symbol="GOOG", side="BUY",
                requested_qty=1.0, approved_qty=1.0 if order_ref else 0.0, action="APPROVED",
                rule=None, reason=reason, trading_state="ACTIVE",
            ))  # fmt: skip


def refs(engine: Engine) -> list[str | None]:
    with engine.connect() as connection:
        stmt = select(RiskDecision.client_ref).order_by(RiskDecision.id)
        return list(connection.scalars(stmt))


def test_the_upgrade_fills_client_ref_from_old_reasons_and_lookups_find_it(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        migrate_to(engine, "0003_runs")
        insert_old_rows(engine)
        migrate_to(engine, "head")
        assert refs(engine) == ["scan-9:GOOG", "blocked-1", None, None, "y:1"]
        assert differences(engine) == []  # the column and its index, as the models say
        ledger = Ledger(session_factory(engine), "s1")
        found = ledger.latest_order_decision("scan-9:GOOG", T0 - timedelta(days=1))
        assert found is not None and found.order_ref == "s1-1"
        assert ledger.latest_order_decision("blocked-1", T0 - timedelta(days=1)) is None
        assert ledger.latest_order_decision("x", T0 - timedelta(days=1)) is None
        assert (
            Ledger(session_factory(engine), "s2").latest_order_decision(
                "scan-9:GOOG", T0 - timedelta(days=1)
            )
            is None
        )  # another strategy's ref is not this one's
    finally:
        engine.dispose()


def test_the_revision_downgrades_and_upgrades_cleanly(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate_to(engine, "head")
        insert_old_rows(engine)
        migrate_to(engine, "0003_runs", down=True)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == (
                "0003_runs"
            )
        migrate_to(engine, "head")
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
        assert refs(engine)[0] == "scan-9:GOOG"  # filled again from the reason
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_only_a_reason_ending_with_the_tag_names_a_ref() -> None:
    assert old_ref("approved; operator entry by op (client_ref r1)") == "r1"
    assert old_ref("approved; operator entry by op (client_ref r1) later") is None
    assert old_ref("approved (client_ref )") is None
    assert old_ref("approved (client_ref " + "x" * 65 + ")") is None
    assert old_ref("approved") is None
