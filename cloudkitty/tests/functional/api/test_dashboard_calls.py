"""The calls of the Horizon panel (cloudkitty-dashboard, COMPAT.md §13),
made through the python-cloudkittyclient library the way the panel makes
them, against a running ``cloudkitty-api`` (noauth, SQLite); each test
reads the answers the way its panel does. Rated data sits in the current
and the previous month, where the panel looks; expected sums are computed
here from that data."""
from __future__ import annotations

import calendar
import contextlib
import dataclasses
import datetime
import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudkittyclient import auth as ck_auth
from cloudkittyclient import client as ck_client
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

from cloudkitty.db import api as db_api
from cloudkitty.rating import modules
from cloudkitty.storage import get_storage
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.functional.api.conftest import (
    METRICS_YML,
    conf_for,
    running_api,
)
from cloudkitty.tests.functional.api.test_client_matrix import SECTIONS

UTC = datetime.UTC
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
NOW = datetime.datetime.now(UTC)
MONTH = datetime.datetime(NOW.year, NOW.month, 1, tzinfo=UTC)
LAST_MONTH = (MONTH - DAY).replace(day=1)


@dataclasses.dataclass(frozen=True)
class Rated:
    start: datetime.datetime
    metric_type: str
    project_id: str
    resource_id: str
    qty: str
    price: str


RATED = [
    # This month, in its first hour (before "now" whenever tests run).
    Rated(MONTH, "instance", "proj-a", "i-1", "1", "0.5"),
    Rated(MONTH, "instance", "proj-a", "i-2", "1", "2"),
    Rated(MONTH, "volume.size", "proj-a", "v-1", "10", "0.25"),
    Rated(MONTH, "instance", "proj-b", "i-3", "1", "4"),
    # Last month: day 1, the last hour of day 2, the first of day 3.
    Rated(LAST_MONTH, "instance", "proj-a", "i-1", "1", "1.5"),
    Rated(LAST_MONTH + DAY + 23 * HOUR, "volume.size", "proj-b", "v-2",
          "5", "0.75"),
    Rated(LAST_MONTH + 2 * DAY, "instance", "proj-a", "i-1", "1", "3"),
]


def rates(points: Iterable[Rated], *keys: str) -> dict[Any, float]:
    """Summed prices by the ``keys`` attributes (one key: plain values),
    as the floats v2 renders."""
    sums: dict[Any, Decimal] = defaultdict(Decimal)
    for p in points:
        group = tuple(getattr(p, k) for k in keys)
        sums[group[0] if len(group) == 1 else group] += Decimal(p.price)
    return {k: float(v) for k, v in sums.items()}


def between(begin: datetime.datetime,
            end: datetime.datetime) -> list[Rated]:
    return [p for p in RATED if begin <= p.start < end]


@dataclasses.dataclass
class Panel:
    """The API and the two clients the panel builds (v1 for most calls,
    v2 for summaries)."""

    url: str
    v1: Any
    v2: Any


def _client(url: str, version: str) -> Any:
    auth = ck_auth.CloudKittyNoAuthPlugin(endpoint=url)
    return ck_client.Client(version, session=ks_session.Session(auth=auth))


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Panel]:
    tmp: Path = tmp_path_factory.mktemp("dashboard")
    db_url = f"sqlite:///{tmp / 'ck.sqlite'}"
    with running_api(tmp, db_url, collect=SECTIONS["collect"],
                     fetcher=SECTIONS["fetcher"]) as url:
        try:
            get_storage(conf_for(db_url, tmp, SECTIONS)).push([
                f.frame(p.start, {p.metric_type: [f.point(
                    p.qty, p.price, project_id=p.project_id,
                    resource_id=p.resource_id)]}) for p in RATED])
            yield Panel(url, _client(url, "1"), _client(url, "2"))
        finally:
            db_api.dispose_engines()


def started_after(start: str, timeout: float = 5.0) -> None:
    """Wait until the API's clock (naive UTC, to the second) is past
    ``start``, the ISO start of a rule it just created."""
    moment = datetime.datetime.fromisoformat(start).replace(tzinfo=None)
    deadline = time.monotonic() + timeout
    while (datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None) < moment + datetime.timedelta(seconds=1)):
        assert time.monotonic() < deadline, f"clock stuck before {start}"
        time.sleep(0.05)


@contextlib.contextmanager
def fails(status: int, message: str) -> Iterator[None]:
    """The client raises a plain ``HttpError`` carrying the API's status
    and body (it re-raises every HTTP error that way)."""
    with pytest.raises(ks_exceptions.HttpError, match=message) as error:
        yield
    assert error.value.http_status == status


def object_results(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert answer["format"] == "object"
    assert answer["total"] == len(answer["results"])
    return list(answer["results"])


# -- Admin / Rating Summary -------------------------------------------

def test_admin_rating_summary(panel: Panel) -> None:
    this_month = between(MONTH, NOW + DAY)
    summary = panel.v2.summary.get_summary(groupby=["project_id"],
                                           response_format="object")
    results = object_results(summary)
    by_project = {r["project_id"]: r["rate"] for r in results}
    assert by_project == pytest.approx(rates(this_month, "project_id"))
    # The panel appends a "Cloud Total" row summing the rates.
    assert sum(float(r["rate"]) for r in results) == pytest.approx(
        float(sum(Decimal(p.price) for p in this_month)))

    # Details of one project, grouped by the configured keys (default
    # ['type']) or not grouped at all.
    detail = object_results(panel.v2.summary.get_summary(
        filters={"project_id": "proj-a"}, groupby=["type"],
        response_format="object"))
    mine = [p for p in this_month if p.project_id == "proj-a"]
    assert {r["type"]: r["rate"] for r in detail} == pytest.approx(
        rates(mine, "metric_type"))
    ungrouped = object_results(panel.v2.summary.get_summary(
        filters={"project_id": "proj-a"}, groupby=[],
        response_format="object"))
    assert sum(float(r["rate"]) for r in ungrouped) == pytest.approx(
        float(sum(Decimal(p.price) for p in mine)))
    # The "ALL" details: every project, by type.
    everyone = object_results(panel.v2.summary.get_summary(
        groupby=["type"], response_format="object"))
    assert {r["type"]: r["rate"] for r in everyone} == pytest.approx(
        rates(this_month, "metric_type"))


# -- Project / Rating --------------------------------------------------

def _month_bounds(day: datetime.datetime
                  ) -> tuple[datetime.datetime, datetime.datetime]:
    """The panel's month window: naive first second to last second."""
    last = calendar.monthrange(day.year, day.month)[1]
    return (datetime.datetime(day.year, day.month, 1),
            datetime.datetime(day.year, day.month, last, 23, 59, 59))


def test_project_rating(panel: Panel) -> None:
    summary = panel.v2.summary
    begin, _ = _month_bounds(NOW)
    # The panel passes tenant_id, which the client drops: with noauth
    # every project counts (with Keystone the API forces the caller's).
    common = {"tenant_id": "proj-a", "response_format": "object"}
    this_month = between(MONTH, NOW)
    by_type = object_results(summary.get_summary(
        begin=begin.isoformat(), end=NOW.isoformat(), groupby=["type"],
        **common))
    assert {r["type"]: r["rate"] for r in by_type} == pytest.approx(
        rates(this_month, "metric_type"))

    last_begin, last_end = _month_bounds(LAST_MONTH)
    last = object_results(summary.get_summary(
        begin=last_begin.isoformat(), end=last_end.isoformat(), **common))
    assert sum(r.get("rate", 0) for r in last) == pytest.approx(
        float(sum(Decimal(p.price) for p in between(LAST_MONTH, MONTH))))

    top = object_results(summary.get_summary(
        begin=begin.isoformat(), end=NOW.isoformat(),
        groupby=["type", "resource_id"], **common))
    top = sorted(top, key=lambda r: r.get("rate", 0), reverse=True)[:10]
    expected = sorted(rates(this_month, "metric_type",
                            "resource_id").items(),
                      key=lambda item: item[1], reverse=True)
    assert [((r["type"], r["resource_id"]), r["rate"]) for r in top] == \
        [(key, pytest.approx(rate)) for key, rate in expected]


def test_project_rating_quote(panel: Panel) -> None:
    """The price step of the launch-instance wizard: v1 quote with the
    service forced to ``instance`` and the flavor flat in ``desc``, which
    the API does not read (only ``desc.groupby``/``desc.metadata``)."""
    hashmap = panel.v1.rating.hashmap
    service_id = hashmap.create_service(name="instance")["service_id"]
    hashmap.create_mapping(service_id=service_id, type="flat", cost=0.5)
    field_id = hashmap.create_field(service_id=service_id,
                                    name="flavor_name")["field_id"]
    hashmap.create_mapping(field_id=field_id, value="m1.small",
                           type="rate", cost=10.0)
    panel.v1.rating.update_module(module_id="hashmap", enabled=True)
    panel.v1.rating.update_module(module_id="pyscripts", enabled=False)
    resources = [{"service": "instance", "volume": 2,
                  "desc": {"flavor_name": "m1.small", "flavor_id": "42",
                           "vcpus": 1, "disk": 10, "ephemeral": 0,
                           "ram": 512, "image_id": "img"}}]
    pricing = float(panel.v1.rating.get_quotation(res_data=resources))
    # The service flat (0.5 per unit) applies; the flavor rate does not.
    assert pricing == 2 * 0.5
    hashmap.delete_service(service_id=service_id)
    panel.v1.rating.update_module(module_id="hashmap", enabled=False)


# -- Project / Reporting -----------------------------------------------

def test_project_reporting(panel: Panel) -> None:
    """The chosen window (days 1 and 2 of last month) by type, then one
    call per day, 00:00:00 to 23:59:59."""
    first = LAST_MONTH.replace(tzinfo=None)
    days = [first, first + DAY]
    summary = panel.v2.summary

    def by_type(begin: str, end: str) -> dict[str, float]:
        results = object_results(summary.get_summary(
            tenant_id="proj-a", begin=begin, end=end, groupby=["type"],
            response_format="object"))
        return {r.get("type", "Unknown"): float(r.get("rate", 0))
                for r in results}

    fmt = "%Y-%m-%dT"
    cumulated = by_type(days[0].strftime(fmt + "00:00:00"),
                        days[-1].strftime(fmt + "23:59:59"))
    aware = LAST_MONTH
    assert cumulated == pytest.approx(
        rates(between(aware, aware + 2 * DAY), "metric_type"))
    for day in days:
        start = day.replace(tzinfo=UTC)
        assert by_type(day.strftime(fmt + "00:00:00"),
                       day.strftime(fmt + "23:59:59")) == pytest.approx(
            rates(between(start, start + DAY), "metric_type"))


# -- Admin / Rating Modules --------------------------------------------

def test_admin_rating_modules(panel: Panel) -> None:
    rating = panel.v1.rating
    listed = rating.get_module()["modules"]
    assert sorted(m["module_id"] for m in listed) == sorted(
        modules.installed_processors())
    for module in listed:
        assert set(module) == {"module_id", "description", "enabled",
                               "hot-config", "priority"}
    module = rating.get_module(module_id="pyscripts")
    assert module["hot-config"] is True
    # The toggle and the priority form: v1 PUT of the whole module.
    enabled = rating.update_module(module_id="pyscripts", enabled=True)
    assert (enabled["enabled"], enabled["priority"]) == (True,
                                                          module["priority"])
    moved = rating.update_module(module_id="pyscripts", priority=7)
    assert (moved["enabled"], moved["priority"]) == (True, 7)
    assert panel.v2.rating.get_module(module_id="pyscripts")[
        "priority"] == 7
    restored = rating.update_module(module_id="pyscripts", enabled=False,
                                    priority=module["priority"])
    assert (restored["enabled"], restored["priority"]) == (
        False, module["priority"])


# -- Admin / Hashmap ---------------------------------------------------

def test_admin_hashmap(panel: Panel) -> None:
    client = panel.v1
    hashmap = client.rating.hashmap
    metrics = yaml.safe_load(METRICS_YML)["metrics"]
    # The service form proposes the metrics, the field form their
    # metadata (from the configuration).
    assert sorted(m["metric_id"] for m in client.info.get_metric()[
        "metrics"]) == sorted(m["alt_name"] for m in metrics.values())
    assert client.info.get_metric(metric_name="volume.size")["unit"] == \
        "GiB"
    assert client.info.get_config()["metrics"] == metrics

    service = hashmap.create_service(name="volume.size")
    service_id = service["service_id"]
    assert {"name": "volume.size", "service_id": service_id} in \
        hashmap.get_service()["services"]
    assert hashmap.get_service(service_id=service_id)["name"] == \
        "volume.size"
    # The field form asks for the fields of the service *name*: not an
    # id, so nothing is proposed and it falls back to free text.
    assert hashmap.get_field(service_id="volume.size") == {"fields": []}
    field = hashmap.create_field(name="volume_type", service_id=service_id)
    field_id = field["field_id"]
    assert hashmap.get_field(service_id=service_id)["fields"] == [field]
    assert hashmap.get_field(field_id=field_id) == field

    group_id = hashmap.create_group(name="dashboard")["group_id"]
    assert {"name": "dashboard", "group_id": group_id} in \
        hashmap.get_group()["groups"]
    assert hashmap.get_group(group_id=group_id)["name"] == "dashboard"

    # Forms send their decimals as floats and leave out empty fields.
    mapping = hashmap.create_mapping(service_id=service_id, type="flat",
                                     cost=1.25, group_id=group_id)
    mapping_id = mapping["mapping_id"]
    assert Decimal(mapping["cost"]) == Decimal("1.25")
    field_mapping = hashmap.create_mapping(field_id=field_id, value="ssd",
                                           type="rate", cost=0.5,
                                           start="2099-01-01")
    assert [m["mapping_id"] for m in hashmap.get_mapping(
        service_id=service_id)["mappings"]] == [mapping_id]
    assert [m["mapping_id"] for m in hashmap.get_mapping(
        field_id=field_id)["mappings"]] == [field_mapping["mapping_id"]]
    assert [m["mapping_id"] for m in hashmap.get_mapping(
        group_id=group_id)["mappings"]] == [mapping_id]
    assert [m["mapping_id"] for m in hashmap.get_group_mappings(
        group_id=group_id)["mappings"]] == [mapping_id]
    assert hashmap.get_mapping(mapping_id=mapping_id)["group_id"] == \
        group_id

    # Edit: GET, merge, PUT, GET. A rule that has not started yet takes
    # a new cost; one that has started only takes an end (as upstream).
    edited = hashmap.update_mapping(
        mapping_id=field_mapping["mapping_id"], field_id=field_id,
        value="ssd", type="rate", cost=0.75)
    assert Decimal(edited["cost"]) == Decimal("0.75")
    # The API keeps rule times to the second: a rule created in this very
    # second has not started yet. Let the clock pass its start.
    started_after(mapping["start"])
    with fails(400, r"only the attribute \[end\]"):
        hashmap.update_mapping(mapping_id=mapping_id, cost=3.0)

    threshold = hashmap.create_threshold(service_id=service_id,
                                         level=10.0, cost=0.5,
                                         type="flat", group_id=group_id)
    threshold_id = threshold["threshold_id"]
    assert (Decimal(threshold["level"]), Decimal(threshold["cost"])) == (
        Decimal(10), Decimal("0.5"))
    assert [t["threshold_id"] for t in hashmap.get_threshold(
        service_id=service_id)["thresholds"]] == [threshold_id]
    assert [t["threshold_id"] for t in hashmap.get_group_thresholds(
        group_id=group_id)["thresholds"]] == [threshold_id]
    assert hashmap.get_threshold(threshold_id=threshold_id)[
        "service_id"] == service_id
    updated = hashmap.update_threshold(threshold_id=threshold_id,
                                       service_id=service_id, level=20.0,
                                       cost=0.25, type="flat")
    assert (Decimal(updated["level"]), Decimal(updated["cost"])) == (
        Decimal(20), Decimal("0.25"))

    hashmap.delete_threshold(threshold_id=threshold_id)
    hashmap.delete_mapping(mapping_id=mapping_id)
    assert hashmap.get_mapping(service_id=service_id) == {"mappings": []}
    hashmap.delete_group(group_id=group_id)
    hashmap.delete_field(field_id=field_id)
    hashmap.delete_service(service_id=service_id)
    with fails(404, "No such service"):
        hashmap.get_service(service_id=service_id)


# -- Admin / PyScripts -------------------------------------------------

def test_admin_pyscripts(panel: Panel) -> None:
    pyscripts = panel.v1.rating.pyscripts
    data = "result = 1\n"
    created = pyscripts.create_script(name="dashboard", data=data)
    script_id = created["script_id"]
    assert created["checksum"] == hashlib.sha512(data.encode()).hexdigest()
    listed = pyscripts.list_scripts()["scripts"]
    assert [s["name"] for s in listed if s["script_id"] == script_id] == [
        "dashboard"]
    assert pyscripts.get_script(script_id=script_id)["data"] == data
    # The edit form sends name and data: refused once the script has
    # started (it starts when created), as upstream.
    with fails(400, r"only the attribute \[end\]"):
        pyscripts.update_script(script_id=script_id, name="dashboard",
                                data="result = 2\n")
    later = pyscripts.create_script(name="later", data=data,
                                    start="2099-01-01T00:00:00")
    updated = pyscripts.update_script(script_id=later["script_id"],
                                      name="later", data="result = 2\n")
    assert (updated["data"], updated["checksum"]) == (
        "result = 2\n", hashlib.sha512(b"result = 2\n").hexdigest())
    for script in (created, later):
        pyscripts.delete_script(script_id=script["script_id"])
    with fails(404, "No such script"):
        pyscripts.get_script(script_id=script_id)
