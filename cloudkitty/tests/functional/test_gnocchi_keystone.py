"""GnocchiCollector and GnocchiFetcher with ``gnocchi_auth_type = keystone``
against the real servers of ``tools/services.sh start gnocchi keystone``.

CloudKitty authenticates to the test Keystone as ``admin`` (password
plugin, project ``admin``) and finds the Keystone-auth Gnocchi under
service type ``metric`` in the catalog; the basic-auth Gnocchi shares its
storage, which is how the tests write and wait for their data.
"""
from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.collector.gnocchi import GnocchiCollector
from cloudkitty.fetcher.gnocchi import GnocchiFetcher
from cloudkitty.tests import services
from cloudkitty.tests.functional.gnocchi_fixture import (
    KEYSTONE_ADMIN_PASSWORD,
    KEYSTONE_GNOCCHI_URL,
    KEYSTONE_URL,
    World,
    admin_session,
    keystone_api,
    make_policy,
    metrics,
    up,
)

pytestmark = services.needs(
    up(KEYSTONE_GNOCCHI_URL) and up(KEYSTONE_URL),
    f"Gnocchi (keystone auth) at {KEYSTONE_GNOCCHI_URL} or Keystone at "
    f"{KEYSTONE_URL} not reachable (tools/services.sh start gnocchi "
    "keystone)")

CPU = metrics({"resource_type": "generic"}, groupby=["user_id"])
#: A period for the calls that fail before any data is looked at.
SOME_HOUR = (datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
             datetime.datetime(2026, 1, 1, 1, tzinfo=datetime.timezone.utc))


def keystone_options(**override: object) -> dict[str, object]:
    """``[collector_gnocchi]``/``[fetcher_gnocchi]`` options for keystone
    auth as the test Keystone's admin."""
    return {"gnocchi_auth_type": "keystone", "auth_type": "password",
            "auth_url": KEYSTONE_URL, "username": "admin",
            "password": KEYSTONE_ADMIN_PASSWORD, "project_name": "admin",
            "user_domain_name": "Default", "project_domain_name": "Default",
            **override}


@pytest.fixture(scope="module")
def policy() -> str:
    return make_policy()


@pytest.fixture
def world(policy: str) -> World:
    return World(policy)


@pytest.fixture
def collector_for(make_conf: Any) -> Any:
    def _make(definitions: dict[str, Any] = CPU,
              **options: object) -> GnocchiCollector:
        conf = make_conf({"collector_gnocchi": keystone_options(**options),
                          "collect": {"period": 3600}})
        return GnocchiCollector(conf, definitions)
    return _make


def _qty_by_id(points: list[Any]) -> dict[str, decimal.Decimal]:
    return {p.groupby["id"]: p.qty for p in points}


@pytest.mark.parametrize("interface", ["internalURL", "internal", "public",
                                       "publicURL", "admin"])
def test_catalog_points_at_the_keystone_mode_gnocchi(interface: str) -> None:
    # What tools/services.sh registered, read with the admin's own token.
    url = admin_session().get_endpoint(
        service_type="metric", interface=interface, region_name="RegionOne")
    assert url is not None
    assert url.rstrip("/") == KEYSTONE_GNOCCHI_URL


@pytest.mark.parametrize("interface", ["internalURL", "internal", "public"])
def test_collects_through_the_catalog(world: World, collector_for: Any,
                                      interface: str) -> None:
    values = {"alice": [1.0, 5.0, 3.0], "bob": [10.0, 20.0]}
    ids = {user: world.resource(measures, user_id=user)["id"]
           for user, measures in values.items()}
    world.wait(len(values))
    collector = collector_for(interface=interface, region_name="RegionOne")
    points = collector.fetch_all("cpu", *world.period, world.project)
    # Default aggregation: the largest measure of each resource.
    assert _qty_by_id(points) == {ids[user]: decimal.Decimal(max(measures))
                                  for user, measures in values.items()}
    assert {p.groupby["user_id"]: p.groupby["id"] for p in points} == ids
    assert {p.groupby["project_id"] for p in points} == {world.project}


def test_data_written_through_keystone_mode(policy: str,
                                            collector_for: Any) -> None:
    # Written with an admin token to the Keystone-auth API, aggregated as
    # seen through the basic-auth one, collected through the catalog.
    world = World(policy, api=keystone_api)
    values = [2.5, 4.0, 1.5]
    res = world.resource(values, user_id="carol")
    world.wait(1)
    collector = collector_for(
        metrics({"resource_type": "generic", "aggregation_method": "sum"},
                metadata=["user_id"]),
        interface="public")
    (point,) = collector.fetch_all("cpu", *world.period, world.project)
    assert point.qty == decimal.Decimal(str(sum(values)))
    assert point.groupby["id"] == res["id"]
    assert point.metadata == {"user_id": "carol"}


def test_auth_section(world: World, make_conf: Any) -> None:
    res = world.resource([7.0])
    world.wait(1)
    auth = keystone_options()
    del auth["gnocchi_auth_type"]
    conf = make_conf({
        "collector_gnocchi": {"gnocchi_auth_type": "keystone",
                              "auth_section": "ck_gnocchi_auth",
                              "interface": "public"},
        "ck_gnocchi_auth": auth, "collect": {"period": 3600}})
    collector = GnocchiCollector(conf, CPU)
    points = collector.fetch_all("cpu", *world.period, world.project)
    assert _qty_by_id(points) == {res["id"]: 7}


# -- the catalog: interface and region -----------------------------------

@pytest.fixture
def public_only_region() -> Iterator[str]:
    """A region of its own whose ``metric`` service has only a public
    endpoint (the Keystone-auth Gnocchi); removed afterwards."""
    admin = admin_session()
    region = f"ck-test-{uuid.uuid4().hex[:10]}"
    (service,) = admin.get(f"{KEYSTONE_URL}/services",
                           params={"type": "metric"}).json()["services"]
    admin.post(f"{KEYSTONE_URL}/regions", json={"region": {"id": region}})
    endpoint = admin.post(f"{KEYSTONE_URL}/endpoints", json={"endpoint": {
        "service_id": service["id"], "interface": "public",
        "region_id": region, "url": KEYSTONE_GNOCCHI_URL}}).json()["endpoint"]
    try:
        yield region
    finally:
        admin = admin_session()  # not a connection idle since the setup
        admin.delete(f"{KEYSTONE_URL}/endpoints/{endpoint['id']}",
                     raise_exc=False)
        admin.delete(f"{KEYSTONE_URL}/regions/{region}", raise_exc=False)


def test_region_and_interface_select_the_endpoint(
        world: World, collector_for: Any, public_only_region: str) -> None:
    res = world.resource([3.0])
    world.wait(1)
    found = collector_for(interface="public", region_name=public_only_region)
    points = found.fetch_all("cpu", *world.period, world.project)
    assert _qty_by_id(points) == {res["id"]: 3}

    missing = collector_for(interface="internalURL",
                            region_name=public_only_region)
    with pytest.raises(exceptions.CollectError) as err:
        missing.fetch_all("cpu", *world.period, world.project)
    message = str(err.value)
    assert "'gnocchi'" in message and "'cpu'" in message
    assert "metric" in message and public_only_region in message
    assert "internal" in message and "not found" in message


def test_unknown_region_is_a_collect_error(collector_for: Any) -> None:
    collector = collector_for(region_name="NoSuchRegion")
    start, end = SOME_HOUR
    with pytest.raises(exceptions.CollectError) as err:
        collector.fetch_all("cpu", start, end, "p1")
    assert "metric" in str(err.value)
    assert "NoSuchRegion" in str(err.value)


# -- credentials -----------------------------------------------------------

@pytest.mark.parametrize("override", [
    {"password": "wrong-password"},
    {"username": "no-such-user-ck"},
    {"project_name": "no-such-project-ck"},
], ids=["password", "user", "project"])
def test_refused_credentials_are_collect_errors(
        collector_for: Any, override: dict[str, str]) -> None:
    collector = collector_for(**override)
    start, end = SOME_HOUR
    with pytest.raises(exceptions.CollectError) as err:
        collector.fetch_all("cpu", start, end, "p1")
    message = str(err.value)
    assert "'gnocchi'" in message and "Keystone" in message
    assert "401" in message


def test_keystone_down_is_a_collect_error(collector_for: Any) -> None:
    collector = collector_for(auth_url="http://127.0.0.1:9/v3")
    start, end = SOME_HOUR
    with pytest.raises(exceptions.CollectError,
                       match="cannot reach Keystone"):
        collector.fetch_all("cpu", start, end, "p1")


# -- fetcher -------------------------------------------------------------

def test_fetcher_lists_projects(world: World, make_conf: Any) -> None:
    others = [str(uuid.uuid4()) for _ in range(2)]
    world.resource([1.0])
    for project in others:
        world.resource([1.0], project=project)
    conf = make_conf({"fetcher": {"backend": "gnocchi"},
                      "fetcher_gnocchi": keystone_options(
                          interface="internal")})
    scopes = GnocchiFetcher(conf).get_scopes()
    assert scopes == sorted(set(scopes))
    assert {world.project, *others} <= set(scopes)


def test_fetcher_refused_credentials_are_fetch_errors(make_conf: Any) -> None:
    conf = make_conf({"fetcher_gnocchi": keystone_options(
        password="wrong-password")})
    with pytest.raises(exceptions.FetchError) as err:
        GnocchiFetcher(conf).get_scopes()
    assert "'gnocchi'" in str(err.value) and "401" in str(err.value)
