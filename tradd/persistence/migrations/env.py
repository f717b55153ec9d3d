"""Alembic's entry point, run by `tradd.persistence.db.migrate` (never from a CLI).

The caller passes an open connection already inside a transaction (and holding the
migration lock), so Alembic joins that transaction instead of managing its own.
Generating a new revision from a developer checkout works the same way, e.g.:

    from alembic import command
    from tradd.persistence.db import alembic_config, make_engine
    with make_engine(URL).connect() as conn:
        command.revision(alembic_config(conn), "add x", autogenerate=True,
                         rev_id="0002_add_x")
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tradd.persistence import models  # noqa: F401  (every table, into Base.metadata)
from tradd.persistence.schema import Base


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "tradd migrations run only through tradd.persistence.db.migrate (no connection given)"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
