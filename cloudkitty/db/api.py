"""Engine and session factory for ``[database] connection``."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

_LOCK = threading.Lock()
_ENGINES: dict[str, sa.Engine] = {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, **kwargs: object) -> sa.Engine:
    """A new engine for ``url`` with the settings every backend needs."""
    options: dict[str, object] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        options = {}
    options.update(kwargs)
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine(conf: cfg.ConfigOpts) -> sa.Engine:
    """The process-wide engine for ``[database] connection``."""
    url = conf.database.connection
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            kwargs: dict[str, object] = {}
            if not url.startswith("sqlite"):
                kwargs = {
                    "pool_size": conf.database.max_pool_size or 5,
                    "max_overflow": conf.database.max_overflow,
                    "pool_timeout": conf.database.pool_timeout or 30,
                    "pool_recycle": conf.database.connection_recycle_time,
                }
            engine = _ENGINES[url] = create_engine(url, **kwargs)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, forks)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session whose transaction commits on success, rolls back on error."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
