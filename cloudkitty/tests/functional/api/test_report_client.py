"""The official ``cloudkitty`` client, rating API version 1, against a
running ``cloudkitty-api`` (noauth) on SQLite and PostgreSQL: ``report
tenant list``, ``total get``, ``summary get``, ``dataframes get`` (also
with the ``df-to-csv`` formatter), ``collector-mapping
list|get|create|delete`` and ``collector state get``, ``collector
enable|disable``.

Expected values are computed here from the points the tests store through
the storage backend, never by the API."""
from __future__ import annotations

import csv
import io
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty.db import api as db_api
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import storage_factory
from cloudkitty.tests.functional.api.conftest import (
    CLIENT_DB_KINDS,
    api_on_fresh_database,
    conf_for,
    running_api,
)
from cloudkitty.tests.functional.api.test_client_cli import (
    CLIENT,
    as_json,
    cloudkitty,
)
from cloudkitty.tests.functional.keystone_fixture import (
    URL as KEYSTONE_URL,
)
from cloudkitty.tests.functional.keystone_fixture import (
    Identity,
    authtoken_options,
)
from cloudkitty.tests.storage_factory import HOUR, at
from cloudkitty.tests.unit.api.test_v1_report import (
    POINTS,
    Pushed,
    price_of,
    push,
    rate_text,
    this_month,
)

#: The configuration the API and the test share.
SECTIONS: dict[str, dict[str, Any]] = {
    "collect": {"scope_key": "project_id", "collector": "prometheus"},
    "fetcher": {"backend": "source"},
}
JULY = ("-b", "2019-07-01T00:00:00", "-e", "2019-08-01T00:00:00")
JULY_BOUNDS = {"begin": at(0), "end": at(24 * 31)}
USER_PASSWORD = "ck-report-secret"
#: The API validates tokens with Keystone's admin account.
KEYSTONE_AUTHTOKEN = authtoken_options()
JULY_ROW = {"Begin Time": "2019-07-01T00:00:00",
            "End Time": "2019-08-01T00:00:00"}


class Api:
    """A running API and a configuration of the same deployment."""

    def __init__(self, url: str, conf: cfg.ConfigOpts) -> None:
        self.url = url
        self.conf = conf

    def cli(self, *args: str,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        return cloudkitty(self.url, "--os-rating-api-version", "1", *args,
                          check=check)

    def json(self, *args: str) -> Any:
        return as_json(self.cli(*args, "-f", "json"))

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with db_api.get_engine(self.conf).connect() as connection:
            return [tuple(row)
                    for row in connection.execute(sa.text(query))]



@pytest.fixture(scope="module", params=CLIENT_DB_KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_on_fresh_database(request.param, tmp_path_factory,
                               **SECTIONS) as (url, db_url):
        conf = conf_for(db_url, tmp_path_factory.mktemp("conf"),
                        SECTIONS)
        try:
            yield Api(url, conf)
        finally:
            db_api.dispose_engines()


@pytest.fixture(autouse=True)
def empty(api: Api) -> None:
    """Every test starts with no state, rated data, mapping or collector
    state."""
    with db_api.get_engine(api.conf).begin() as connection:
        for table in ("cloudkitty_storage_states",
                      "service_to_collector_mappings"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
        storage_factory.clear_rated(connection)
        connection.execute(sa.text(
            "DELETE FROM modules_state WHERE name LIKE 'collector\\_%' "
            "ESCAPE '\\'"))


@pytest.fixture
def stored(api: Api) -> list[Pushed]:
    push(api.conf, POINTS)
    return POINTS


def fails_with(result: subprocess.CompletedProcess[str],
               status: int) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"(HTTP {status})" in output
    return output


class TestReport:
    def test_tenant_list(self, api: Api) -> None:
        states = StateManager(api.conf)
        states.set_last_processed_timestamp("proj-b", at(0))
        states.set_last_processed_timestamp("proj-a", at(0))
        expected = [{"Tenant ID": "proj-a"}, {"Tenant ID": "proj-b"}]
        assert api.json("report", "tenant", "list") == expected
        assert api.json("report", "tenant", "list", *JULY) == expected

    def test_total_of_every_project(self, api: Api, stored) -> None:
        total = price_of(stored, **JULY_BOUNDS)
        assert api.json("total", "get", *JULY) == {"Total": float(total)}
        assert api.json("total", "get", *JULY, "--all-tenants") == {
            "Total": float(total)}

    def test_total_of_a_project_and_a_service(self, api: Api,
                                              stored) -> None:
        assert api.json("total", "get", *JULY, "-t", "proj-b") == {
            "Total": float(price_of(stored, project_id="proj-b",
                                    **JULY_BOUNDS))}
        assert api.json("total", "get", *JULY, "-t", "proj-a", "-s",
                        "volume.size") == {
            "Total": float(price_of(stored, project_id="proj-a",
                                    metric_type="volume.size",
                                    **JULY_BOUNDS))}

    def test_total_of_the_current_month_by_default(self, api: Api) -> None:
        begin, end = this_month()
        points = [Pushed(begin, "instance", "p", "1", "7.5"),
                  Pushed(begin - HOUR, "instance", "p",
                         "1", "100")]
        push(api.conf, points)
        assert api.json("total", "get") == {
            "Total": float(price_of(points, begin=begin, end=end))}
        # -g is accepted by the client and not sent.
        assert api.json("total", "get", "-g", "res_type") == {
            "Total": float(price_of(points, begin=begin, end=end))}

    def test_total_of_nothing_is_zero(self, api: Api) -> None:
        assert api.json("total", "get", *JULY) == {"Total": 0.0}

    def test_summary_by_service_and_project(self, api: Api,
                                            stored) -> None:
        rows = api.json("summary", "get", *JULY, "-g", "res_type",
                        "tenant_id")
        pairs = sorted({(p.project_id, p.metric_type) for p in stored
                        if p.start < JULY_BOUNDS["end"]})
        assert rows == [
            {"Tenant ID": project, "Resource Type": metric_type,
             "Rate": rate_text(price_of(
                 stored, project_id=project, metric_type=metric_type,
                 **JULY_BOUNDS)), **JULY_ROW}
            for project, metric_type in pairs]

    def test_summary_by_project(self, api: Api, stored) -> None:
        rows = api.json("summary", "get", *JULY, "-g", "tenant_id")
        assert rows == [
            {"Tenant ID": project, "Resource Type": "ALL",
             "Rate": rate_text(price_of(stored, project_id=project,
                                           **JULY_BOUNDS)), **JULY_ROW}
            for project in ("proj-a", "proj-b")]

    def test_summary_of_one_project_and_service(self, api: Api,
                                                stored) -> None:
        rows = api.json("summary", "get", *JULY, "-t", "proj-b", "-s",
                        "volume.size")
        assert rows == [{
            "Tenant ID": "ALL", "Resource Type": "ALL",
            "Rate": rate_text(price_of(stored, project_id="proj-b",
                                          metric_type="volume.size",
                                          **JULY_BOUNDS)),
            **JULY_ROW}]

    def test_summary_of_every_project(self, api: Api, stored) -> None:
        rows = api.json("summary", "get", *JULY, "-a", "-g", "res_type")
        assert rows == [
            {"Tenant ID": "ALL", "Resource Type": metric_type,
             "Rate": rate_text(price_of(stored, metric_type=metric_type,
                                           **JULY_BOUNDS)), **JULY_ROW}
            for metric_type in ("instance", "volume.size")]

    def test_summary_with_an_unknown_groupby_fails_with_400(
            self, api: Api) -> None:
        output = fails_with(api.cli("summary", "get", "-g", "project_id",
                                    check=False), 400)
        assert "groupby" in output


def resources(points: list[Pushed]) -> list[dict[str, Any]]:
    """The resources ``dataframes get`` shows for ``points`` (one per
    frame here), with the client's ``rate_value``."""
    result = []
    for p in points:
        start = p.start
        desc = {"flavor_name": "m1.small", "project_id": p.project_id,
                "week_of_the_year": start.strftime("%U"),
                "day_of_the_year": str(start.timetuple().tm_yday),
                "month": str(start.month), "year": start.strftime("%Y")}
        result.append({"service": p.metric_type, "desc": desc,
                       "volume": p.qty, "rating": p.price,
                       "rate_value": f"{float(p.price) / float(p.qty):.4f}"})
    return result


def frame_rows(points: list[Pushed]) -> list[dict[str, Any]]:
    return [{"Begin": p.start.replace(tzinfo=None).isoformat(),
             "End": (p.start + HOUR).replace(
                 tzinfo=None).isoformat(),
             "Project ID": p.project_id, "Resources": [resource]}
            for p, resource in zip(points, resources(points), strict=True)]


class TestDataframes:
    def test_every_frame_of_the_window(self, api: Api, stored) -> None:
        july = [p for p in stored if p.start < JULY_BOUNDS["end"]]
        assert api.json("dataframes", "get", *JULY) == frame_rows(july)

    def test_project_and_type_filters(self, api: Api, stored) -> None:
        wanted = [p for p in stored if p.project_id == "proj-a"
                  and p.metric_type == "instance"]
        assert api.json("dataframes", "get", "-p", "proj-a", "-r",
                        "instance") == frame_rows(wanted)

    def test_csv_report(self, api: Api, stored) -> None:
        wanted = [p for p in stored if p.project_id == "proj-b"]
        output = api.cli("dataframes", "get", "-p", "proj-b", "-f",
                         "df-to-csv").stdout
        assert list(csv.DictReader(io.StringIO(output))) == [
            {"Begin": row["Begin"], "End": row["End"],
             "Metric Type": p.metric_type, "Qty": p.qty, "Cost": p.price,
             "Project ID": p.project_id, "Resource ID": "",
             "User ID": ""}
            for p, row in zip(wanted, frame_rows(wanted), strict=True)]

    def test_nothing(self, api: Api) -> None:
        assert api.json("dataframes", "get", *JULY) == []


class TestCollector:
    def test_mapping_lifecycle(self, api: Api) -> None:
        assert api.json("collector-mapping", "create", "instance",
                        "gnocchi") == [{"Service": "instance",
                                        "Collector": "gnocchi"}]
        api.cli("collector-mapping", "create", "image", "prometheus")
        api.cli("collector-mapping", "create", "volume", "gnocchi")
        assert api.sql("SELECT service, collector FROM "
                       "service_to_collector_mappings ORDER BY service") \
            == [("image", "prometheus"), ("instance", "gnocchi"),
                ("volume", "gnocchi")]
        assert api.json("collector-mapping", "list") == [
            {"Service": "image", "Collector": "prometheus"},
            {"Service": "instance", "Collector": "gnocchi"},
            {"Service": "volume", "Collector": "gnocchi"}]
        assert api.json("collector-mapping", "list", "--collector",
                        "gnocchi") == [
            {"Service": "instance", "Collector": "gnocchi"},
            {"Service": "volume", "Collector": "gnocchi"}]
        assert api.json("collector-mapping", "get", "image") == [
            {"Service": "image", "Collector": "prometheus"}]
        api.cli("collector-mapping", "delete", "image")
        output = fails_with(api.cli("collector-mapping", "get", "image",
                                    check=False), 404)
        assert "No mapping for service: image" in output
        fails_with(api.cli("collector-mapping", "delete", "image",
                           check=False), 404)

    def test_mapping_create_replaces(self, api: Api) -> None:
        api.cli("collector-mapping", "create", "instance", "gnocchi")
        assert api.json("collector-mapping", "create", "instance",
                        "prometheus") == [{"Service": "instance",
                                           "Collector": "prometheus"}]
        assert api.json("collector-mapping", "list") == [
            {"Service": "instance", "Collector": "prometheus"}]

    def test_state_get_enable_disable(self, api: Api) -> None:
        assert api.json("collector", "state", "get", "gnocchi") == [
            {"Collector": "gnocchi", "State": False}]
        assert api.json("collector", "enable", "gnocchi") == [
            {"Collector": "gnocchi", "State": True}]
        assert api.sql("SELECT name, state FROM modules_state WHERE "
                       "name = 'collector_gnocchi'") == [
            ("collector_gnocchi", True)]
        assert api.json("collector", "state", "get", "gnocchi") == [
            {"Collector": "gnocchi", "State": True}]
        assert api.json("collector", "disable", "gnocchi") == [
            {"Collector": "gnocchi", "State": False}]
        assert api.json("collector", "state", "get", "gnocchi") == [
            {"Collector": "gnocchi", "State": False}]


# -- keystone: a real token, as a reader of one project and as an admin --

class KeystoneScene:
    """Two projects, a reader of the first one and an administrator, in
    the real Keystone; an API using it; data of both projects."""

    def __init__(self, api: Api, url: str, projects: list[str],
                 users: dict[str, tuple[str, str]]) -> None:
        self.api = api
        self.url = url
        self.projects = projects
        self.users = users

    def cli(self, who: str, *args: str,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        name, project_id = self.users[who]
        return subprocess.run(
            [CLIENT, "--os-auth-type", "password",
             "--os-auth-url", KEYSTONE_URL, "--os-username", name,
             "--os-password", USER_PASSWORD,
             "--os-user-domain-id", "default",
             "--os-project-id", project_id,
             "--os-rating-endpoint-override", self.url,
             "--os-rating-api-version", "1", *args],
            capture_output=True, text=True, timeout=60, check=check)

    def json(self, who: str, *args: str) -> Any:
        return as_json(self.cli(who, *args, "-f", "json"))


@pytest.fixture(scope="module")
def keystone_scene(tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[KeystoneScene]:
    identity = Identity()
    try:
        identity.s.get_token()
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(f"Keystone at {KEYSTONE_URL} is not usable "
                    f"(tools/services.sh start keystone): {exc}")
    tag = uuid.uuid4().hex[:10]
    try:
        projects = [identity.create("projects", name=f"ck-{n}-{tag}",
                                    domain_id="default")["id"]
                    for n in ("a", "b")]
        users = {}
        for who, role in (("reader", "reader"), ("admin", "admin")):
            user = identity.create("users", name=f"ck-{who}-{tag}",
                                   password=USER_PASSWORD,
                                   domain_id="default")
            identity.grant(identity.role(role), user,
                           {"id": projects[0]})
            users[who] = (user["name"], projects[0])
        tmp = tmp_path_factory.mktemp("api-keystone")
        with running_api(tmp, f"sqlite:///{tmp}/ck.sqlite",
                         collect=SECTIONS["collect"],
                         fetcher=SECTIONS["fetcher"],
                         DEFAULT={"auth_strategy": "keystone"},
                         keystone_authtoken=KEYSTONE_AUTHTOKEN) as url:
            conf = conf_for(f"sqlite:///{tmp}/ck.sqlite", tmp, SECTIONS)
            try:
                yield KeystoneScene(Api(url, conf), url, projects, users)
            finally:
                db_api.dispose_engines()
    finally:
        identity.close()


@pytest.fixture
def project_points(keystone_scene: KeystoneScene) -> list[Pushed]:
    """One point per project and service, pushed for the scene into its
    otherwise empty database."""
    with db_api.get_engine(keystone_scene.api.conf).begin() as connection:
        connection.execute(sa.text("DELETE FROM cloudkitty_storage_states"))
        storage_factory.clear_rated(connection)
    a, b = keystone_scene.projects
    points = [Pushed(at(1), "instance", a, "1", "0.75"),
              Pushed(at(2), "volume.size", a, "5", "0.5"),
              Pushed(at(1), "instance", b, "2", "40")]
    push(keystone_scene.api.conf, points)
    StateManager(keystone_scene.api.conf).set_last_processed_timestamp(
        b, at(2))
    return points


class TestKeystone:
    @pytest.fixture(autouse=True)
    def empty(self) -> None:
        """The keystone scene has its own database (emptied by
        ``project_points``)."""

    def test_reader_reads_only_its_project(self, keystone_scene,
                                           project_points) -> None:
        scene = keystone_scene
        a, b = scene.projects
        own = float(price_of(project_points, project_id=a))
        for extra in ((), ("-t", b), ("--all-tenants",)):
            assert scene.json("reader", "total", "get", *JULY,
                              *extra) == {"Total": own}, extra
        rows = scene.json("reader", "summary", "get", *JULY, "-a", "-g",
                          "tenant_id")
        assert [(r["Tenant ID"], r["Rate"]) for r in rows] == [
            (a, rate_text(price_of(project_points, project_id=a)))]
        frames = scene.json("reader", "dataframes", "get", "-p", b)
        assert {f["Project ID"] for f in frames} == {a}
        assert len(frames) == 2

    def test_reader_is_refused_admin_commands(self, keystone_scene,
                                              project_points) -> None:
        for args in (("report", "tenant", "list"),
                     ("collector-mapping", "list"),
                     ("collector", "state", "get", "gnocchi")):
            fails_with(keystone_scene.cli("reader", *args, check=False),
                       403)

    def test_admin_reads_every_project(self, keystone_scene,
                                       project_points) -> None:
        scene = keystone_scene
        a, b = scene.projects
        assert scene.json("admin", "total", "get", *JULY, "-a") == {
            "Total": float(price_of(project_points))}
        assert scene.json("admin", "total", "get", *JULY, "-t", b) == {
            "Total": float(price_of(project_points, project_id=b))}
        assert scene.json("admin", "report", "tenant", "list") == [
            {"Tenant ID": b}]
        frames = scene.json("admin", "dataframes", "get")
        assert sorted(f["Project ID"] for f in frames) == sorted([a, a, b])
