"""/v1/report (COMPAT.md §2.8, §16 points 2 and 4) on the real app and a
migrated SQLite database; expected prices are summed here from the points
the tests push."""
from __future__ import annotations

import dataclasses
import datetime
import decimal
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from oslo_config import cfg

from cloudkitty.api import app
from cloudkitty.api.v1.datamodels.report import plain_decimal, summary_rate
from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.storage_factory import at

D = decimal.Decimal
UTC = datetime.UTC
SCOPE_KEY = "project_id"

ADMIN = {"X-Roles": "admin", "X-Project-Id": "admin-project",
         "X-User-Id": "u-admin"}


def reader(project_id: str | None) -> dict[str, str]:
    """Identity headers of a reader (and member) of ``project_id``."""
    headers = {"X-Roles": "member,reader", "X-User-Id": "u-reader"}
    if project_id is not None:
        headers["X-Project-Id"] = project_id
    return headers


@dataclasses.dataclass(frozen=True)
class Pushed:
    """A point the test stored: where and what it costs."""

    start: datetime.datetime
    metric_type: str
    project_id: str
    qty: str
    price: str


def push(conf: cfg.ConfigOpts, points: Iterable[Pushed]) -> None:
    """Store each point in its own one-hour frame."""
    get_storage(conf).push([
        f.frame(p.start, {p.metric_type: [
            f.point(p.qty, p.price, project_id=p.project_id,
                    metadata={"flavor_name": "m1.small"})]})
        for p in points])


def rate_text(price: D) -> str:
    """A summary rate as upstream writes it (through a float rounded to
    5 places), which our exact rendering matches for such prices."""
    return str(float(f"{float(price):0.5f}")) if price else "0"


def price_of(points: Iterable[Pushed], **where: Any) -> D:
    """Sum of the prices of ``points`` whose attributes match ``where``
    (``begin``/``end`` bound ``start``)."""
    begin = where.pop("begin", None)
    end = where.pop("end", None)
    total = D(0)
    for p in points:
        if begin is not None and p.start < begin:
            continue
        if end is not None and p.start >= end:
            continue
        if any(getattr(p, key) != value for key, value in where.items()):
            continue
        total += D(p.price)
    return total


#: Two projects, two services, hours 0 to 3 of 2019-07-01 and one point
#: in August.
POINTS = [
    Pushed(at(0), "instance", "proj-a", "1", "0.5"),
    Pushed(at(1), "instance", "proj-a", "2", "1.25"),
    Pushed(at(1), "volume.size", "proj-a", "10", "0.0001"),
    Pushed(at(2), "instance", "proj-b", "1", "3"),
    Pushed(at(3), "volume.size", "proj-b", "20", "2.123456"),
    Pushed(at(24 * 31), "instance", "proj-a", "1", "100"),
]
JULY = {"begin": "2019-07-01T00:00:00", "end": "2019-08-01T00:00:00"}
JULY_BOUNDS = {"begin": at(0), "end": at(24 * 31)}


@pytest.fixture(name="deployment")
def deployment_fixture(api_conf: Callable[..., cfg.ConfigOpts],
                       tmp_path: Path
                       ) -> Iterator[Callable[..., cfg.ConfigOpts]]:
    """``deployment(auth_strategy, **sections)``: configurations sharing
    one migrated SQLite database."""
    url = f"sqlite:///{tmp_path}/report.sqlite"
    f.migrate(url)

    def _make(auth_strategy: str = "noauth",
              **sections: dict[str, Any]) -> cfg.ConfigOpts:
        merged: dict[str, dict[str, Any]] = {
            "database": {"connection": url},
            "collect": {"scope_key": SCOPE_KEY},
            "fetcher": {"backend": "source"},
        }
        for section, options in sections.items():
            merged.setdefault(section, {}).update(options)
        return api_conf(auth_strategy, **merged)
    yield _make
    db_api.dispose_engines()


@pytest.fixture(name="conf")
def conf_fixture(deployment: Callable[..., cfg.ConfigOpts]
                 ) -> cfg.ConfigOpts:
    return deployment()


@pytest.fixture(name="client")
def client_fixture(conf: cfg.ConfigOpts) -> webtest.TestApp:
    """The deployed application, noauth."""
    return webtest.TestApp(app.build_wsgi_app(conf))


@pytest.fixture(name="keystone")
def keystone_fixture(deployment: Callable[..., cfg.ConfigOpts]
                     ) -> webtest.TestApp:
    """The Pecan application with policies enforced; the test sets the
    identity headers keystonemiddleware would."""
    return webtest.TestApp(app.setup_app(deployment("keystone")))


@pytest.fixture
def stored(conf: cfg.ConfigOpts) -> list[Pushed]:
    push(conf, POINTS)
    return POINTS


def fault(response: webtest.TestResponse) -> str:
    assert response.json["faultcode"] == "Client"
    assert response.json["debuginfo"] is None
    return str(response.json["faultstring"])


def this_month() -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(UTC)
    begin = datetime.datetime(now.year, now.month, 1, tzinfo=UTC)
    after = begin + datetime.timedelta(days=32)
    return begin, datetime.datetime(after.year, after.month, 1, tzinfo=UTC)


# -- formats -----------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("0", "0"), ("0E-30", "0"), ("1", "1"), ("1.50", "1.5"),
    ("1E+3", "1000"), ("0.0000001", "0.0000001"), ("-2.500", "-2.5"),
])
def test_plain_decimal_never_uses_exponents(value: str,
                                            expected: str) -> None:
    assert plain_decimal(D(value)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0", "0"), ("2", "2.0"), ("1.5", "1.5"), ("0.123456", "0.12346"),
    ("0.000004", "0.0"), ("0.00001", "0.00001"),
    ("123456789012345678.5", "123456789012345678.5"),
])
def test_summary_rate_has_five_places_at_most(value: str,
                                              expected: str) -> None:
    assert summary_rate(D(value)) == expected


# -- /v1/report/total --------------------------------------------------

class TestTotal:
    def test_total_of_every_project_is_a_decimal_string(
            self, client, stored) -> None:
        response = client.get("/v1/report/total",
                              params={**JULY, "all_tenants": "true"})
        assert response.content_type == "application/json"
        assert response.json == str(price_of(stored, **JULY_BOUNDS))

    def test_noauth_without_tenant_means_every_project(
            self, client, stored) -> None:
        # No token, so no project of the caller to default to.
        response = client.get("/v1/report/total", params=JULY)
        assert D(response.json) == price_of(stored, **JULY_BOUNDS)

    def test_one_project(self, client, stored) -> None:
        response = client.get("/v1/report/total",
                              params={**JULY, "tenant_id": "proj-b"})
        assert D(response.json) == price_of(stored, project_id="proj-b",
                                            **JULY_BOUNDS)

    def test_one_service(self, client, stored) -> None:
        response = client.get("/v1/report/total", params={
            **JULY, "tenant_id": "proj-a", "service": "volume.size"})
        assert D(response.json) == price_of(
            stored, project_id="proj-a", metric_type="volume.size",
            **JULY_BOUNDS)

    def test_all_tenants_wins_over_tenant_id(self, client, stored) -> None:
        response = client.get("/v1/report/total", params={
            **JULY, "tenant_id": "proj-b", "all_tenants": "True"})
        assert D(response.json) == price_of(stored, **JULY_BOUNDS)

    def test_nothing_rated_is_zero(self, client, stored) -> None:
        response = client.get("/v1/report/total", params={
            **JULY, "tenant_id": "nobody"})
        assert response.json == "0"

    def test_window_is_begin_inclusive_end_exclusive(
            self, client, stored) -> None:
        response = client.get("/v1/report/total", params={
            "begin": at(1).isoformat(), "end": at(3).isoformat()})
        assert D(response.json) == price_of(stored, begin=at(1),
                                            end=at(3))

    def test_default_window_is_the_current_month(self, client,
                                                 conf) -> None:
        begin, end = this_month()
        points = [Pushed(begin, "instance", "p", "1", "7"),
                  Pushed(end - f.HOUR, "instance", "p", "1", "11"),
                  Pushed(begin - f.HOUR, "instance", "p", "1", "1000"),
                  Pushed(end, "instance", "p", "1", "5000")]
        push(conf, points)
        response = client.get("/v1/report/total")
        assert D(response.json) == price_of(points, begin=begin, end=end)

    @pytest.mark.parametrize("begin", [
        "2019-07-01 02:00:00",          # what the client sends
        "2019-07-01T02:00:00Z",
        "2019-07-01T04:00:00+02:00",
        "20190701T020000Z",
    ])
    def test_dates_in_any_iso_form(self, client, stored, begin) -> None:
        response = client.get("/v1/report/total", params={
            "begin": begin, "end": "2019-08-01"})
        assert D(response.json) == price_of(stored, begin=at(2),
                                            end=at(24 * 31))

    def test_arguments_from_a_json_body(self, client, stored) -> None:
        response = client.request(
            "/v1/report/total", method="GET",
            body=b'{"tenant_id": "proj-a", "begin": "2019-07-01", '
                 b'"end": "2019-08-01"}',
            content_type="application/json")
        assert D(response.json) == price_of(stored, project_id="proj-a",
                                            **JULY_BOUNDS)

    @pytest.mark.parametrize(("params", "field"), [
        ({"begin": "yesterday"}, "begin"),
        ({"end": "2019-13-01"}, "end"),
        ({"begin": "0001-01-01T00:00:00+05:00"}, "begin"),
        ({"all_tenants": "maybe"}, "all_tenants"),
        ({"tenant_id": "a\x00b"}, "tenant_id"),
        ({"service": "x\x00"}, "service"),
        ({"begin": "2019-08-01", "end": "2019-07-01"}, "end"),
    ])
    def test_bad_argument_is_a_400_naming_it(self, client, params,
                                             field) -> None:
        response = client.get("/v1/report/total", params=params,
                              status=400)
        assert field in fault(response)

    def test_unknown_argument_is_a_400(self, client) -> None:
        response = client.get("/v1/report/total?groupby=res_type",
                              status=400)
        assert fault(response) == 'Unknown argument: "groupby"'

    def test_bad_json_body_is_a_400(self, client) -> None:
        response = client.request("/v1/report/total", method="GET",
                                  body=b"[1, 2", status=400,
                                  content_type="application/json")
        fault(response)


# -- /v1/report/summary ------------------------------------------------

def rows(response: webtest.TestResponse) -> list[dict[str, Any]]:
    return list(response.json["summary"])


class TestSummary:
    def test_without_groupby_one_row_of_all(self, client, stored) -> None:
        response = client.get("/v1/report/summary",
                              params={**JULY, "all_tenants": "true"})
        assert rows(response) == [{
            "begin": JULY["begin"], "end": JULY["end"],
            "tenant_id": "ALL", "res_type": "ALL",
            "rate": rate_text(price_of(stored, **JULY_BOUNDS))}]

    def test_by_project(self, client, stored) -> None:
        response = client.get("/v1/report/summary", params={
            **JULY, "groupby": "tenant_id"})
        assert rows(response) == [
            {"begin": JULY["begin"], "end": JULY["end"],
             "tenant_id": project, "res_type": "ALL",
             "rate": rate_text(price_of(stored, project_id=project,
                                           **JULY_BOUNDS))}
            for project in ("proj-a", "proj-b")]

    def test_by_service(self, client, stored) -> None:
        response = client.get("/v1/report/summary", params={
            **JULY, "groupby": "res_type"})
        assert {(r["tenant_id"], r["res_type"]): r["rate"]
                for r in rows(response)} == {
            ("ALL", t): rate_text(price_of(stored, metric_type=t,
                                              **JULY_BOUNDS))
            for t in ("instance", "volume.size")}

    @pytest.mark.parametrize("groupby", ["res_type,tenant_id",
                                         "tenant_id, res_type,"])
    def test_by_project_and_service(self, client, stored,
                                    groupby) -> None:
        response = client.get("/v1/report/summary", params={
            **JULY, "groupby": groupby})
        expected = {
            (p.project_id, p.metric_type): rate_text(price_of(
                stored, project_id=p.project_id,
                metric_type=p.metric_type, **JULY_BOUNDS))
            for p in stored if p.start < JULY_BOUNDS["end"]}
        assert {(r["tenant_id"], r["res_type"]): r["rate"]
                for r in rows(response)} == expected
        assert len(rows(response)) == len(expected)

    def test_rate_is_rounded_to_five_places(self, client, stored) -> None:
        response = client.get("/v1/report/summary", params={
            **JULY, "tenant_id": "proj-b", "service": "volume.size"})
        assert rows(response)[0]["rate"] == "2.12346"

    def test_filters_on_project_and_service(self, client, stored) -> None:
        response = client.get("/v1/report/summary", params={
            **JULY, "tenant_id": "proj-a", "service": "instance",
            "groupby": "tenant_id,res_type"})
        assert [(r["tenant_id"], r["res_type"], r["rate"])
                for r in rows(response)] == [
            ("proj-a", "instance", rate_text(price_of(
                stored, project_id="proj-a", metric_type="instance",
                **JULY_BOUNDS)))]

    def test_nothing_rated_is_an_empty_list(self, client, stored) -> None:
        response = client.get("/v1/report/summary", params={
            **JULY, "tenant_id": "nobody", "groupby": "res_type"})
        assert response.json == {"summary": []}

    def test_default_window_in_rows(self, client, conf) -> None:
        begin, end = this_month()
        push(conf, [Pushed(begin, "instance", "p", "1", "2")])
        response = client.get("/v1/report/summary")
        assert rows(response) == [{
            "begin": begin.replace(tzinfo=None).isoformat(),
            "end": end.replace(tzinfo=None).isoformat(),
            "tenant_id": "ALL", "res_type": "ALL", "rate": "2.0"}]

    @pytest.mark.parametrize("groupby", ["project_id", "time",
                                         "res_type,type"])
    def test_unknown_groupby_is_a_400(self, client, groupby) -> None:
        response = client.get("/v1/report/summary",
                              params={"groupby": groupby}, status=400)
        message = fault(response)
        assert "groupby" in message and "tenant_id" in message


# -- /v1/report/tenants ------------------------------------------------

class TestTenants:
    def test_every_scope_with_a_state_once(self, client, conf) -> None:
        states = StateManager(conf)
        states.set_last_processed_timestamp("proj-b", at(0))
        states.set_last_processed_timestamp("proj-a", at(5))
        # Same scope under another collector: listed once.
        states.set_last_processed_timestamp("proj-a", at(5),
                                            collector="gnocchi")
        response = client.get("/v1/report/tenants")
        assert response.json == ["proj-a", "proj-b"]

    def test_window_is_checked_not_applied(self, client, conf) -> None:
        StateManager(conf).set_last_processed_timestamp("proj-a", at(0))
        response = client.get("/v1/report/tenants", params={
            "begin": "2030-01-01", "end": "2030-02-01"})
        assert response.json == ["proj-a"]
        response = client.get("/v1/report/tenants",
                              params={"begin": "soon"}, status=400)
        assert "begin" in fault(response)

    def test_none(self, client) -> None:
        assert client.get("/v1/report/tenants").json == []


# -- keystone: policies and visibility ---------------------------------

class TestKeystone:
    def test_reader_sees_its_own_project_whatever_it_asks(
            self, keystone, conf, stored) -> None:
        own = str(price_of(stored, project_id="proj-a", **JULY_BOUNDS))
        for params in ({}, {"tenant_id": "proj-b"},
                       {"all_tenants": "true"}):
            response = keystone.get("/v1/report/total",
                                    params={**JULY, **params},
                                    headers=reader("proj-a"))
            assert response.json == own, params

    def test_reader_summary_is_its_own_project(self, keystone,
                                               stored) -> None:
        response = keystone.get("/v1/report/summary", params={
            **JULY, "groupby": "tenant_id", "all_tenants": "true"},
            headers=reader("proj-b"))
        assert [(r["tenant_id"], r["rate"]) for r in rows(response)] == [
            ("proj-b", rate_text(price_of(stored, project_id="proj-b",
                                             **JULY_BOUNDS)))]

    def test_unscoped_reader_sees_nothing(self, keystone, stored) -> None:
        headers = reader(None)
        assert keystone.get("/v1/report/total", params=JULY,
                            headers=headers).json == "0"
        assert keystone.get("/v1/report/summary", params=JULY,
                            headers=headers).json == {"summary": []}

    def test_admin_defaults_to_its_own_project(self, keystone,
                                               stored) -> None:
        response = keystone.get("/v1/report/total", params=JULY,
                                headers=ADMIN)
        assert response.json == "0"
        response = keystone.get("/v1/report/total", params={
            **JULY, "tenant_id": "proj-b"}, headers=ADMIN)
        assert D(response.json) == price_of(stored, project_id="proj-b",
                                            **JULY_BOUNDS)
        response = keystone.get("/v1/report/total", params={
            **JULY, "all_tenants": "1"}, headers=ADMIN)
        assert D(response.json) == price_of(stored, **JULY_BOUNDS)

    def test_role_without_reader_is_denied(self, keystone) -> None:
        headers = {"X-Roles": "member", "X-Project-Id": "proj-a"}
        for path in ("/v1/report/total", "/v1/report/summary"):
            response = keystone.get(path, headers=headers, status=403)
            assert response.json["faultcode"] == "Client"

    def test_tenants_is_admin_only(self, keystone, conf) -> None:
        StateManager(conf).set_last_processed_timestamp("proj-a", at(0))
        keystone.get("/v1/report/tenants", headers=reader("proj-a"),
                     status=403)
        assert keystone.get("/v1/report/tenants",
                            headers=ADMIN).json == ["proj-a"]

    def test_opened_tenants_rule_still_shows_only_own_project(
            self, deployment, conf, tmp_path) -> None:
        states = StateManager(conf)
        for scope in ("proj-a", "proj-b"):
            states.set_last_processed_timestamp(scope, at(0))
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text('"report:list_tenants": ""\n')
        api = webtest.TestApp(app.setup_app(deployment(
            "keystone", oslo_policy={"policy_file": policy_file})))
        assert api.get("/v1/report/tenants",
                       headers=reader("proj-b")).json == ["proj-b"]

    def test_policy_file_can_deny_totals_to_readers(
            self, deployment, tmp_path) -> None:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text('"report:get_total": "role:admin"\n')
        api = webtest.TestApp(app.setup_app(deployment(
            "keystone", oslo_policy={"policy_file": policy_file})))
        api.get("/v1/report/total", headers=reader("proj-a"), status=403)
        api.get("/v1/report/summary", headers=reader("proj-a"))
