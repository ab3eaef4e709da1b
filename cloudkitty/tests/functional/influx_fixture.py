"""A fresh InfluxDB 1.x database per test, on the server of
``tools/services.sh`` (``CLOUDKITTY_TEST_INFLUXDB_URL``).

:func:`influx_database` creates a uniquely named database and drops it on
exit; :func:`influx_options` gives the ``[storage_influxdb]`` options that
point at it, ready to pass to ``make_conf``. :data:`needs_influxdb` skips a
test when no server answers, unless ``CLOUDKITTY_REQUIRE_SERVICES`` is set.

Usage::

    @needs_influxdb
    def test_something(make_conf, influxdb):
        conf = make_conf({"storage": {"backend": "influxdb"},
                          "storage_influxdb": influx_options(influxdb)})
"""
from __future__ import annotations

import contextlib
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cloudkitty.tests.services import needs

__all__ = [
    "INFLUXDB_URL", "available", "influx_database", "influx_options",
    "influx_storage_conf",
    "influx_query", "influxdb", "needs_influxdb",
]

INFLUXDB_URL = os.environ.get("CLOUDKITTY_TEST_INFLUXDB_URL",
                              "http://127.0.0.1:8086").rstrip("/")


def available(url: str = INFLUXDB_URL) -> bool:
    """Whether an InfluxDB answers ``/ping`` at ``url``."""
    try:
        return requests.get(f"{url}/ping", timeout=2).status_code == 204
    except requests.RequestException:
        return False


needs_influxdb = needs(available(), f"no InfluxDB at {INFLUXDB_URL}")


def _quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def influx_query(query: str, database: str | None = None,
                 url: str = INFLUXDB_URL, *, post: bool = False,
                 epoch: str | None = None) -> list[dict[str, Any]]:
    """Run ``query`` on the test server and return its ``results`` list;
    an error in any statement raises ``AssertionError``."""
    params: dict[str, str] = {"q": query}
    if database is not None:
        params["db"] = database
    if epoch is not None:
        params["epoch"] = epoch
    if post:
        resp = requests.post(f"{url}/query", data=params, timeout=30)
    else:
        resp = requests.get(f"{url}/query", params=params, timeout=30)
    assert resp.status_code == 200, resp.text
    results: list[dict[str, Any]] = resp.json().get("results", [])
    for result in results:
        assert "error" not in result, result["error"]
    return results


@contextlib.contextmanager
def influx_database(url: str = INFLUXDB_URL,
                    prefix: str = "ck_test") -> Iterator[str]:
    """Create a fresh database on ``url`` and drop it afterwards; yields
    its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    influx_query(f"CREATE DATABASE {_quote_ident(name)}", url=url, post=True)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            influx_query(f"DROP DATABASE {_quote_ident(name)}", url=url,
                         post=True)


def influx_options(database: str, url: str = INFLUXDB_URL,
                   **overrides: object) -> dict[str, object]:
    """The ``[storage_influxdb]`` options for ``database`` on ``url``
    (InfluxDB 1.x, ``autogen`` retention policy)."""
    parsed = urllib.parse.urlsplit(url)
    options: dict[str, object] = {
        "version": 1,
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or (443 if parsed.scheme == "https" else 8086),
        "use_ssl": parsed.scheme == "https",
        "database": database,
        "retention_policy": "autogen",
    }
    if parsed.username:
        options["username"] = urllib.parse.unquote(parsed.username)
    if parsed.password:
        options["password"] = urllib.parse.unquote(parsed.password)
    options.update(overrides)
    return options


@pytest.fixture
def influxdb() -> Iterator[str]:
    """The name of a fresh database on the test InfluxDB (skipped when
    none answers, unless services are required)."""
    if not available():
        if os.environ.get("CLOUDKITTY_REQUIRE_SERVICES"):
            pytest.fail(f"no InfluxDB at {INFLUXDB_URL}")
        pytest.skip(f"no InfluxDB at {INFLUXDB_URL}")
    with influx_database() as name:
        yield name


def influx_storage_conf(make_conf: Any, db_url: str, database: str,
                        **sections: Any) -> Any:
    """A parsed configuration with ``[storage] backend = influxdb`` on
    ``database`` and ``db_url`` (migrated by the caller) as ``[database]``
    for scope states and rollups; ``sections`` add or override options."""
    from cloudkitty.tests import storage_factory

    extra: dict[str, dict[str, object]] = {
        "storage": {"backend": "influxdb"},
        "storage_influxdb": influx_options(database)}
    for section, values in sections.items():
        extra.setdefault(section, {}).update(values)
    return storage_factory.storage_conf(make_conf, db_url, **extra)
