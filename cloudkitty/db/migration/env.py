"""Alembic environment: runs on the connection handed over in code."""
from __future__ import annotations

from alembic import context

from cloudkitty import exceptions
from cloudkitty.db import migration, models


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise exceptions.DatabaseError(
            "migrations run only online, through cloudkitty.db.migration")
    context.configure(
        connection=connection,
        target_metadata=models.load_all(),
        version_table=migration.VERSION_TABLE,
        include_name=migration.include_name,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
