"""The DevStack plugin's post-config phase with the real commands: policy
generator, dbsync and storage-init on SQLite, and the database created in
the InfluxDB of tools/services.sh."""
from __future__ import annotations

import os
import pathlib
import uuid
from typing import Any

import requests
import sqlalchemy as sa
import webtest

from cloudkitty.api import app
from cloudkitty.tests.devstack_fakes import Devstack, load_conf
from cloudkitty.tests.services import needs
from cloudkitty.tests.unit.devstack import helpers
from cloudkitty.tests.unit.devstack.helpers import venv_bin

devstack = helpers.devstack

def test_post_config_with_real_commands(devstack: Devstack,
                                        tmp_path: pathlib.Path) -> None:
    """The real policy generator, dbsync and storage-init run on the
    configuration the plugin wrote (SQLite database, sqlalchemy storage),
    and the API is built from it."""
    db = tmp_path / "cloudkitty.sqlite"
    result = devstack.run_real(
        venv_bin(), "stack post-config",
        FAKE_DATABASE_URL=f"sqlite:///{db}",
        CLOUDKITTY_STORAGE_BACKEND="sqlalchemy",
        CLOUDKITTY_AUTH_STRATEGY="noauth")
    assert result.returncode == 0, result.stderr
    policy = (result.conf_dir / "policy.yaml").read_text()
    assert '#"context_is_admin": "role:admin"' in policy
    tables = set(sa.inspect(sa.create_engine(f"sqlite:///{db}"))
                 .get_table_names())
    assert {"hashmap_services", "cloudkitty_storage_states"} <= tables
    conf = load_conf(result.conf_path)
    client = webtest.TestApp(app.build_wsgi_app(conf))
    versions = client.get("/").json
    assert {v["id"] for v in versions["versions"]} >= {"v1", "v2"}
    assert client.get("/healthcheck").status_int == 200


INFLUXDB_URL = os.environ.get("CLOUDKITTY_TEST_INFLUXDB_URL",
                              "http://127.0.0.1:8086").rstrip("/")


def _influxdb_available() -> bool:
    try:
        return requests.get(f"{INFLUXDB_URL}/ping", timeout=2
                            ).status_code == 204
    except requests.RequestException:
        return False


def _influx_query(query: str) -> dict[str, Any]:
    resp = requests.post(f"{INFLUXDB_URL}/query", data={"q": query},
                         timeout=30)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()["results"][0]
    assert "error" not in result, result
    return result


@needs(_influxdb_available(), f"no InfluxDB at {INFLUXDB_URL}")
def test_influxdb_database_created_for_real(devstack: Devstack,
                                            tmp_path: pathlib.Path) -> None:
    """Against the InfluxDB of tools/services.sh: the plugin's init creates
    the database and cloudkitty-storage-init accepts it."""
    host, port = INFLUXDB_URL.split("://", 1)[1].rsplit(":", 1)
    name = f"ck_devstack_{uuid.uuid4().hex[:10]}"
    db = tmp_path / "cloudkitty.sqlite"
    try:
        result = devstack.run_real(
            venv_bin(), "stack post-config", FAKE_REAL_CURL="1",
            FAKE_DATABASE_URL=f"sqlite:///{db}",
            CLOUDKITTY_INFLUXDB_HOST=host, CLOUDKITTY_INFLUXDB_PORT=port,
            CLOUDKITTY_INFLUXDB_DATABASE=name,
            CLOUDKITTY_AUTH_STRATEGY="noauth")
        assert result.returncode == 0, result.stderr
        shown = _influx_query("SHOW DATABASES")
        names = {row[0] for serie in shown.get("series", [])
                 for row in serie["values"]}
        assert name in names
    finally:
        _influx_query(f'DROP DATABASE "{name}"')
