"""Throw-away databases on the real servers, for functional tests.

The admin URLs come from the environment (``tools/services.sh`` prints
them); each test database gets a unique name and is dropped afterwards.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "CLOUDKITTY_TEST_POSTGRESQL_URL",
        "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get(
        "CLOUDKITTY_TEST_MYSQL_URL",
        "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4"),
}

KINDS = ("sqlite", "postgresql", "mysql")
SERVER_KINDS = ("postgresql", "mysql")


@contextmanager
def fresh_database(kind: str, tmp_path: str) -> Iterator[str]:
    """Yield the URL of a new, empty database of ``kind``; drop it after."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/ck-{uuid.uuid4().hex[:8]}.sqlite"
        return
    name = f"ck_test_{uuid.uuid4().hex[:12]}"
    admin = sa.make_url(ADMIN_URLS[kind])
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if kind == "mysql":
            conn.execute(sa.text(
                f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        else:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            if kind == "postgresql":
                conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"),
                    {"n": name})
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()
