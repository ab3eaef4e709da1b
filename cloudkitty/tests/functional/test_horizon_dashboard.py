"""The Horizon panels of cloudkitty-dashboard (COMPAT.md §13) in a real
Horizon, looked at with a headless Chromium: Horizon and the plugin from
PyPI (``tools/horizon-venv.sh``), the real Keystone of
``tools/services.sh``, and a ``cloudkitty-api`` validating Keystone
tokens, listed in Keystone's catalog as the public ``rating`` endpoint of
a region of the module's own (the browser logs in with that region
chosen, as Horizon's region menu does, so other tests' endpoints in the
same Keystone do not matter).

A project member logs in and opens Project → Rating: the totals, the
breakdown per service and the top resources shown must be what the API
answers that member (read here with the member's token), which must be
the member's project's share of the rated points stored here. An
administrator logs in and opens Admin → Rating → Hashmap: the service,
field and mappings created through the API must be listed. Screenshots
of every page looked at are kept (see
:func:`cloudkitty.tests.functional.horizon.artifacts_dir`).
"""
from __future__ import annotations

import calendar
import contextlib
import dataclasses
import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.functional import horizon, keystone_fixture
from cloudkitty.tests.functional.api.conftest import (
    conf_for,
    free_port,
    running_api,
)
from cloudkitty.tests.functional.api.test_client_matrix import SECTIONS

pytestmark = [keystone_fixture.needs_keystone(), horizon.needs_horizon(),
              horizon.needs_browser()]

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
NOW = datetime.datetime.now(UTC)
MONTH = datetime.datetime(NOW.year, NOW.month, 1, tzinfo=UTC)
LAST_MONTH = (MONTH - DAY).replace(day=1)
PASSWORD = "ck-horizon-secret"
HASHMAP = "/v1/rating/module_config/hashmap"


@dataclasses.dataclass(frozen=True)
class Rated:
    """A rated point; ``mine`` ones belong to the member's project, the
    others to the administrator's."""

    start: datetime.datetime
    metric_type: str
    mine: bool
    resource_id: str
    price: str


RATED = [
    # This month, in its first hour (before "now" whenever tests run).
    Rated(MONTH, "instance", True, "i-1", "0.5"),
    Rated(MONTH, "instance", True, "i-2", "2"),
    Rated(MONTH, "volume.size", True, "v-1", "1.25"),
    Rated(MONTH, "instance", False, "i-9", "40"),
    # Last month.
    Rated(LAST_MONTH + 2 * DAY, "instance", True, "i-1", "3.5"),
    Rated(LAST_MONTH + 3 * DAY, "volume.size", False, "v-9", "7"),
]


def _mine(begin: datetime.datetime, end: datetime.datetime) -> list[Rated]:
    return [p for p in RATED if p.mine and begin <= p.start < end]


def shown(value: float | Decimal | str) -> str:
    """An amount as the rating panels print it: two decimals."""
    return f"{round(float(value), 2):.2f}"


@dataclasses.dataclass
class Person:
    username: str
    project_id: str
    token: str


@dataclasses.dataclass
class Deployment:
    api: str
    #: The region of its catalog entry.
    region: str
    member: Person
    admin: Person
    hashmap: dict[str, str]
    chrome: horizon.Browser

    def get(self, who: Person, path: str, **params: Any) -> Any:
        response = requests.get(self.api + path, params=params,
                                headers={"X-Auth-Token": who.token},
                                timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def _person(ident: keystone_fixture.Identity, tag: str,
            role: str) -> Person:
    project = ident.create("projects", name=f"ck-horizon-{role}-{tag}",
                           domain_id="default")
    user = ident.create("users", name=f"ck-horizon-{role}-{tag}",
                        password=PASSWORD, domain_id="default")
    ident.grant(ident.role(role), user, project)
    token = keystone_fixture.user_session(user["name"], PASSWORD,
                                          project["id"]).get_token()
    return Person(user["name"], project["id"], str(token))


def _hashmap(api: str, admin: Person) -> dict[str, str]:
    """A service with a flat mapping and a field with a value mapping,
    created through the API."""
    def post(kind: str, body: dict[str, Any]) -> str:
        response = requests.post(f"{api}{HASHMAP}/{kind}s", json=body,
                                 headers={"X-Auth-Token": admin.token},
                                 timeout=30)
        assert response.status_code == 201, response.text
        return str(response.json()[f"{kind}_id"])

    ids = {"service": post("service", {"name": "instance"})}
    ids["field"] = post("field", {"service_id": ids["service"],
                                  "name": "flavor_name"})
    ids["service_mapping"] = post("mapping", {
        "service_id": ids["service"], "type": "flat", "cost": "1.5"})
    ids["field_mapping"] = post("mapping", {
        "field_id": ids["field"], "value": "m1.small", "type": "rate",
        "cost": "2.25"})
    return ids


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("horizon")
    artifacts = horizon.artifacts_dir()
    tag = uuid.uuid4().hex[:10]
    with contextlib.ExitStack() as stack:
        ident = stack.enter_context(keystone_fixture.identity())
        member = _person(ident, tag, "member")
        admin = _person(ident, tag, "admin")
        db_url = f"sqlite:///{tmp / 'ck.sqlite'}"
        api = stack.enter_context(running_api(
            tmp, db_url, collect=SECTIONS["collect"],
            fetcher=SECTIONS["fetcher"],
            DEFAULT={"auth_strategy": "keystone"},
            keystone_authtoken=keystone_fixture.authtoken_options()))
        stack.callback(db_api.dispose_engines)
        region = ident.create("regions", id=f"ck-horizon-{tag}")
        rating = ident.create("services", type="rating",
                              name=f"ck-horizon-{tag}")
        ident.create("endpoints", service_id=rating["id"],
                     interface="public", region_id=region["id"], url=api)
        get_storage(conf_for(db_url, tmp, SECTIONS)).push([
            f.frame(p.start, {p.metric_type: [f.point(
                "1", p.price, resource_id=p.resource_id,
                project_id=(member if p.mine else admin).project_id)]})
            for p in RATED])
        hashmap = _hashmap(api, admin)
        url = stack.enter_context(horizon.running_horizon(
            free_port(), keystone_fixture.URL, artifacts / "horizon.log"))
        chrome = stack.enter_context(horizon.browser(url, artifacts))
        yield Deployment(api, region["id"], member, admin, hashmap, chrome)


def _month(day: datetime.datetime) -> tuple[str, str]:
    """The naive first and last second of ``day``'s month."""
    last = calendar.monthrange(day.year, day.month)[1]
    return (f"{day:%Y-%m}-01T00:00:00",
            f"{day:%Y-%m}-{last:02d}T23:59:59")


def _sums(points: list[Rated], *keys: str) -> dict[Any, Decimal]:
    sums: dict[Any, Decimal] = defaultdict(Decimal)
    for p in points:
        group = tuple(getattr(p, k) for k in keys)
        sums[group[0] if len(group) == 1 else group] += Decimal(p.price)
    return dict(sums)


def _project_rating_shows_the_api_costs(d: Deployment) -> None:
    member = d.member
    now = datetime.datetime.now(UTC)
    begin, _ = _month(now)
    # What the API answers the member (its project only, whatever the
    # query), checked against the points stored.
    by_type = {r["type"]: r["rate"] for r in d.get(
        member, "/v2/summary", begin=begin, end=now.isoformat(),
        groupby="type", response_format="object")["results"]}
    this_month = _mine(MONTH, now)
    assert by_type == pytest.approx(
        {k: float(v) for k, v in _sums(this_month, "metric_type").items()})
    top = {(r["type"], r["resource_id"]): r["rate"] for r in d.get(
        member, "/v2/summary", begin=begin, end=now.isoformat(),
        groupby="type,resource_id", response_format="object")["results"]}
    assert top == pytest.approx({k: float(v) for k, v in _sums(
        this_month, "metric_type", "resource_id").items()})
    last_begin, last_end = _month(LAST_MONTH)
    last_total = Decimal(d.get(member, "/v1/report/total",
                               begin=last_begin, end=last_end))
    assert last_total == sum(Decimal(p.price)
                             for p in _mine(LAST_MONTH, MONTH))

    chrome = d.chrome
    chrome.login(member.username, PASSWORD, d.region, "/project/rating/")
    chrome.screenshot("project_rating")
    assert chrome.text("h1") == ["Rating Dashboard"]
    total = sum(by_type.values())
    days = calendar.monthrange(now.year, now.month)[1]
    assert chrome.panel_value("Current Month") == shown(total)
    assert chrome.panel_value("Last Month") == shown(last_total)
    assert chrome.panel_value("Forecasted Month End") == shown(
        total / now.day * days)
    assert sorted(chrome.panel_rows("Current Month Breakdown")) == sorted(
        [kind, shown(rate), f"{round(rate / total * 100, 1)}%"]
        for kind, rate in by_type.items())
    assert chrome.panel_rows("Top Cost Generators") == [
        [resource, kind, shown(rate)] for (kind, resource), rate in
        sorted(top.items(), key=lambda item: item[1], reverse=True)]


def _admin_hashmap_lists_the_api_rules(d: Deployment) -> None:
    ids = d.hashmap
    # The rules as the API lists them to the administrator.
    service, = d.get(d.admin, f"{HASHMAP}/services")["services"]
    field, = d.get(d.admin, f"{HASHMAP}/fields",
                   service_id=ids["service"])["fields"]
    flat, = d.get(d.admin, f"{HASHMAP}/mappings",
                  service_id=ids["service"])["mappings"]
    rate, = d.get(d.admin, f"{HASHMAP}/mappings",
                  field_id=ids["field"])["mappings"]
    assert (service["name"], field["name"], Decimal(flat["cost"]),
            rate["value"], Decimal(rate["cost"])) == (
        "instance", "flavor_name", Decimal("1.5"), "m1.small",
        Decimal("2.25"))
    unit = d.get(d.admin, "/v1/info/metrics/instance")["unit"]

    chrome = d.chrome
    chrome.login(d.admin.username, PASSWORD, d.region,
                 "/admin/hashmap/")
    chrome.screenshot("admin_hashmap")
    service_row, = chrome.rows(
        f"//table[@id='services']//tr[@data-object-id='{ids['service']}']")
    assert [service["name"], unit] == [
        cell for cell in service_row if cell in (service["name"], unit)]
    assert sorted(chrome.rows(
        "//h3[normalize-space()='Applied Rating Rules']"
        "/following-sibling::table[1]/tbody/tr")) == sorted([
            [service["name"], "-", "(all)", flat["type"],
             shown(flat["cost"])],
            [service["name"], field["name"], rate["value"], rate["type"],
             shown(rate["cost"])]])

    # The service's own page: its fields (the first tab).
    chrome.open(f"/admin/hashmap/service/{ids['service']}/")
    chrome.screenshot("admin_hashmap_service")
    assert chrome.text("h1") == [f"Hashmap Service : {service['name']}"]
    field_row, = chrome.rows(
        f"//table[@id='fields']//tr[@data-object-id='{ids['field']}']")
    assert field["name"] in field_row
    # Its mappings tab shows the cost as the API wrote it.
    chrome.click_link("Service Mappings")
    chrome.screenshot("admin_hashmap_service_mappings")
    mapping_row, = chrome.rows(
        f"//table[@id='mappings']"
        f"//tr[@data-object-id='{ids['service_mapping']}']")
    assert [flat["type"], flat["cost"]] == [
        cell for cell in mapping_row if cell in (flat["type"], flat["cost"])]


def test_rating_panels_show_what_the_api_returns(deployment: Deployment
                                                 ) -> None:
    """Both panels in one test: a deployment (API, Horizon, Chromium)
    costs some 15 s of two busy cores, and ``pytest -n`` could hand two
    tests of the module to two workers, each starting its own."""
    _project_rating_shows_the_api_costs(deployment)
    _admin_hashmap_lists_the_api_rules(deployment)
