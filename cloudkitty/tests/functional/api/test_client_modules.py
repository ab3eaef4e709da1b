"""The official client against a running ``cloudkitty-api`` (noauth) on
SQLite and PostgreSQL: every ``module`` command with both
``--os-rating-api-version`` values, and the quote and reload calls of the
client library."""
from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from cloudkittyclient import auth as ck_auth
from cloudkittyclient import client as ck_client
from keystoneauth1 import session as ks_session

from cloudkitty.db import api as db_api
from cloudkitty.db.models import hashmap as hm
from cloudkitty.rating import modules
from cloudkitty.tests.functional.api.conftest import (
    CLIENT_DB_KINDS,
    api_on_fresh_database,
)
from cloudkitty.tests.functional.api.test_client_cli import (
    as_json,
    cloudkitty,
)
from cloudkitty.tests.unit.api.test_rating_quote import (
    add_instance_flavor_field,
)

#: A module every installation has that is off until enabled.
MODULE = "hashmap"


class Api:
    """A running API and the database behind it."""

    def __init__(self, url: str, db_url: str) -> None:
        self.url = url
        self.engine = db_api.create_engine(db_url)

    def cli(self, version: str, *args: str,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        return cloudkitty(self.url, "--os-rating-api-version", version,
                          *args, check=check)

    def library(self, version: str) -> Any:
        auth = ck_auth.CloudKittyNoAuthPlugin(endpoint=self.url)
        return ck_client.Client(version,
                                session=ks_session.Session(auth=auth))


@pytest.fixture(scope="module", params=CLIENT_DB_KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    # This server keeps metrics_conf at its default (no metrics.yml).
    with api_on_fresh_database(request.param, tmp_path_factory,
                               metrics_yml=None) as (url, db_url):
        api = Api(url, db_url)
        try:
            yield api
        finally:
            api.engine.dispose()


@pytest.fixture(autouse=True)
def fresh_state(api: Api) -> None:
    """Every test starts with no module state and no hashmap rule."""
    with api.engine.begin() as connection:
        connection.execute(sa.delete(hm.HashMapMapping))
        connection.execute(sa.delete(hm.HashMapService))
        connection.execute(sa.text("DELETE FROM modules_state"))


VERSIONS = pytest.mark.parametrize("version", ["1", "2"])


def row(module_id: str, enabled: bool, priority: int) -> dict[str, Any]:
    return {"Module": module_id, "Enabled": enabled, "Priority": priority}


@VERSIONS
def test_module_list(api: Api, version: str) -> None:
    rows = as_json(api.cli(version, "module", "list", "-f", "json"))
    installed = sorted(modules.installed_processors())
    assert [r["Module"] for r in rows] == installed
    assert row("noop", True, 1) in rows
    assert row(MODULE, False, 1) in rows


@VERSIONS
def test_module_list_table(api: Api, version: str) -> None:
    out = api.cli(version, "module", "list").stdout
    assert "| Module" in out and "| Enabled" in out and "| Priority" in out
    assert "| noop " in out


@VERSIONS
def test_module_get(api: Api, version: str) -> None:
    rows = as_json(api.cli(version, "module", "get", "noop", "-f", "json"))
    assert rows == [row("noop", True, 1)]


@VERSIONS
def test_module_get_unknown(api: Api, version: str) -> None:
    result = api.cli(version, "module", "get", "nope", check=False)
    assert result.returncode != 0
    assert "(HTTP 404)" in result.stdout + result.stderr


@VERSIONS
def test_module_enable_and_disable(api: Api, version: str) -> None:
    rows = as_json(api.cli(version, "module", "enable", MODULE,
                           "-f", "json"))
    assert rows == [row(MODULE, True, 1)]
    assert as_json(api.cli(version, "module", "get", MODULE,
                           "-f", "json")) == [row(MODULE, True, 1)]
    rows = as_json(api.cli(version, "module", "disable", MODULE,
                           "-f", "json"))
    assert rows == [row(MODULE, False, 1)]
    listed = as_json(api.cli(version, "module", "list", "-f", "json"))
    assert row(MODULE, False, 1) in listed


@VERSIONS
def test_module_set_priority(api: Api, version: str) -> None:
    rows = as_json(api.cli(version, "module", "set", "priority", MODULE,
                           "7", "-f", "json"))
    assert rows == [row(MODULE, False, 7)]
    api.cli(version, "module", "enable", MODULE)
    rows = as_json(api.cli(version, "module", "set", "priority", MODULE,
                           "3", "-f", "json"))
    assert rows == [row(MODULE, True, 3)]


@VERSIONS
def test_module_set_priority_zero_is_refused(api: Api,
                                             version: str) -> None:
    result = api.cli(version, "module", "set", "priority", MODULE, "0",
                     check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "(HTTP 400)" in output and "priority" in output
    assert as_json(api.cli(version, "module", "get", MODULE,
                           "-f", "json")) == [row(MODULE, False, 1)]


@VERSIONS
def test_noop_cannot_be_disabled(api: Api, version: str) -> None:
    result = api.cli(version, "module", "disable", "noop", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "(HTTP 409)" in output and "cannot be disabled" in output
    # Enabling it, which it already is, is fine.
    assert as_json(api.cli(version, "module", "enable", "noop",
                           "-f", "json")) == [row("noop", True, 1)]


def _add_rules(api: Api) -> None:
    """instance: global service flat 2 and flavor m1.small rate 3; a
    project-only flat 50 a quote ignores."""
    with db_api.session_scope(api.engine) as session:
        service, field = add_instance_flavor_field(session)
        for cost, kind, parent, value, tenant in (
                ("2", "flat", {"service_id": service.id}, None, None),
                ("3", "rate", {"field_id": field.id}, "m1.small", None),
                ("50", "flat", {"service_id": service.id}, None, "T1")):
            session.add(hm.HashMapMapping(
                mapping_id=str(uuid.uuid4()), value=value,
                cost=Decimal(cost), map_type=kind, tenant_id=tenant,
                name=uuid.uuid4().hex[:24], created_by="tests", **parent))


SMALL = {"service": "instance", "volume": "4",
         "desc": {"groupby": {"id": "i1"},
                  "metadata": {"flavor_name": "m1.small"}}}


def test_quote_with_the_client_library(api: Api) -> None:
    client = api.library("1")
    assert client.rating.get_quotation(res_data=[SMALL]) == 0.0
    _add_rules(api)
    client.rating.update_module(module_id=MODULE, enabled=True)
    assert client.rating.get_quotation(res_data=[SMALL]) == 24.0
    # The dashboard's flat desc does not reach the field rules.
    flat = {"service": "instance", "volume": 4,
            "desc": {"flavor_name": "m1.small"}}
    assert client.rating.get_quotation(res_data=[SMALL, flat]) == 32.0


def test_reload_modules_with_the_client_library(api: Api) -> None:
    assert api.library("1").rating.reload_modules() is None


def test_library_module_calls_of_both_versions(api: Api) -> None:
    v1 = api.library("1").rating
    v2 = api.library("2").rating
    assert v1.update_module(module_id=MODULE, priority=4)["priority"] == 4
    module = v2.get_module(module_id=MODULE)
    assert module == {"module_id": MODULE, "description": module[
        "description"], "enabled": False, "hot_config": True, "priority": 4}
    assert v2.update_module(module_id=MODULE, enabled=True)["enabled"]
    assert v1.get_module(module_id=MODULE)["hot-config"] is True
