"""Keystone authentication and project isolation of a running
``cloudkitty-api`` (``auth_strategy = keystone``) against the real
Keystone of ``tools/services.sh``, on SQLite and PostgreSQL
(COMPAT.md §10, §2.8, §2.9, §3.2).

The scene, created in Keystone for the module and removed afterwards:
projects A, B and C; ``admin`` holds ``admin`` on A, ``admin2`` ``admin``
on B, ``member`` ``member`` on B, ``reader`` ``reader`` on B,
``outsider`` ``member`` on C (which has no rated data) and ``nobody`` no
role at all (its token is unscoped). Keystone's own ``admin`` is the third
administrator of the audit test.

Rated points of A and B are stored through the storage API; every
expected total is summed here from those points. Two API processes share
the database: one with the default policies and one whose
``[oslo_policy] policy_file`` overrides three rules (:data:`POLICY`).
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import decimal
import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty.db import api as db_api
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import dbutil
from cloudkitty.tests.functional import keystone_fixture
from cloudkitty.tests.functional.api.conftest import (
    CLIENT_DB_KINDS,
    conf_for,
    running_api,
)
from cloudkitty.tests.functional.api.test_client_cli import CLIENT
from cloudkitty.tests.storage_factory import at
from cloudkitty.tests.unit.api.test_v1_report import Pushed, price_of, push

pytestmark = keystone_fixture.needs_keystone()

D = decimal.Decimal
PASSWORD = "ck-isolation-secret"
#: Every read asks for July 2019, where the points are.
JULY = {"begin": "2019-07-01T00:00:00", "end": "2019-08-01T00:00:00"}
HASHMAP = "/v1/rating/module_config/hashmap"
SCRIPTS = "/v1/rating/module_config/pyscripts/scripts"
SOURCE = "for points in data['usage'].values():\n    pass\n"
FUTURE = "2099-01-01T00:00:00"
#: Overrides of the policy-file API: members manage rating configuration,
#: readers lose the v2 summary, any reader may list the rated projects
#: and read the state and reprocessing of its own scope.
POLICY = {
    "rating:module_config": "rule:context_is_admin or role:member",
    "summary:get_summary":
        "rule:context_is_admin or (role:member and "
        "project_id:%(project_id)s)",
    "report:list_tenants": "role:reader",
    "scope:get_state": "rule:project_reader_or_admin",
    "schedule:get_task_reprocesses": "rule:project_reader_or_admin",
}
#: The tables a refused request must leave as they were.
TABLES = ("hashmap_services", "hashmap_fields", "hashmap_groups",
          "hashmap_mappings", "hashmap_thresholds", "pyscripts_scripts",
          "modules_state", "cloudkitty_storage_states",
          "storage_scope_reprocessing_schedule",
          "service_to_collector_mappings", "cloudkitty_dataframes",
          "cloudkitty_rollup_periods", "cloudkitty_rollup_days")
#: The options both API processes and the test's own configuration share.
SECTIONS: dict[str, dict[str, Any]] = {
    "collect": {"scope_key": "project_id", "collector": "prometheus"},
    "fetcher": {"backend": "source"},
}


@dataclasses.dataclass(frozen=True)
class Person:
    """A Keystone user and a token of it (scoped to ``project_id``,
    unscoped when None)."""

    name: str
    user_id: str
    project_id: str | None
    token: str


@dataclasses.dataclass(frozen=True)
class Scene:
    a: str
    b: str
    c: str
    people: dict[str, Person]
    #: A token of ``member`` that Keystone revoked.
    revoked: str

    def __getitem__(self, who: str) -> Person:
        return self.people[who]


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    with keystone_fixture.identity() as ident:
        tag = uuid.uuid4().hex[:10]
        a, b, c = (ident.create("projects", name=f"ck-iso-{n}-{tag}",
                                domain_id="default") for n in "abc")
        grants = {"admin": ("admin", a), "admin2": ("admin", b),
                  "member": ("member", b), "reader": ("reader", b),
                  "outsider": ("member", c), "nobody": (None, None)}
        people = {}
        for who, (role, project) in grants.items():
            user = ident.create("users", name=f"ck-iso-{who}-{tag}",
                                password=PASSWORD, domain_id="default")
            if role is not None and project is not None:
                ident.grant(ident.role(role), user, project)
            project_id = None if project is None else project["id"]
            token = keystone_fixture.user_session(
                user["name"], PASSWORD, project_id).get_token()
            people[who] = Person(user["name"], user["id"], project_id,
                                 str(token))
        people["keystone_admin"] = Person(
            "admin", str(ident.s.get_user_id()),
            str(ident.s.get_project_id()), str(ident.s.get_token()))
        revoked = str(keystone_fixture.user_session(
            people["member"].name, PASSWORD, b["id"]).get_token())
        keystone_fixture.revoke(ident, revoked)
        yield Scene(a["id"], b["id"], c["id"], people, revoked)


class Api:
    """The two API processes on one database, and the test's own
    configuration of that database."""

    def __init__(self, url: str, policy_url: str, conf: cfg.ConfigOpts,
                 points: list[Pushed]) -> None:
        self.url = url
        self.policy_url = policy_url
        self.conf = conf
        self.points = points

    def call(self, method: str, path: str, who: Person | str | None, *,
             policy_file: bool = False, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        """``method path`` with the token of ``who`` (a Person or a raw
        token; no token for None)."""
        sent = dict(headers or {})
        if who is not None:
            sent["X-Auth-Token"] = who if isinstance(who, str) else who.token
        base = self.policy_url if policy_file else self.url
        return requests.request(method, base + path, headers=sent,
                                timeout=30, **kwargs)

    def get(self, path: str, who: Person | str | None,
            **kwargs: Any) -> requests.Response:
        return self.call("GET", path, who, **kwargs)

    def sql(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        with db_api.get_engine(self.conf).connect() as connection:
            return [tuple(row) for row in
                    connection.execute(sa.text(query), params)]

    def execute(self, query: str, **params: Any) -> None:
        with db_api.get_engine(self.conf).begin() as connection:
            connection.execute(sa.text(query), params)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return {table: self.sql(f"SELECT * FROM {table} ORDER BY 1")
                for table in TABLES}



def _points(scene: Scene) -> list[Pushed]:
    a, b = scene.a, scene.b
    return [Pushed(at(0), "instance", a, "1", "1.5"),
            Pushed(at(1), "volume.size", a, "10", "0.25"),
            Pushed(at(2), "instance", a, "2", "3"),
            Pushed(at(0), "instance", b, "4", "0.75"),
            Pushed(at(3), "volume.size", b, "20", "2.5")]


def _start_api(tmp: Path, db_url: str,
               oslo_policy: dict[str, object]) -> ContextManager[str]:
    """A keystone-mode ``cloudkitty-api`` on ``db_url``."""
    tmp.mkdir()
    return running_api(
        tmp, db_url, collect=SECTIONS["collect"],
        fetcher=SECTIONS["fetcher"],
        # Notices to the processors stay in the API process.
        DEFAULT={"auth_strategy": "keystone", "transport_url": "fake://"},
        keystone_authtoken=keystone_fixture.authtoken_options(),
        orchestrator={"coordination_url": f"file://{tmp / 'locks'}"},
        oslo_policy=oslo_policy)


@pytest.fixture(scope="module", params=CLIENT_DB_KINDS)
def api(request: pytest.FixtureRequest, scene: Scene,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp(f"keystone-{request.param}")
    policy_file = tmp / "policy.yaml"
    policy_file.write_text(json.dumps(POLICY))
    with dbutil.fresh_database(request.param, str(tmp)) as db_url, \
            _start_api(tmp / "default", db_url, {}) as url, \
            _start_api(tmp / "policy", db_url,
                       {"policy_file": policy_file}) as policy_url:
        conf = conf_for(db_url, tmp, SECTIONS)
        try:
            points = _points(scene)
            push(conf, points)
            states = StateManager(conf)
            for scope_id in (scene.a, scene.b):
                states.set_last_processed_timestamp(scope_id, at(5))
            yield Api(url, policy_url, conf, points)
        finally:
            db_api.dispose_engines()


# -- authentication -----------------------------------------------------------

PUBLIC = ("/", "/v1", "/v1/", "/v2", "/v2/", "/healthcheck")
PROTECTED: tuple[tuple[str, str], ...] = (
    ("GET", "/v1/info/config"),
    ("GET", "/v1/info/metrics"),
    ("GET", "/v1/rating/modules"),
    ("PUT", "/v1/rating/modules/hashmap"),
    ("GET", "/v1/rating/reload_modules"),
    ("POST", "/v1/rating/quote"),
    ("GET", f"{HASHMAP}/services"),
    ("POST", f"{HASHMAP}/services"),
    ("GET", SCRIPTS),
    ("GET", "/v1/report/tenants"),
    ("GET", "/v1/report/total"),
    ("GET", "/v1/report/summary"),
    ("GET", "/v1/storage/dataframes"),
    ("GET", "/v1/collector/mappings"),
    ("GET", "/v1/nonexistent"),
    ("GET", "/v2/summary"),
    ("GET", "/v2/summary/"),
    ("GET", "/v2/dataframes"),
    ("POST", "/v2/dataframes"),
    ("GET", "/v2/scope"),
    ("PUT", "/v2/scope"),
    ("PATCH", "/v2/scope"),
    ("POST", "/v2/scope"),
    ("GET", "/v2/task/reprocesses"),
    ("POST", "/v2/task/reprocesses"),
    ("GET", "/v2/rating/modules"),
    ("PUT", "/v2/rating/modules/hashmap"),
)


def test_public_routes_need_no_token(api: Api) -> None:
    for path in PUBLIC:
        for token in (None, "not-a-token"):
            response = api.get(path, token)
            assert response.status_code != 401, (path, token)
    assert api.get("/", None).json()["versions"]
    assert api.get("/healthcheck", None).status_code == 200


@pytest.mark.parametrize("token", ["none", "garbage", "revoked"])
def test_every_other_route_needs_a_valid_token(api: Api, scene: Scene,
                                               token: str) -> None:
    sent = {"none": None, "garbage": "not-a-token",
            "revoked": scene.revoked}[token]
    for method, path in PROTECTED:
        response = api.call(method, path, sent, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Keystone")


# -- what each caller reads ---------------------------------------------------

Seen = tuple[frozenset[str] | None, D]


def _v2_summary(response: requests.Response) -> Seen:
    """Projects (when grouped by project) and total rate of a summary."""
    assert response.status_code == 200, response.text
    rows = response.json()["results"]
    projects = (frozenset(r["project_id"] for r in rows)
                if rows and "project_id" in rows[0] else None)
    return projects, sum((D(str(r["rate"])) for r in rows), D(0))


def _v2_dataframes(response: requests.Response) -> Seen:
    assert response.status_code == 200, response.text
    points = [p for frame in response.json()["dataframes"]
              for ps in frame["usage"].values() for p in ps]
    return (frozenset(p["groupby"]["project_id"] for p in points),
            sum((D(str(p["rating"]["price"])) for p in points), D(0)))


def _v1_total(response: requests.Response) -> Seen:
    assert response.status_code == 200, response.text
    return None, D(response.json())


def _v1_summary(response: requests.Response) -> Seen:
    assert response.status_code == 200, response.text
    rows = response.json()["summary"]
    projects = frozenset(r["tenant_id"] for r in rows) - {"ALL"}
    return projects or None, sum((D(r["rate"]) for r in rows), D(0))


def _v1_dataframes(response: requests.Response) -> Seen:
    assert response.status_code == 200, response.text
    frames = response.json()["dataframes"]
    return (frozenset(f["tenant_id"] for f in frames),
            sum((D(r["rating"]) for f in frames for r in f["resources"]),
                D(0)))


def _with_projects(seen: Seen, expected: Seen) -> Seen:
    """``expected`` without projects when ``seen`` shows none (a reading
    not grouped by project)."""
    return (None if seen[0] is None else expected[0]), expected[1]


def test_admin_reads_everything(api: Api, scene: Scene) -> None:
    admin, pts = scene["admin"], api.points
    a, b = scene.a, scene.b
    everyone: Seen = (frozenset({a, b}), price_of(pts))
    only_a: Seen = (frozenset({a}), price_of(pts, project_id=a))
    only_b: Seen = (frozenset({b}), price_of(pts, project_id=b))
    summary = "/v2/summary"
    v2 = {**JULY, "response_format": "object"}
    assert _v2_summary(api.get(summary, admin, params={
        **v2, "groupby": "project_id"})) == everyone
    assert _v2_summary(api.get(summary, admin, params=v2))[1] == everyone[1]
    assert _v2_summary(api.get(summary, admin, params={
        **v2, "groupby": "project_id", "filters": f"project_id:{b}"})) \
        == only_b
    assert _v2_dataframes(api.get("/v2/dataframes", admin,
                                  params=JULY)) == everyone
    assert _v1_total(api.get("/v1/report/total", admin, params={
        **JULY, "all_tenants": "true"}))[1] == everyone[1]
    # Without all_tenants or tenant_id: the token's own project.
    assert _v1_total(api.get("/v1/report/total", admin,
                             params=JULY))[1] == only_a[1]
    assert _v1_total(api.get("/v1/report/total", admin, params={
        **JULY, "tenant_id": b}))[1] == only_b[1]
    assert _v1_summary(api.get("/v1/report/summary", admin, params={
        **JULY, "all_tenants": "true", "groupby": "tenant_id"})) == everyone
    assert _v1_dataframes(api.get("/v1/storage/dataframes", admin,
                                  params=JULY)) == everyone
    assert api.get("/v1/report/tenants", admin).json() == sorted([a, b])


def _reads(a: str, b: str) -> list[tuple[str, dict[str, Any], Any, str]]:
    """(path, query, reader of the answer, what is expected: ``all`` of
    the caller's project or its ``instance`` points) of every read a
    project user tries, with the filters that would show another
    project."""
    v2 = {**JULY, "response_format": "object"}
    return [
        ("/v2/summary", v2, _v2_summary, "all"),
        ("/v2/summary", {**v2, "filters": f"project_id:{a}"},
         _v2_summary, "all"),
        ("/v2/summary", {**v2, "filters": [f"project_id:{a}",
                                           f"project_id:{b}"]},
         _v2_summary, "all"),
        ("/v2/summary", {**v2, "groupby": "project_id"}, _v2_summary,
         "all"),
        ("/v2/summary", {**v2, "groupby": ["type", "project_id"],
                         "filters": f"project_id:{a}"}, _v2_summary, "all"),
        ("/v2/summary", {**v2, "groupby": "project_id",
                         "filters": f"type:instance,project_id:{a}"},
         _v2_summary, "instance"),
        ("/v2/dataframes", JULY, _v2_dataframes, "all"),
        ("/v2/dataframes", {**JULY, "filters": f"project_id:{a}"},
         _v2_dataframes, "all"),
        ("/v2/dataframes", {**JULY, "filters": f"project_id:{a},"
                                               f"type:instance"},
         _v2_dataframes, "instance"),
        ("/v1/report/total", JULY, _v1_total, "all"),
        ("/v1/report/total", {**JULY, "tenant_id": a}, _v1_total, "all"),
        ("/v1/report/total", {**JULY, "all_tenants": "true"}, _v1_total,
         "all"),
        ("/v1/report/total", {**JULY, "tenant_id": a,
                              "all_tenants": "true"}, _v1_total, "all"),
        ("/v1/report/total", {**JULY, "tenant_id": a,
                              "service": "instance"}, _v1_total,
         "instance"),
        ("/v1/report/summary", {**JULY, "groupby": "tenant_id"},
         _v1_summary, "all"),
        ("/v1/report/summary", {**JULY, "groupby": "tenant_id,res_type",
                                "all_tenants": "true"}, _v1_summary, "all"),
        ("/v1/report/summary", {**JULY, "groupby": "tenant_id",
                                "tenant_id": a}, _v1_summary, "all"),
        ("/v1/report/summary", {**JULY, "tenant_id": a,
                                "service": "instance"}, _v1_summary,
         "instance"),
        ("/v1/storage/dataframes", JULY, _v1_dataframes, "all"),
        ("/v1/storage/dataframes", {**JULY, "tenant_id": a},
         _v1_dataframes, "all"),
        ("/v1/storage/dataframes", {**JULY, "tenant_id": a,
                                    "resource_type": "instance"},
         _v1_dataframes, "instance"),
    ]


#: Identity headers a client might send to pass for someone else;
#: keystonemiddleware must replace them with the token's.
FORGED = {"X-Project-Id": "{a}", "X-Tenant-Id": "{a}", "X-Roles": "admin",
          "X-User-Id": "someone", "X-Identity-Status": "Confirmed",
          "X-Service-Roles": "admin", "X-Is-Admin-Project": "True"}


@pytest.mark.parametrize("who", ["member", "reader"])
@pytest.mark.parametrize("forged", [False, True],
                         ids=["plain", "forged-headers"])
def test_project_users_read_only_their_project(api: Api, scene: Scene,
                                               who: str,
                                               forged: bool) -> None:
    a, b = scene.a, scene.b
    expected: dict[str, Seen] = {
        "all": (frozenset({b}), price_of(api.points, project_id=b)),
        "instance": (frozenset({b}), price_of(
            api.points, project_id=b, metric_type="instance"))}
    headers = ({key: value.format(a=a) for key, value in FORGED.items()}
               if forged else None)
    for path, query, read, wanted in _reads(a, b):
        seen = read(api.get(path, scene[who], params=query,
                            headers=headers))
        assert seen == _with_projects(seen, expected[wanted]), (path, query)
    # v1 arguments may also come in a JSON body, even on GET.
    for path, read in (("/v1/report/total", _v1_total),
                       ("/v1/report/summary", _v1_summary),
                       ("/v1/storage/dataframes", _v1_dataframes)):
        seen = read(api.get(path, scene[who], headers=headers,
                            json={**JULY, "tenant_id": a}))
        assert seen == _with_projects(seen, expected["all"]), path
    # Counts before paging do not reveal other projects' rows either.
    v2 = {**JULY, "filters": f"project_id:{a}", "limit": 1}
    assert api.get("/v2/summary", scene[who], headers=headers, params={
        **v2, "groupby": "project_id"}).json()["total"] == 1
    assert api.get("/v2/dataframes", scene[who], headers=headers,
                   params=v2).json()["total"] == len(
        [p for p in api.points if p.project_id == b])
    # Only administrators list the rated projects by default.
    assert api.get("/v1/report/tenants", scene[who],
                   headers=headers).status_code == 403
    # v1 report arguments mean nothing to v2: refused, not ignored.
    for path in ("/v2/summary", "/v2/dataframes"):
        for extra in ({"all_tenants": "true"}, {"tenant_id": a}):
            response = api.get(path, scene[who], params={**JULY, **extra},
                               headers=headers)
            assert response.status_code == 400, (path, extra)


def test_a_project_without_data_reads_nothing(api: Api,
                                              scene: Scene) -> None:
    outsider = scene["outsider"]
    for path, query, read, _ in _reads(scene.a, scene.b):
        if path == "/v2/dataframes":
            # Nothing to list is a 404 there.
            assert api.get(path, outsider,
                           params=query).status_code == 404, query
            continue
        seen = read(api.get(path, outsider, params=query))
        assert seen[1] == 0 and not seen[0], (path, query)


def test_an_unscoped_token_reads_nothing(api: Api, scene: Scene) -> None:
    # Every read rule is project-scoped.
    for path, query, _, _ in _reads(scene.a, scene.b):
        assert api.get(path, scene["nobody"],
                       params=query).status_code == 403, (path, query)


# -- the official client, with real tokens ------------------------------------

def _cli(api: Api, person: Person, version: str, *args: str,
         auth: str) -> Any:
    """``cloudkitty`` as ``person`` (``auth``: the ``password`` or the
    ``token`` plugin), JSON output."""
    if auth == "password":
        credentials = ["--os-auth-type", "password",
                       "--os-username", person.name,
                       "--os-password", PASSWORD,
                       "--os-user-domain-id", "default"]
    else:
        credentials = ["--os-auth-type", "token", "--os-token",
                       person.token]
    assert person.project_id is not None
    result = subprocess.run(
        [CLIENT, *credentials, "--os-auth-url", keystone_fixture.URL,
         "--os-project-id", person.project_id,
         "--os-rating-endpoint-override", api.url,
         "--os-rating-api-version", version, *args, "-f", "json"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _cli_reads(a: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    begin, end = JULY["begin"], JULY["end"]
    return {
        "summary": ("2", ("summary", "get", "-b", begin, "-e", end,
                          "-g", "project_id", "--filter",
                          f"project_id:{a}")),
        "total": ("1", ("total", "get", "-b", begin, "-e", end,
                        "-t", a)),
        "dataframes-v1": ("1", ("dataframes", "get", "-b", begin,
                                "-e", end, "-p", a)),
        "dataframes-v2": ("2", ("dataframes", "get", "-b", begin,
                                "-e", end, "--filter",
                                f"project_id:{a}")),
    }


def _cli_seen(kind: str, output: Any) -> Seen:
    if kind == "summary":
        return (frozenset(r["Project id"] for r in output),
                sum((D(str(r["Rate"])) for r in output), D(0)))
    if kind == "total":
        return None, D(str(output["Total"]))
    if kind == "dataframes-v1":
        return (frozenset(r["Project ID"] for r in output),
                sum((D(res["rating"]) for r in output
                     for res in r["Resources"]), D(0)))
    groupbys = [r["Group By"] for r in output]
    return (frozenset(g.split('project_id="')[1].split('"')[0]
                      for g in groupbys),
            sum((D(str(r["Price"])) for r in output), D(0)))


def test_cli_reads_with_real_tokens(api: Api, scene: Scene) -> None:
    """Every user asks the client for project A's costs; the
    administrator gets them, B's member and reader get B's."""
    a, b = scene.a, scene.b
    reads = _cli_reads(a)
    # Each command as a project user, both authentication plugins (each
    # run costs seconds: a few well-chosen ones).
    runs = {(who, auth, kind): reads[kind] for who, auth, kind in (
        ("admin", "password", "summary"),
        ("member", "password", "total"),
        ("member", "token", "dataframes-v1"),
        ("reader", "token", "summary"),
        ("reader", "password", "dataframes-v2"))}
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {key: pool.submit(_cli, api, scene[key[0]], version,
                                    *args, auth=key[1])
                   for key, (version, args) in runs.items()}
        outputs = {key: future.result() for key, future in futures.items()}
    for (who, _, kind), output in outputs.items():
        project = a if who == "admin" else b
        expected = (frozenset({project}),
                    price_of(api.points, project_id=project))
        seen = _cli_seen(kind, output)
        assert seen == _with_projects(seen, expected), (who, kind)


# -- who changes rating configuration, scopes and reprocessing ----------------

@pytest.fixture(scope="module")
def rules(api: Api, scene: Scene) -> dict[str, str]:
    """Hashmap objects and a script an administrator made, for the
    refused updates and deletes to aim at."""
    admin = scene["admin"]

    def post(path: str, body: dict[str, Any], key: str) -> str:
        response = api.call("POST", path, admin, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()[key])

    service_id = post(f"{HASHMAP}/services",
                      {"name": f"svc-{uuid.uuid4().hex[:8]}"}, "service_id")
    return {
        "service": service_id,
        "mapping": post(f"{HASHMAP}/mappings",
                        {"service_id": service_id, "cost": "1",
                         "start": FUTURE}, "mapping_id"),
        "threshold": post(f"{HASHMAP}/thresholds",
                          {"service_id": service_id, "level": "10",
                           "cost": "1"}, "threshold_id"),
        "script": post(SCRIPTS, {"name": f"s-{uuid.uuid4().hex[:8]}",
                                 "data": SOURCE, "start": FUTURE},
                       "script_id"),
    }


def _changes(scene: Scene, rules: dict[str, str]
             ) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Requests only administrators may make, each valid as such."""
    b = scene.b
    frame = {"period": {"begin": "2019-07-02T00:00:00",
                        "end": "2019-07-02T01:00:00"},
             "usage": {"instance": [{
                 "vol": {"unit": "instance", "qty": 1},
                 "rating": {"price": 1000},
                 "groupby": {"project_id": b}, "metadata": {}}]}}
    return [
        ("PUT", "/v1/rating/modules/hashmap",
         {"module_id": "hashmap", "enabled": True, "priority": 7}),
        ("PUT", "/v1/billing/modules/hashmap/",
         {"module_id": "hashmap", "enabled": True}),
        ("GET", "/v1/rating/reload_modules", None),
        ("GET", "/v1/billing/reload_modules/", None),
        ("GET", f"{HASHMAP}/services", None),
        ("GET", f"{HASHMAP}/mappings/{rules['mapping']}", None),
        ("POST", "/v1/billing/module_config/hashmap/services/",
         {"name": "forbidden"}),
        ("POST", f"{HASHMAP}/services", {"name": "forbidden"}),
        ("DELETE", f"{HASHMAP}/services/{rules['service']}", None),
        ("POST", f"{HASHMAP}/fields",
         {"service_id": rules["service"], "name": "forbidden"}),
        ("POST", f"{HASHMAP}/groups", {"name": "forbidden"}),
        ("POST", f"{HASHMAP}/mappings",
         {"service_id": rules["service"], "cost": "9"}),
        ("PUT", f"{HASHMAP}/mappings/{rules['mapping']}", {"cost": "9"}),
        ("DELETE", f"{HASHMAP}/mappings/{rules['mapping']}", None),
        ("POST", f"{HASHMAP}/thresholds",
         {"service_id": rules["service"], "level": "1", "cost": "9"}),
        ("DELETE", f"{HASHMAP}/thresholds/{rules['threshold']}", None),
        ("POST", SCRIPTS, {"name": "forbidden", "data": SOURCE}),
        ("PUT", f"{SCRIPTS}/{rules['script']}",
         {"name": "forbidden", "data": SOURCE}),
        ("DELETE", f"{SCRIPTS}/{rules['script']}", None),
        ("PUT", "/v2/rating/modules/hashmap",
         {"enabled": True, "priority": 7}),
        ("PUT", "/v2/scope", {"scope_id": b,
                              "last_processed_timestamp": JULY["begin"]}),
        ("PUT", "/v2/scope", {"all_scopes": True,
                              "last_processed_timestamp": JULY["begin"]}),
        ("PATCH", "/v2/scope", {"scope_id": b, "active": False}),
        ("POST", "/v2/scope", {"scope_id": f"new-{b}",
                               "last_processed_timestamp": JULY["begin"],
                               "scope_key": "project_id",
                               "fetcher": "source",
                               "collector": "prometheus"}),
        ("POST", "/v2/task/reprocesses",
         {"scope_ids": b, "start_reprocess_time": "2019-07-01T00:00:00",
          "end_reprocess_time": "2019-07-01T01:00:00",
          "reason": "mine"}),
        ("POST", "/v2/dataframes", {"dataframes": [frame]}),
        ("POST", "/v1/collector/mappings",
         {"collector": "gnocchi", "service": "instance"}),
        ("PUT", "/v1/collector/states/gnocchi",
         {"name": "gnocchi", "enabled": True}),
    ]


@pytest.mark.parametrize("who", ["member", "reader", "outsider"])
def test_only_administrators_change_configuration(
        api: Api, scene: Scene, rules: dict[str, str], who: str) -> None:
    before = api.snapshot()
    for method, path, body in _changes(scene, rules):
        response = api.call(method, path, scene[who], json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert api.snapshot() == before


def test_administrators_make_those_changes(api: Api, scene: Scene) -> None:
    """The refused requests above are valid: an administrator's work
    (each change is undone afterwards)."""
    admin, b = scene["admin"], scene.b
    new_scope = f"new-{uuid.uuid4().hex[:8]}"
    try:
        response = api.call("PUT", "/v1/rating/modules/hashmap", admin,
                            json={"module_id": "hashmap", "enabled": True},
                            allow_redirects=False)
        assert response.status_code == 302, response.text
        assert api.sql("SELECT state FROM modules_state WHERE "
                       "name = 'hashmap'") == [(True,)]
        response = api.call("PUT", "/v2/rating/modules/hashmap", admin,
                            json={"enabled": False})
        assert response.status_code == 204, response.text
        assert api.sql("SELECT state FROM modules_state WHERE "
                       "name = 'hashmap'") == [(False,)]
        assert api.get("/v1/rating/reload_modules",
                       admin).status_code == 204
        response = api.call("POST", "/v2/scope", admin, json={
            "scope_id": new_scope, "last_processed_timestamp": at(5)
            .isoformat(), "scope_key": "project_id", "fetcher": "source",
            "collector": "prometheus"})
        assert response.status_code == 200, response.text
        response = api.call("PATCH", "/v2/scope", admin,
                            json={"scope_id": new_scope, "active": False})
        assert response.status_code == 200, response.text
        response = api.call("PUT", "/v2/scope", admin, json={
            "scope_id": new_scope,
            "last_processed_timestamp": at(1).isoformat()})
        assert response.status_code == 202, response.text
        assert [bool(active) for active, in api.sql(
            "SELECT active FROM cloudkitty_storage_states "
            "WHERE identifier = :s", s=new_scope)] == [False]
        response = api.call("POST", "/v2/task/reprocesses", admin, json={
            "scope_ids": b, "start_reprocess_time": "2019-07-01T00:00:00",
            "end_reprocess_time": "2019-07-01T01:00:00", "reason": "mine"})
        assert response.status_code == 202, response.text
        assert api.sql("SELECT identifier, reason FROM "
                       "storage_scope_reprocessing_schedule") == [
            (b, "mine")]
    finally:
        api.execute("DELETE FROM storage_scope_reprocessing_schedule")
        api.execute("DELETE FROM cloudkitty_storage_states "
                    "WHERE identifier = :s", s=new_scope)
        api.execute("DELETE FROM modules_state WHERE name = 'hashmap'")


# -- audit columns ---------------------------------------------------------

def _audit(api: Api, table: str, column: str, object_id: str
           ) -> tuple[Any, ...]:
    rows = api.sql(f"SELECT created_by, updated_by, deleted_by FROM "
                   f"{table} WHERE {column} = :i", i=object_id)
    assert len(rows) == 1
    return rows[0]


def test_rules_record_the_token_user(api: Api, scene: Scene) -> None:
    creator, updater, deleter = (scene["admin"], scene["keystone_admin"],
                                 scene["admin2"])
    response = api.call("POST", f"{HASHMAP}/services", creator,
                        json={"name": f"audit-{uuid.uuid4().hex[:8]}"})
    service_id = response.json()["service_id"]
    response = api.call("POST", f"{HASHMAP}/mappings", creator, json={
        "service_id": service_id, "cost": "1", "start": FUTURE})
    assert response.status_code == 201, response.text
    mapping_id = response.json()["mapping_id"]
    assert response.json()["created_by"] == creator.user_id
    response = api.call("PUT", f"{HASHMAP}/mappings/{mapping_id}", updater,
                        json={"cost": "2"}, allow_redirects=False)
    assert response.status_code == 302, response.text
    response = api.call("DELETE", f"{HASHMAP}/mappings/{mapping_id}",
                        deleter)
    assert response.status_code == 204, response.text
    assert _audit(api, "hashmap_mappings", "mapping_id", mapping_id) == (
        creator.user_id, updater.user_id, deleter.user_id)

    response = api.call("POST", SCRIPTS, creator, json={
        "name": f"audit-{uuid.uuid4().hex[:8]}", "data": SOURCE,
        "start": FUTURE})
    assert response.status_code == 201, response.text
    script_id = response.json()["script_id"]
    response = api.call("PUT", f"{SCRIPTS}/{script_id}", updater,
                        json={"name": "renamed", "data": SOURCE})
    assert response.status_code == 201, response.text
    assert response.json()["updated_by"] == updater.user_id
    response = api.call("DELETE", f"{SCRIPTS}/{script_id}", deleter)
    assert response.status_code == 204, response.text
    assert _audit(api, "pyscripts_scripts", "script_id", script_id) == (
        creator.user_id, updater.user_id, deleter.user_id)


# -- a policy file --------------------------------------------------------

def test_policy_file_lets_members_configure_rating(api: Api,
                                                   scene: Scene) -> None:
    member, reader = scene["member"], scene["reader"]
    name = f"by-member-{uuid.uuid4().hex[:8]}"
    response = api.call("POST", f"{HASHMAP}/services", member,
                        policy_file=True, json={"name": name})
    assert response.status_code == 201, response.text
    service_id = response.json()["service_id"]
    assert api.sql("SELECT name FROM hashmap_services WHERE name = :n",
                   n=name) == [(name,)]
    response = api.call("POST", f"{HASHMAP}/mappings", member,
                        policy_file=True,
                        json={"service_id": service_id, "cost": "1"})
    assert response.status_code == 201, response.text
    assert _audit(api, "hashmap_mappings", "mapping_id",
                  response.json()["mapping_id"]) == (
        member.user_id, None, None)
    # The override names members only; and the default API still
    # refuses them.
    before = api.snapshot()
    assert api.call("POST", f"{HASHMAP}/services", reader,
                    policy_file=True,
                    json={"name": "by-reader"}).status_code == 403
    assert api.call("DELETE", f"{HASHMAP}/services/{service_id}",
                    member).status_code == 403
    assert api.snapshot() == before
    assert api.call("DELETE", f"{HASHMAP}/services/{service_id}", member,
                    policy_file=True).status_code == 204
    assert api.sql("SELECT name FROM hashmap_services WHERE name = :n",
                   n=name) == []


def test_policy_file_takes_the_summary_from_readers(api: Api,
                                                    scene: Scene) -> None:
    query = {**JULY, "response_format": "object", "groupby": "project_id"}
    b_only: Seen = (frozenset({scene.b}),
                    price_of(api.points, project_id=scene.b))
    assert api.get("/v2/summary", scene["reader"], params=query,
                   policy_file=True).status_code == 403
    assert _v2_summary(api.get("/v2/summary", scene["reader"],
                               params=query)) == b_only
    assert _v2_summary(api.get("/v2/summary", scene["member"],
                               params=query, policy_file=True)) == b_only
    assert _v2_summary(api.get("/v2/summary", scene["admin"], params=query,
                               policy_file=True)) == (
        frozenset({scene.a, scene.b}), price_of(api.points))


def test_policy_file_opens_the_project_list(api: Api, scene: Scene) -> None:
    for who in ("member", "reader"):
        response = api.get("/v1/report/tenants", scene[who],
                           policy_file=True)
        assert response.status_code == 200, response.text
        assert response.json() == [scene.b]
    assert api.get("/v1/report/tenants", scene["admin"],
                   policy_file=True).json() == sorted([scene.a, scene.b])


def test_policy_file_shows_readers_their_own_scope(api: Api,
                                                   scene: Scene) -> None:
    a, b = scene.a, scene.b
    for who in ("member", "reader"):
        response = api.get("/v2/scope", scene[who], policy_file=True,
                           params={"scope_id": b})
        assert response.status_code == 200, response.text
        assert [s["scope_id"] for s in response.json()["results"]] == [b]
        for path in (f"/v2/task/reprocesses/{b}", "/v2/task/reprocesses"):
            response = api.get(path, scene[who], policy_file=True,
                               params={"scope_ids": b})
            assert response.status_code == 200, (path, response.text)
        # Not another project's, nor every scope, nor several at once.
        for query in ({"scope_id": a}, {}, {"scope_id": f"{b},{a}"},
                      {"scope_id": [b, a]}):
            assert api.get("/v2/scope", scene[who], policy_file=True,
                           params=query).status_code == 403, query
        for path, query in ((f"/v2/task/reprocesses/{a}", {}),
                            ("/v2/task/reprocesses", {}),
                            ("/v2/task/reprocesses",
                             {"scope_ids": [b, a]})):
            assert api.get(path, scene[who], policy_file=True,
                           params=query).status_code == 403, (path, query)
        # The default policy keeps scopes to administrators.
        assert api.get("/v2/scope", scene[who],
                       params={"scope_id": b}).status_code == 403
