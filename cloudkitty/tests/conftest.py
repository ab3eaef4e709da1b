"""Fixtures shared by unit and functional tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from oslo_config import cfg

from cloudkitty import service
from cloudkitty.tests import dbutil


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


@pytest.fixture(params=dbutil.KINDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """An empty database URL on SQLite, PostgreSQL and MariaDB in turn."""
    if request.param != "sqlite" and "functional" not in str(request.path):
        pytest.skip("server databases are for functional tests")
    with dbutil.fresh_database(request.param, str(tmp_path)) as url:
        yield url
