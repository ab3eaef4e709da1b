"""GnocchiCollector and GnocchiFetcher against the real Gnocchi server
with basic auth (``tools/services.sh start gnocchi``; user ``admin``).
Keystone authentication: ``test_gnocchi_keystone.py``; how the tests keep
their data apart: ``gnocchi_fixture``.
"""
from __future__ import annotations

import datetime
import decimal
import time
import uuid
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.collector.gnocchi import GnocchiCollector
from cloudkitty.fetcher.gnocchi import GnocchiFetcher
from cloudkitty.tests import services
from cloudkitty.tests.functional.gnocchi_fixture import (
    BASIC_URL,
    HOUR,
    World,
    basic_api,
    make_policy,
    metrics,
    up,
)

pytestmark = services.needs(
    up(BASIC_URL), f"Gnocchi not reachable at {BASIC_URL} "
             "(tools/services.sh start gnocchi)")


@pytest.fixture(scope="module")
def policy() -> str:
    return make_policy()


@pytest.fixture
def world(policy: str) -> World:
    return World(policy)


@pytest.fixture
def collector_for(make_conf: Any) -> Any:
    def _make(definitions: dict[str, Any]) -> GnocchiCollector:
        conf = make_conf({"collector_gnocchi": {
            "gnocchi_auth_type": "basic", "gnocchi_user": "admin",
            "gnocchi_endpoint": BASIC_URL}, "collect": {"period": 3600}})
        return GnocchiCollector(conf, definitions)
    return _make


def _qty_by(points: list[Any], key: str) -> dict[str, decimal.Decimal]:
    return {p.groupby[key]: p.qty for p in points}


def test_quantities_per_resource_with_groupby(world: World,
                                              collector_for: Any) -> None:
    small = world.resource([1, 5, 3], user_id="alice")
    large = world.resource([10, 20], user_id="bob")
    world.wait(2)
    collector = collector_for(metrics(
        {"resource_type": "generic"}, groupby=["user_id"], factor=2))
    assert world.hour is not None
    points = collector.fetch_all("cpu", world.hour, world.hour + HOUR,
                                 world.project)
    assert _qty_by(points, "id") == {small["id"]: 10, large["id"]: 40}
    for point in points:
        assert point.groupby["project_id"] == world.project
        assert set(point.groupby) == {"user_id", "project_id", "id"}
        assert point.metadata == {}
    assert {p.groupby["user_id"] for p in points} == {"alice", "bob"}


def test_aggregation_methods(world: World, collector_for: Any) -> None:
    world.resource([4, 2, 6])
    world.wait(1)
    assert world.hour is not None
    for method, expected in (("sum", 12), ("min", 2), ("mean", 4),
                             ("count", 3)):
        collector = collector_for(metrics(
            {"resource_type": "generic", "aggregation_method": method,
             "re_aggregation_method": "sum"}))
        (point,) = collector.fetch_all("cpu", world.hour, world.hour + HOUR,
                                       world.project)
        assert point.qty == expected, method


def test_custom_query(world: World, collector_for: Any) -> None:
    world.resource([4, 2, 6])
    world.wait(1)
    collector = collector_for(metrics({
        "resource_type": "generic", "aggregation_method": "sum",
        "custom_query": "(* (aggregate RE_AGGREGATION_METHOD "
                        "(metric METRIC_NAME AGGREGATION_METHOD)) 10)"}))
    assert world.hour is not None
    (point,) = collector.fetch_all("cpu", world.hour, world.hour + HOUR,
                                   world.project)
    assert point.qty == 120


def test_metadata_from_resources_and_retrieve(world: World,
                                              collector_for: Any) -> None:
    res = world.resource([7], user_id="carol")
    world.wait(1)
    collector = collector_for(metrics(
        {"resource_type": "generic"}, metadata=["user_id",
                                                "original_resource_id"],
        description="vCPU time"))
    assert world.hour is not None
    name, points = collector.retrieve("cpu", world.hour, world.hour + HOUR,
                                      world.project)
    assert name == "cpu"
    (point,) = points
    assert point.qty == 7
    assert point.metadata == {"user_id": "carol",
                              "original_resource_id": res["id"]}
    assert point.groupby["year"] == world.hour.strftime("%Y")
    assert point.description == "vCPU time"


def test_attribute_change_inside_period(world: World,
                                        collector_for: Any) -> None:
    res = world.resource([1, 4], user_id="alice")
    time.sleep(1)
    reply = basic_api("PATCH", f"/resource/generic/{res['id']}",
                 json={"user_id": "bob"})
    assert reply.status_code == 200, reply.text
    world.wait(1)
    assert world.hour is not None
    start, end = world.hour, world.hour + HOUR

    every = collector_for(metrics({"resource_type": "generic"},
                                   groupby=["user_id"]))
    points = every.fetch_all("cpu", start, end, world.project)
    # One point per revision; Gnocchi splits the hour's value between them.
    per_user = _qty_by(points, "user_id")
    assert set(per_user) == {"alice", "bob"}
    total = sum(per_user.values(), decimal.Decimal(0))
    assert abs(total - 4) < decimal.Decimal("1e-6")

    collapsed = collector_for(metrics(
        {"resource_type": "generic", "use_all_resource_revisions": False},
        groupby=["user_id"], metadata=["original_resource_id"]))
    (point,) = collapsed.fetch_all("cpu", start, end, world.project)
    assert point.groupby["user_id"] == "bob"
    assert point.groupby["id"] == res["id"]
    assert point.metadata == {"original_resource_id": res["id"]}
    assert abs(point.qty - 4) < decimal.Decimal("1e-6")


def test_unknown_scope_or_metric_is_empty(world: World,
                                          collector_for: Any) -> None:
    collector = collector_for(metrics({"resource_type": "generic"}))
    now = datetime.datetime.now(datetime.timezone.utc).replace(
        minute=0, second=0, microsecond=0)
    assert collector.fetch_all("cpu", now, now + HOUR, world.project) == []
    with pytest.raises(exceptions.NoDataCollected):
        collector.retrieve("cpu", now, now + HOUR, world.project)


def test_bad_query_is_a_collect_error(world: World,
                                      collector_for: Any) -> None:
    world.resource([1])
    world.wait(1)
    collector = collector_for(metrics({"resource_type": "generic",
                                        "custom_query": "(aggregate"}))
    assert world.hour is not None
    with pytest.raises(exceptions.CollectError) as err:
        collector.fetch_all("cpu", world.hour, world.hour + HOUR,
                            world.project)
    message = str(err.value)
    assert "gnocchi" in message and "cpu" in message
    assert world.project in message and "400" in message


def test_fetcher_lists_projects(world: World, make_conf: Any) -> None:
    others = [str(uuid.uuid4()) for _ in range(3)]
    world.resource([1])
    world.resource([1])  # same project twice: listed once
    for project in others:
        world.resource([1], project=project)
    conf = make_conf({"fetcher": {"backend": "gnocchi"}, "fetcher_gnocchi": {
        "gnocchi_auth_type": "basic", "gnocchi_user": "admin",
        "gnocchi_endpoint": BASIC_URL}})
    scopes = GnocchiFetcher(conf).get_scopes()
    assert scopes == sorted(set(scopes))
    assert {world.project, *others} <= set(scopes)


def test_fetcher_server_down_is_a_fetch_error(make_conf: Any) -> None:
    conf = make_conf({"fetcher_gnocchi": {
        "gnocchi_auth_type": "basic", "gnocchi_user": "admin",
        "gnocchi_endpoint": "http://127.0.0.1:9"}})
    with pytest.raises(exceptions.FetchError) as err:
        GnocchiFetcher(conf).get_scopes()
    assert "gnocchi" in str(err.value)

