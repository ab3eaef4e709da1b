"""GnocchiCollector and GnocchiFetcher against the real Gnocchi server
(``tools/services.sh start gnocchi``; basic auth as ``admin``).

Every run creates its own archive policy (1 h granularity), project ids and
resources, so runs never see each other's data. Gnocchi keeps revision
history: measures are posted right after a resource is created, inside the
current hour, since a use_history query only sees revisions overlapping the
period.
"""
from __future__ import annotations

import datetime
import decimal
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cloudkitty import exceptions
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.collector.gnocchi import GnocchiCollector
from cloudkitty.fetcher.gnocchi import GnocchiFetcher
from cloudkitty.tests import services

URL = os.environ.get("CLOUDKITTY_TEST_GNOCCHI_URL", "http://127.0.0.1:8041")
HOUR = datetime.timedelta(hours=1)


def _api(method: str, path: str, **kwargs: Any) -> requests.Response:
    # A fresh connection per call: the test server's uWSGI router drops
    # idle keep-alive connections.
    return requests.request(method, f"{URL}/v1{path}", auth=("admin", ""),
                            headers={"Accept": "application/json"},
                            timeout=15, **kwargs)


def _up() -> bool:
    try:
        return requests.get(URL, timeout=2).status_code == 200
    except requests.RequestException:
        return False


pytestmark = services.needs(
    _up(), f"Gnocchi not reachable at {URL} "
                      "(tools/services.sh start gnocchi)")


@pytest.fixture(scope="module")
def policy() -> Iterator[str]:
    name = f"ck-test-{uuid.uuid4().hex[:10]}"
    reply = _api("POST", "/archive_policy", json={
        "name": name, "back_window": 0,
        "definition": [{"granularity": "1:00:00", "timespan": "7 days"}],
        "aggregation_methods": ["mean", "max", "min", "sum", "last",
                                "first", "count"]})
    assert reply.status_code == 201, reply.text
    yield name
    # Resources keep metrics on the policy, so it cannot always be
    # deleted; a unique name per run is what keeps runs apart.


class World:
    """Resources created by one test, and the hour they were measured in."""

    def __init__(self, policy: str) -> None:
        self.policy = policy
        self.project = str(uuid.uuid4())
        self.hour: datetime.datetime | None = None

    def resource(self, values: list[float], project: str | None = None,
                 **attrs: Any) -> dict[str, Any]:
        rid = str(uuid.uuid4())
        reply = _api("POST", "/resource/generic", json={
            "id": rid, "project_id": project or self.project, **attrs,
            "metrics": {"cpu": {"archive_policy_name": self.policy}}})
        assert reply.status_code == 201, reply.text
        res = reply.json()
        created = datetime.datetime.fromisoformat(res["revision_start"])
        hour = created.replace(minute=0, second=0, microsecond=0)
        if self.hour is None:
            self.hour = hour
        if hour != self.hour:
            pytest.skip("the hour changed while the test set data up")
        measures = [{"timestamp": (created + datetime.timedelta(
            milliseconds=10 * i)).isoformat(), "value": v}
            for i, v in enumerate(values)]
        reply = _api("POST", f"/resource/generic/{rid}/metric/cpu/measures",
                     json=measures)
        assert reply.status_code == 202, reply.text
        return res

    def wait(self, expected_groups: int) -> None:
        """Poll until metricd has aggregated every resource's measures."""
        assert self.hour is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = _api("POST", "/aggregates", params=[
                ("groupby", "id"), ("start", self.hour.isoformat()),
                ("stop", (self.hour + HOUR).isoformat()),
                ("granularity", 3600), ("use_history", "true")],
                json={"operations": "(aggregate count (metric cpu count))",
                      "resource_type": "generic",
                      "search": {"=": {"project_id": self.project}}})
            if reply.status_code == 200:
                done = [g for g in reply.json()
                        if g["measures"]["measures"]["aggregated"]]
                if len(done) >= expected_groups:
                    return
            time.sleep(0.3)
        pytest.fail("Gnocchi did not aggregate the measures within 30 s")


@pytest.fixture
def world(policy: str) -> World:
    return World(policy)


def _metrics(extra: dict[str, Any], **entry: Any) -> dict[str, Any]:
    raw = {"metrics": {"cpu": {"unit": "instance", "extra_args": extra,
                               **entry}}}
    return metrics_mod.validate_metrics(
        raw, scope_key="project_id",
        extra_args_schema=GnocchiCollector.extra_args_schema)


@pytest.fixture
def collector_for(make_conf: Any) -> Any:
    def _make(metrics: dict[str, Any], url: str = URL) -> GnocchiCollector:
        conf = make_conf({"collector_gnocchi": {
            "gnocchi_auth_type": "basic", "gnocchi_user": "admin",
            "gnocchi_endpoint": url}, "collect": {"period": 3600}})
        return GnocchiCollector(conf, metrics)
    return _make


def _qty_by(points: list[Any], key: str) -> dict[str, decimal.Decimal]:
    return {p.groupby[key]: p.qty for p in points}


def test_quantities_per_resource_with_groupby(world: World,
                                              collector_for: Any) -> None:
    small = world.resource([1, 5, 3], user_id="alice")
    large = world.resource([10, 20], user_id="bob")
    world.wait(2)
    collector = collector_for(_metrics(
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
        collector = collector_for(_metrics(
            {"resource_type": "generic", "aggregation_method": method,
             "re_aggregation_method": "sum"}))
        (point,) = collector.fetch_all("cpu", world.hour, world.hour + HOUR,
                                       world.project)
        assert point.qty == expected, method


def test_custom_query(world: World, collector_for: Any) -> None:
    world.resource([4, 2, 6])
    world.wait(1)
    collector = collector_for(_metrics({
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
    collector = collector_for(_metrics(
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
    reply = _api("PATCH", f"/resource/generic/{res['id']}",
                 json={"user_id": "bob"})
    assert reply.status_code == 200, reply.text
    world.wait(1)
    assert world.hour is not None
    start, end = world.hour, world.hour + HOUR

    every = collector_for(_metrics({"resource_type": "generic"},
                                   groupby=["user_id"]))
    points = every.fetch_all("cpu", start, end, world.project)
    # One point per revision; Gnocchi splits the hour's value between them.
    per_user = _qty_by(points, "user_id")
    assert set(per_user) == {"alice", "bob"}
    total = sum(per_user.values(), decimal.Decimal(0))
    assert abs(total - 4) < decimal.Decimal("1e-6")

    collapsed = collector_for(_metrics(
        {"resource_type": "generic", "use_all_resource_revisions": False},
        groupby=["user_id"], metadata=["original_resource_id"]))
    (point,) = collapsed.fetch_all("cpu", start, end, world.project)
    assert point.groupby["user_id"] == "bob"
    assert point.groupby["id"] == res["id"]
    assert point.metadata == {"original_resource_id": res["id"]}
    assert abs(point.qty - 4) < decimal.Decimal("1e-6")


def test_unknown_scope_or_metric_is_empty(world: World,
                                          collector_for: Any) -> None:
    collector = collector_for(_metrics({"resource_type": "generic"}))
    now = datetime.datetime.now(datetime.timezone.utc).replace(
        minute=0, second=0, microsecond=0)
    assert collector.fetch_all("cpu", now, now + HOUR, world.project) == []
    with pytest.raises(exceptions.NoDataCollected):
        collector.retrieve("cpu", now, now + HOUR, world.project)


def test_bad_query_is_a_collect_error(world: World,
                                      collector_for: Any) -> None:
    world.resource([1])
    world.wait(1)
    collector = collector_for(_metrics({"resource_type": "generic",
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
        "gnocchi_endpoint": URL}})
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


KEYSTONE_URL = os.environ.get("CLOUDKITTY_TEST_KEYSTONE_URL",
                              "http://127.0.0.1:5000/v3")
KEYSTONE_PASSWORD = os.environ.get("CLOUDKITTY_KEYSTONE_ADMIN_PASSWORD",
                                   "admin-secret")


def _keystone_up() -> bool:
    try:
        return requests.get(KEYSTONE_URL, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@services.needs(_keystone_up(), f"Keystone not reachable at {KEYSTONE_URL}")
@pytest.mark.parametrize(("password", "reason"), [
    # The test Keystone has no "metric" service: authentication works and
    # the catalog look-up is what fails.
    (KEYSTONE_PASSWORD, "endpoint for metric service"),
    ("wrong-password", "401"),
])
def test_keystone_auth_errors_are_collect_errors(
        make_conf: Any, password: str, reason: str) -> None:
    conf = make_conf({"collector_gnocchi": {
        "gnocchi_auth_type": "keystone", "auth_type": "password",
        "auth_url": KEYSTONE_URL, "username": "admin",
        "password": password, "project_name": "admin",
        "user_domain_name": "Default", "project_domain_name": "Default",
        "interface": "public"}, "collect": {"period": 3600}})
    collector = GnocchiCollector(conf, _metrics({"resource_type": "generic"}))
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(exceptions.CollectError) as err:
        collector.fetch_all("cpu", now - HOUR, now, "p1")
    assert reason in str(err.value)
    assert "'gnocchi'" in str(err.value)
