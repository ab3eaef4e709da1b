"""Fixtures shared by unit and functional tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from oslo_config import cfg

from cloudkitty import service
from cloudkitty.db import api as db_api
from cloudkitty.tests import dbutil, storage_factory


@pytest.fixture
def make_conf(tmp_path):
    """Build a parsed ConfigOpts from ``{section: {option: value}}``.

    Writes a real cloudkitty.conf under ``tmp_path`` and parses it the way
    the console scripts do, so options are read as operators write them.
    """
    def _make(sections: dict[str, dict[str, object]] | None = None,
              checks=()) -> cfg.ConfigOpts:
        path = tmp_path / f"cloudkitty-{len(list(tmp_path.iterdir()))}.conf"
        lines = []
        for section, options in (sections or {}).items():
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {v}" for k, v in options.items())
        path.write_text("\n".join(lines) + "\n")
        return service.prepare_service(
            ["--config-file", str(path)], conf=cfg.ConfigOpts(),
            checks=checks, setup_logging=False)
    return _make


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Database tests run on SQLite under tests/unit and on the server
    databases under tests/functional (whose modules re-import the unit
    modules, so each test is written once)."""
    if "db_kind" in metafunc.fixturenames:
        functional = "functional" in metafunc.definition.path.parts
        metafunc.parametrize(
            "db_kind", dbutil.SERVER_KINDS if functional else ("sqlite",))


@pytest.fixture
def db_url(db_kind: str, tmp_path) -> Iterator[str]:
    """A fresh, empty database URL of the kind the test runs on."""
    with dbutil.fresh_database(db_kind, str(tmp_path)) as url:
        yield url


@pytest.fixture
def migrated_conf(make_conf, db_url: str) -> Iterator[cfg.ConfigOpts]:
    """``db_url`` migrated to head and a configuration using it with the
    sqlalchemy storage (``storage_factory.storage_conf``); the engines
    the test opened are disposed afterwards."""
    storage_factory.migrate(db_url)
    yield storage_factory.storage_conf(make_conf, db_url)
    db_api.dispose_engines()
