"""Backends the contract suite runs on: :data:`OPENERS` by kind, and the
fixtures giving each test an initialised, empty backend."""
from __future__ import annotations

import contextlib
import importlib.util
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.storage.v2 import base
from cloudkitty.tests import dbutil
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.services import needs
from cloudkitty.tests.storage_contract.model import MemoryStorage

__all__ = ["OPENERS", "DatabasePool", "Opener", "influxdb_param",
           "contract_databases", "backend", "conf", "storage"]


class DatabasePool:
    """One migrated database per kind and test process, emptied before
    each test: a fresh database and an alembic run per test would cost
    more than most tests. Dropped at the end of the session."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory
        self._stack = contextlib.ExitStack()
        self._urls: dict[str, str] = {}

    def empty_database(self, kind: str) -> str:
        """The URL of this process's migrated ``kind`` database, with
        every table empty."""
        url = self._urls.get(kind)
        if url is None:
            url = self._stack.enter_context(
                dbutil.fresh_database(kind, str(self.directory)))
            f.migrate(url)
            self._urls[kind] = url
            return url
        engine = db_api.create_engine(url)
        try:
            metadata = sa.MetaData()
            metadata.reflect(engine)
            with engine.begin() as connection:
                for table in reversed(metadata.sorted_tables):
                    if table.name != "alembic_version":
                        connection.execute(table.delete())
        finally:
            engine.dispose()
        return url

    def close(self) -> None:
        self._stack.close()


#: ``opener(make_conf, pool)``: a context manager yielding a fresh, empty
#: backend (not yet initialised) and cleaning up after it.
Opener = Callable[[Any, DatabasePool],
                  contextlib.AbstractContextManager[base.BaseStorage]]


def _sql(kind: str) -> Opener:
    @contextlib.contextmanager
    def opener(make_conf: Any, pool: DatabasePool
               ) -> Iterator[base.BaseStorage]:
        url = pool.empty_database(kind)
        try:
            yield get_storage(f.storage_conf(make_conf, url))
        finally:
            db_api.dispose_engines()
    return opener


@contextlib.contextmanager
def _influxdb(make_conf: Any, pool: DatabasePool
              ) -> Iterator[base.BaseStorage]:
    from cloudkitty.tests.functional import influx_fixture

    # Scope states, schedules (and rollups) live in an SQLite [database].
    url = pool.empty_database("sqlite")
    with influx_fixture.influx_database() as database:
        try:
            yield get_storage(f.storage_conf(
                make_conf, url, storage={"backend": "influxdb"},
                storage_influxdb=influx_fixture.influx_options(database)))
        finally:
            db_api.dispose_engines()


@contextlib.contextmanager
def _memory(make_conf: Any, pool: DatabasePool
            ) -> Iterator[base.BaseStorage]:
    url = pool.empty_database("sqlite")
    try:
        yield MemoryStorage(f.storage_conf(make_conf, url))
    finally:
        db_api.dispose_engines()


OPENERS: dict[str, Opener] = {
    "sqlite": _sql("sqlite"),
    "postgresql": _sql("postgresql"),
    "mysql": _sql("mysql"),
    "influxdb": _influxdb,
    "memory": _memory,
}


def _influxdb_ready() -> bool:
    if importlib.util.find_spec("cloudkitty.storage.v2.influx") is None:
        return False
    from cloudkitty.tests.functional import influx_fixture
    return influx_fixture.available()


def influxdb_param() -> Any:
    """The ``influxdb`` kind, skipped while the backend module or the
    server is missing, except under ``CLOUDKITTY_REQUIRE_SERVICES``
    (CI), where it runs and fails."""
    return pytest.param("influxdb", marks=needs(
        _influxdb_ready(), "no InfluxDB backend module or server"))


@pytest.fixture(scope="session")
def contract_databases(tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[DatabasePool]:
    pool = DatabasePool(tmp_path_factory.mktemp("contract"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def backend(backend_kind: str, make_conf: Any,
            contract_databases: DatabasePool) -> Iterator[base.BaseStorage]:
    with OPENERS[backend_kind](make_conf, contract_databases) as opened:
        opened.init()
        yield opened


@pytest.fixture
def conf(backend: base.BaseStorage) -> Any:
    return backend.conf


@pytest.fixture
def storage(backend: base.BaseStorage) -> base.BaseStorage:
    return backend
