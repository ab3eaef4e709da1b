"""Every command of the official client (COMPAT.md §12) through both of
its front-ends, ``cloudkitty <words>`` and ``openstack rating <words>``,
against a running ``cloudkitty-api`` set up once per deployment.

Two deployments (:data:`DEPLOYMENTS`): ``auth_strategy = noauth`` on
SQLite, where the client uses its ``cloudkitty-noauth`` plugin, and
``auth_strategy = keystone`` on PostgreSQL against the real Keystone,
where the client logs in with the password of a user holding ``admin`` on
a project of its own and finds the API in Keystone's catalog (an endpoint
in a region of the module's own). Every row runs in the noauth
deployment; in the keystone one only the ``openstack rating`` front-ends
run, both versions (all rows in both deployments would take about seven
minutes with ``-n 2`` on two cores, this about five): the ``cloudkitty``
front-end sends the same requests, already checked with both versions on
SQLite, and authenticates through the same keystoneauth session code.
The client takes the catalog URL as it is (no version discovery
request), so both deployments expect the same request lines.

Each row of ``ROWS`` names a command, the rating API versions it runs
with, the HTTP requests it must send (read back from the API's access log)
and a case: what the command is given and how its output is checked
against values computed here from what the module created. Commands whose
HTTP differs between versions (module commands) run with both versions
through both front-ends; ``summary get`` and ``dataframes get`` have one
row per version; v2-only and v1-only commands run with their version
through both front-ends; the others, whose HTTP is the same in both
versions, run through ``cloudkitty`` with v1 and ``openstack rating`` with
its default, v2. ``cloudkitty`` takes v1 from ``--os-rating-api-version``
and v2 from ``OS_RATING_API_VERSION``; ``openstack`` takes v1 from
``OS_RATING_API_VERSION`` and v2 by default.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib import parse

import pytest
import requests
import yaml
from oslo_config import cfg

from cloudkitty.db import api as db_api
from cloudkitty.rating import modules
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.tests import dbutil
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.functional import keystone_fixture
from cloudkitty.tests.functional.api.conftest import (
    METRICS_YML,
    conf_for,
    running_api,
)
from cloudkitty.tests.storage_factory import HOUR, at
from cloudkitty.tests.unit.api.test_v1_report import rate_text

BIN = Path(sys.executable).parent
HASHMAP = "/v1/rating/module_config/hashmap"
PYSCRIPTS = "/v1/rating/module_config/pyscripts"
JULY_V1 = ["-b", "2019-07-01T00:00:00", "-e", "2019-08-01T00:00:00"]
JULY_V2 = ["-b", "2019-07-01T00:00:00Z", "-e", "2019-08-01T00:00:00Z"]
#: Where rows that write rated data or states put theirs: a month no
#: report row reads.
ELSEWHERE = at(-24 * 30)
SECTIONS: dict[str, dict[str, Any]] = {
    "collect": {"scope_key": "project_id", "collector": "prometheus",
                "period": 3600},
    "fetcher": {"backend": "source"},
}
ACCESS = re.compile(r'"([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3})')


def cost28(value: str) -> str:
    """A v1 mapping or threshold cost as the API writes it."""
    return f"{Decimal(value):.28f}"


def level8(value: str) -> str:
    return f"{Decimal(value):.8f}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- front-ends --------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Front:
    """A front-end of the client and the rating API version it uses."""

    program: str
    version: str

    def __str__(self) -> str:
        return f"{self.program}-v{self.version}"

    def argv(self, credentials: Sequence[str], words: Sequence[str],
             args: Sequence[str]) -> list[str]:
        """The command line; ``credentials`` are the global options that
        authenticate and find the API."""
        if self.program == "cloudkitty":
            version = (["--os-rating-api-version", "1"]
                       if self.version == "1" else [])
            return [str(BIN / "cloudkitty"), *credentials, *version,
                    *words, *args]
        return [str(BIN / "openstack"), *credentials, "rating", *words,
                *args]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OS_")}
        if (self.program, self.version) in (("cloudkitty", "2"),
                                            ("openstack", "1")):
            env["OS_RATING_API_VERSION"] = self.version
        return env


CK1, CK2 = Front("cloudkitty", "1"), Front("cloudkitty", "2")
OSC1, OSC2 = Front("openstack", "1"), Front("openstack", "2")
#: Which front-ends a row runs with.
BOTH = (CK1, CK2, OSC1, OSC2)   # the HTTP differs by version
ANY = (CK1, OSC2)               # the same HTTP in both versions
V1 = (CK1, OSC1)
V2 = (CK2, OSC2)


@dataclasses.dataclass
class Run:
    """What one command did: its exit status, output and the requests the
    API logged while it ran (consecutive repeats collapsed, as when the
    client follows a 302 back to the same URL)."""

    returncode: int
    stdout: str
    stderr: str
    requests: list[str]
    statuses: list[int]

    @property
    def json(self) -> Any:
        assert self.returncode == 0, self.stdout + self.stderr
        return json.loads(self.stdout)

    def succeeded_silently(self) -> None:
        assert self.returncode == 0, self.stdout + self.stderr
        assert self.stdout.strip() == ""


def _collapse(logged: list[tuple[str, ...]]) -> list[str]:
    lines: list[str] = []
    for method, target, _ in logged:
        line = request_line(method, target)
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def request_line(method: str, target: str) -> str:
    """``GET /path?key1&key2``: a request as §12 writes it, query keys
    sorted and values left out."""
    url = parse.urlsplit(target)
    keys = sorted({k for k, _ in parse.parse_qsl(url.query,
                                                 keep_blank_values=True)})
    return f"{method} {url.path}" + ("?" + "&".join(keys) if keys else "")


# -- the deployment ----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Deployment:
    """How the API authenticates, what it stores in, and which client
    front-ends the matrix runs against it."""

    name: str
    db: str
    keystone: bool
    programs: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


NOAUTH = Deployment("noauth-sqlite", "sqlite", False,
                    ("cloudkitty", "openstack"))
KEYSTONE = Deployment("keystone-postgresql", "postgresql", True,
                      ("openstack",))
DEPLOYMENTS = (NOAUTH, KEYSTONE)
PASSWORD = "ck-matrix-secret"


def noauth_credentials(url: str) -> list[str]:
    return ["--os-auth-type", "cloudkitty-noauth", "--os-endpoint", url]


class World:
    """The running API, a configuration of the same deployment for the
    test's own reads and writes, and what the module set up.

    ``credentials`` are the client's global options for this deployment;
    ``token`` (keystone only) goes with every request of the test's own.
    """

    def __init__(self, url: str, conf: cfg.ConfigOpts, tmp: Path, *,
                 credentials: list[str], token: str | None = None) -> None:
        self.url = url
        self.conf = conf
        self.tmp = tmp
        self.log = tmp / "api.log"
        self.credentials = credentials
        self.http = requests.Session()
        if token is not None:
            self.http.headers["X-Auth-Token"] = token
        self.ids: dict[str, str] = {}
        self._consumed = 0  # access lines told apart so far
        # Requests of the test's own since then: at first, the GET / by
        # which running_api saw the API serving. (Not counting it let the
        # first command start one line early whenever the last line of
        # the set-up came late, as token validation makes likelier.)
        self._pending = 1

    def call(self, method: str, path: str, body: Any = None,
             status: int | None = None) -> Any:
        """One request of the test's own (never a redirect followed)."""
        response = self.http.request(method, self.url + path, json=body,
                                     allow_redirects=False, timeout=30)
        self._pending += 1
        if status is None:
            assert response.status_code < 400, response.text
        else:
            assert response.status_code == status, response.text
        return response.json() if response.content else None

    def run(self, front: Front, words: Sequence[str], args: Sequence[str],
            expected_requests: int) -> Run:
        return self.run_argv(front.argv(self.credentials, words, args),
                             front.env(), expected_requests)

    def run_argv(self, argv: list[str], env: dict[str, str],
                 expected_requests: int) -> Run:
        # The server writes an access line once it has sent the response,
        # so the lines of the test's own requests may still be on their
        # way: wait for them before telling the command's lines apart.
        start = len(self._access(self._consumed + self._pending,
                                 lambda _: True))
        self._pending = 0
        result = subprocess.run(argv, env=env, capture_output=True,
                                text=True, timeout=120)

        def complete(lines: list[tuple[str, ...]]) -> bool:
            return len(_collapse(lines[start:])) >= expected_requests
        logged = self._access(0, complete)
        self._consumed = len(logged)
        return Run(result.returncode, result.stdout, result.stderr,
                   _collapse(logged[start:]),
                   [int(status) for _, _, status in logged[start:]])

    def _access(self, at_least: int,
                complete: Callable[[list[tuple[str, ...]]], bool],
                timeout: float = 5.0) -> list[tuple[str, ...]]:
        """The access lines logged so far, once there are ``at_least``
        and ``complete`` accepts them (or after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = ACCESS.findall(self.log.read_text(errors="replace"))
            if (len(lines) >= at_least and complete(lines)) or \
                    time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    # -- shortcuts for preparing and checking --------------------------

    def service(self) -> str:
        return str(self.call("POST", f"{HASHMAP}/services",
                             {"name": unique("svc")})["service_id"])

    def group(self) -> str:
        return str(self.call("POST", f"{HASHMAP}/groups",
                             {"name": unique("grp")})["group_id"])

    def collector_mapping(self) -> str:
        name = unique("svc")
        self.call("POST", "/v1/collector/mappings",
                  {"service": name, "collector": "other"})
        return name

    def field(self, service_id: str) -> str:
        return str(self.call("POST", f"{HASHMAP}/fields", {
            "service_id": service_id, "name": unique("fld")})["field_id"])

    @property
    def states(self) -> StateManager:
        return StateManager(self.conf)



@dataclasses.dataclass(frozen=True)
class Rated:
    """A rated point the module stores, each in its own one-hour
    frame."""

    hour: int
    metric_type: str
    project_id: str
    resource_id: str
    qty: str
    price: str

    @property
    def start(self) -> datetime.datetime:
        return at(self.hour)

    def point(self) -> Any:
        metadata = ({"flavor_name": "m1.small"}
                    if self.metric_type == "instance"
                    else {"volume_type": "ssd"})
        return f.collected(f.point(self.qty, self.price,
                                   project_id=self.project_id,
                                   metadata=metadata,
                                   resource_id=self.resource_id),
                           self.start)


RATED = [
    Rated(0, "instance", "proj-a", "i-1", "1", "0.5"),
    Rated(1, "instance", "proj-a", "i-1", "2", "1.25"),
    Rated(1, "volume.size", "proj-a", "v-1", "10", "0.0001"),
    Rated(2, "instance", "proj-b", "i-2", "1", "3"),
    Rated(3, "volume.size", "proj-b", "v-2", "20", "2.123456"),
    # August: outside every window the rows ask for.
    Rated(24 * 31, "instance", "proj-a", "i-1", "1", "100"),
]
JULY = [p for p in RATED if p.start < at(24 * 31)]
#: Scope states, all at hour 10 of July.
SCOPES = ("proj-a", "proj-b")
SCRIPT_DATA = "# set up by the client matrix\nresult = 1\n"


def _set_up(w: World) -> None:
    ids = w.ids
    ids["service"] = w.call("POST", f"{HASHMAP}/services",
                            {"name": "instance"})["service_id"]
    ids["field"] = w.call("POST", f"{HASHMAP}/fields", {
        "service_id": ids["service"], "name": "flavor_name"})["field_id"]
    ids["group"] = w.call("POST", f"{HASHMAP}/groups",
                          {"name": "matrix"})["group_id"]
    ids["service_mapping"] = w.call("POST", f"{HASHMAP}/mappings", {
        "service_id": ids["service"], "type": "flat", "cost": "1.5",
        "group_id": ids["group"]})["mapping_id"]
    ids["field_mapping"] = w.call("POST", f"{HASHMAP}/mappings", {
        "field_id": ids["field"], "value": "m1.small", "type": "rate",
        "cost": "2", "tenant_id": "proj-a"})["mapping_id"]
    ids["service_threshold"] = w.call("POST", f"{HASHMAP}/thresholds", {
        "service_id": ids["service"], "level": "10", "cost": "0.5",
        "type": "flat", "group_id": ids["group"]})["threshold_id"]
    ids["field_threshold"] = w.call("POST", f"{HASHMAP}/thresholds", {
        "field_id": ids["field"], "level": "5", "cost": "1",
        "type": "rate"})["threshold_id"]
    ids["script"] = w.call("POST", f"{PYSCRIPTS}/scripts?force=true", {
        "name": "matrix", "data": SCRIPT_DATA,
        "start": "2019-01-01T00:00:00",
        "description": "set up once"})["script_id"]
    for service_name, collector in (("instance", "gnocchi"),
                                    ("volume.size", "prometheus")):
        w.call("POST", "/v1/collector/mappings",
               {"service": service_name, "collector": collector})
    w.call("PUT", "/v1/collector/states",
           {"name": "gnocchi", "enabled": True})
    get_storage(w.conf).push(
        [f.frame(p.start, {p.metric_type: [p.point()]}) for p in RATED])
    for scope_id in SCOPES:
        w.states.create_state(scope_id, at(10))
    w.call("POST", "/v2/task/reprocesses", {
        "scope_ids": ["proj-a"], "reason": "set up once",
        "start_reprocess_time": at(0).isoformat(),
        "end_reprocess_time": at(2).isoformat()})


def _keystone_login(ident: keystone_fixture.Identity, url: str,
                    tag: str) -> tuple[list[str], str]:
    """A user with ``admin`` on a project of its own, and the API in the
    catalog (public endpoint of a ``rating`` service in a region of its
    own, so that concurrent modules never find each other's API): the
    client's password options and a token of that user."""
    project = ident.create("projects", name=f"ck-matrix-{tag}",
                           domain_id="default")
    user = ident.create("users", name=f"ck-matrix-admin-{tag}",
                        password=PASSWORD, domain_id="default")
    ident.grant(ident.role("admin"), user, project)
    region = ident.create("regions", id=f"ck-matrix-{tag}")
    rating = ident.create("services", type="rating",
                          name=f"ck-matrix-{tag}")
    ident.create("endpoints", service_id=rating["id"], interface="public",
                 region_id=region["id"], url=url)
    credentials = [
        "--os-auth-type", "password",
        "--os-auth-url", keystone_fixture.URL,
        "--os-username", user["name"], "--os-password", PASSWORD,
        "--os-project-name", project["name"],
        "--os-user-domain-id", "default",
        "--os-project-domain-id", "default",
        "--os-region-name", region["id"]]
    token = keystone_fixture.user_session(user["name"], PASSWORD,
                                          project["id"]).get_token()
    return credentials, str(token)


def _start(deployment: Deployment, tmp: Path,
           stack: contextlib.ExitStack) -> World:
    """Start the API of ``deployment`` and set the module's data up; what
    it needs stays open until ``stack`` closes."""
    locks = {"coordination_url": f"file://{tmp / 'locks'}"}
    # Both sections stay as running_api writes them for noauth.
    default: dict[str, object] = {}
    authtoken: dict[str, object] = {}
    if deployment.keystone:
        default = {"auth_strategy": "keystone"}
        authtoken = dict(keystone_fixture.authtoken_options())
    db_url = stack.enter_context(
        dbutil.fresh_database(deployment.db, str(tmp)))
    ident = (stack.enter_context(keystone_fixture.identity())
             if deployment.keystone else None)
    url = stack.enter_context(running_api(
        tmp, db_url, orchestrator=locks, collect=SECTIONS["collect"],
        fetcher=SECTIONS["fetcher"], DEFAULT=default,
        keystone_authtoken=authtoken))
    stack.callback(db_api.dispose_engines)
    if ident is None:
        w = World(url, conf_for(db_url, tmp, SECTIONS), tmp,
                  credentials=noauth_credentials(url))
    else:
        credentials, token = _keystone_login(ident, url,
                                             uuid.uuid4().hex[:10])
        w = World(url, conf_for(db_url, tmp, SECTIONS), tmp,
                  credentials=credentials, token=token)
    _set_up(w)
    return w


class Worlds:
    """The deployments started so far in this module (each once, on
    first use) and, for one that failed to start, why."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory,
                 stack: contextlib.ExitStack) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.stack = stack
        self.started: dict[Deployment, World | BaseException] = {}

    def get(self, deployment: Deployment) -> World:
        if deployment not in self.started:
            tmp = self.tmp_path_factory.mktemp(f"client-matrix-{deployment}")
            try:
                self.started[deployment] = _start(deployment, tmp,
                                                  self.stack)
            except Exception as exc:
                self.started[deployment] = exc
                raise
        found = self.started[deployment]
        if isinstance(found, BaseException):
            pytest.fail(f"the {deployment} deployment did not start: "
                        f"{found!r}")
        return found


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worlds]:
    with contextlib.ExitStack() as stack:
        yield Worlds(tmp_path_factory, stack)


@pytest.fixture
def world(request: pytest.FixtureRequest, worlds: Worlds) -> World:
    """The deployment the test is parametrized with (``request.param``),
    started once for the module.

    (Not a parametrized module-scoped fixture: pytest would then regroup
    the tests by every module-scoped parameter, front-ends included, and
    set the deployments up again and again; here each deployment's tests
    come one after the other, as :func:`_params` lists them.)"""
    return worlds.get(request.param)


# -- cases -------------------------------------------------------------

Check = Callable[[Run], None]
Case = tuple[list[str], Check]


def prints(expected: Any) -> Check:
    def check(run: Run) -> None:
        assert run.json == expected
    return check


def prints_sorted(expected: list[dict[str, Any]], key: str) -> Check:
    def check(run: Run) -> None:
        assert sorted(run.json, key=lambda r: str(r[key])) == sorted(
            expected, key=lambda r: str(r[key]))
    return check


def lists(*rows: dict[str, Any]) -> Check:
    """The listing shows these rows (among those other rows created)."""
    def check(run: Run) -> None:
        listed = run.json
        for row in rows:
            assert row in listed
    return check


def gone(w: World, path: str) -> None:
    w.call("GET", path, status=404)


def deletes(make: Callable[[World], str],
            url: str) -> Callable[[World], Case]:
    """The case of a command deleting what ``make`` created (its id the
    command's argument): it prints nothing and ``url`` + id is gone."""
    def case(w: World) -> Case:
        object_id = make(w)

        def check(run: Run) -> None:
            run.succeeded_silently()
            gone(w, url + object_id)
        return [object_id], check
    return case


# total, reports, dataframes

def total_get(w: World) -> Case:
    expected = sum(Decimal(p.price) for p in JULY
                   if p.project_id == "proj-a"
                   and p.metric_type == "instance")
    return (["-t", "proj-a", "-s", "instance", *JULY_V1],
            prints({"Total": float(expected)}))


def summary_get_v1(w: World) -> Case:
    sums: dict[tuple[str, str], Decimal] = {}
    for p in JULY:
        key = (p.project_id, p.metric_type)
        sums[key] = sums.get(key, Decimal(0)) + Decimal(p.price)
    expected = [{"Tenant ID": project, "Resource Type": metric_type,
                 "Rate": rate_text(price),
                 "Begin Time": "2019-07-01T00:00:00",
                 "End Time": "2019-08-01T00:00:00"}
                for (project, metric_type), price in sums.items()]

    def check(run: Run) -> None:
        def key(row: dict[str, Any]) -> tuple[str, str]:
            return row["Tenant ID"], row["Resource Type"]
        assert sorted(run.json, key=key) == sorted(expected, key=key)
    return ["-a", "-g", "tenant_id", "res_type", *JULY_V1], check


def summary_get_v2(w: World) -> Case:
    sums: dict[str, list[Decimal]] = {}
    for p in JULY:
        if p.project_id == "proj-a":
            qty, rate = sums.setdefault(p.metric_type,
                                        [Decimal(0), Decimal(0)])
            sums[p.metric_type] = [qty + Decimal(p.qty),
                                   rate + Decimal(p.price)]
    expected: list[dict[str, Any]] = sorted(
        [{"Begin": "2019-07-01T00:00:00+00:00",
          "End": "2019-08-01T00:00:00+00:00",
          "Qty": pytest.approx(float(qty)),
          "Rate": pytest.approx(float(rate)),
          "Project id": "proj-a", "Type": metric_type}
         for metric_type, (qty, rate) in sums.items()],
        key=lambda r: r["Type"])

    def check(run: Run) -> None:
        assert sorted(run.json, key=lambda r: r["Type"]) == expected
    return (["-g", "project_id", "-g", "type",
             "--filter", "project_id:proj-a", *JULY_V2], check)


def _desc(p: Rated) -> dict[str, Any]:
    point = p.point()
    return {**point.metadata, **point.groupby}


def dataframes_get_v1(w: World) -> Case:
    mine = [p for p in JULY if p.project_id == "proj-a"]

    def check(run: Run) -> None:
        rows = sorted(run.json, key=lambda r: (
            r["Begin"], r["Resources"][0]["service"]))
        assert [(r["Begin"], r["End"], r["Project ID"]) for r in rows] == [
            (p.start.strftime("%Y-%m-%dT%H:%M:%S"),
             (p.start + HOUR).strftime("%Y-%m-%dT%H:%M:%S"), "proj-a")
            for p in mine]
        for row, p in zip(rows, mine, strict=True):
            (resource,) = row["Resources"]
            assert resource["service"] == p.metric_type
            assert resource["desc"] == _desc(p)
            assert Decimal(resource["volume"]) == Decimal(p.qty)
            assert Decimal(resource["rating"]) == Decimal(p.price)
            rate = float(p.price) / float(p.qty)
            assert resource["rate_value"] == f"{rate:.4f}"
    return ["-p", "proj-a", *JULY_V1], check


def _words(mapping: Mapping[str, Any]) -> list[str]:
    return sorted(f'{k}="{v}"' for k, v in mapping.items())


def dataframes_get_v2(w: World) -> Case:
    mine = [p for p in JULY if p.project_id == "proj-b"]
    expected = [{
        "Begin": p.start.isoformat(), "End": (p.start + HOUR).isoformat(),
        "Metric Type": p.metric_type, "Unit": "instance",
        "Quantity": pytest.approx(float(p.qty)),
        "Price": pytest.approx(float(p.price)),
        "Group By": _words(p.point().groupby),
        "Metadata": _words(p.point().metadata)} for p in mine]

    def check(run: Run) -> None:
        rows = sorted(run.json, key=lambda r: r["Begin"])
        for row in rows:
            row["Group By"] = sorted(row["Group By"].split(" "))
            row["Metadata"] = sorted(row["Metadata"].split(" "))
        assert rows == expected
    return ["--filter", "project_id:proj-b", *JULY_V2], check


def dataframes_add(w: World) -> Case:
    project = unique("added")
    begin = ELSEWHERE
    frame = {"period": {"begin": begin.isoformat(),
                        "end": (begin + HOUR).isoformat()},
             "usage": {"instance": [{
                 "vol": {"unit": "instance", "qty": 3},
                 "rating": {"price": 1.5},
                 "groupby": {"project_id": project, "resource_id": "i-9"},
                 "metadata": {"flavor_name": "m1.tiny"}}]}}
    path = w.tmp / f"{project}.json"
    path.write_text(json.dumps({"dataframes": [frame]}))

    def check(run: Run) -> None:
        run.succeeded_silently()
        stored = get_storage(w.conf).retrieve(
            begin=begin, end=begin + HOUR,
            filters={"project_id": project}, paginate=False)
        ((frame_,),) = [stored["dataframes"]]
        ((metric_type, (point,)),) = frame_.usage.items()
        assert (frame_.start, metric_type) == (begin, "instance")
        assert (point.qty, point.price) == (Decimal(3), Decimal("1.5"))
        assert point.groupby["resource_id"] == "i-9"
        assert point.metadata == {"flavor_name": "m1.tiny"}
    return [str(path)], check


def report_tenant_list(w: World) -> Case:
    def check(run: Run) -> None:
        # Every scope with a state, whatever the dates (v2 storage).
        known = sorted({s.scope_id for s in w.states.list_states()})
        assert sorted(r["Tenant ID"] for r in run.json) == known
        assert set(SCOPES) <= set(known)
    return JULY_V1, check


# modules

def _module(w: World, module_id: str, **state: Any) -> None:
    w.call("PUT", f"/v2/rating/modules/{module_id}", state, status=204)


def _module_row(module_id: str, enabled: bool,
                priority: int) -> dict[str, Any]:
    return {"Module": module_id, "Enabled": enabled, "Priority": priority}


def _module_is(w: World, module_id: str, enabled: bool,
               priority: int) -> None:
    module = w.call("GET", f"/v2/rating/modules/{module_id}")
    assert (module["enabled"], module["priority"]) == (enabled, priority)


def module_list(w: World) -> Case:
    _module(w, "hashmap", enabled=True, priority=3)
    _module(w, "pyscripts", enabled=False, priority=5)
    known = {"noop": (True, 1), "hashmap": (True, 3),
             "pyscripts": (False, 5)}
    expected = [_module_row(m, *known.get(m, (False, 1)))
                for m in sorted(modules.installed_processors())]
    return [], prints_sorted(expected, "Module")


def module_get(w: World) -> Case:
    _module(w, "pyscripts", enabled=False, priority=4)
    return ["pyscripts"], prints([_module_row("pyscripts", False, 4)])


def module_enable(w: World) -> Case:
    _module(w, "hashmap", enabled=False, priority=2)

    def check(run: Run) -> None:
        assert run.json == [_module_row("hashmap", True, 2)]
        _module_is(w, "hashmap", True, 2)
    return ["hashmap"], check


def module_disable(w: World) -> Case:
    _module(w, "hashmap", enabled=True, priority=2)

    def check(run: Run) -> None:
        assert run.json == [_module_row("hashmap", False, 2)]
        _module_is(w, "hashmap", False, 2)
    return ["hashmap"], check


def module_set_priority(w: World) -> Case:
    _module(w, "pyscripts", enabled=True, priority=1)
    priority = 2 + uuid.uuid4().int % 90

    def check(run: Run) -> None:
        assert run.json == [_module_row("pyscripts", True, priority)]
        _module_is(w, "pyscripts", True, priority)
    return ["pyscripts", str(priority)], check


# info

METRICS = yaml.safe_load(METRICS_YML)["metrics"]


def _metric_row(key: str) -> dict[str, Any]:
    metric = METRICS[key]
    return {"Metric": metric.get("alt_name", key), "Unit": metric["unit"],
            "Metadata": sorted(metric.get("metadata", []))}


def _sorted_metadata(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r, Metadata=sorted(r["Metadata"])) for r in rows]


def info_config_get(w: World) -> Case:
    return [], prints([{"Section": "metrics", "Value": METRICS}])


def info_metric_list(w: World) -> Case:
    def check(run: Run) -> None:
        assert sorted(_sorted_metadata(run.json),
                      key=lambda r: r["Metric"]) == sorted(
            (_metric_row(k) for k in METRICS), key=lambda r: r["Metric"])
    return [], check


def info_metric_get(w: World) -> Case:
    def check(run: Run) -> None:
        assert _sorted_metadata(run.json) == [
            _metric_row("openstack_volume_size_gb")]
    return ["volume.size"], check


# hashmap

def _mapping_row(mapping_id: str, cost: str, type_: str, *,
                 value: str | None = None, field_id: str | None = None,
                 service_id: str | None = None, group_id: str | None = None,
                 tenant_id: str | None = None) -> dict[str, Any]:
    return {"Mapping ID": mapping_id, "Value": value, "Cost": cost28(cost),
            "Type": type_, "Field ID": field_id, "Service ID": service_id,
            "Group ID": group_id, "Project ID": tenant_id}


def _threshold_row(threshold_id: str, level: str, cost: str, type_: str,
                   *, field_id: str | None = None,
                   service_id: str | None = None,
                   group_id: str | None = None,
                   tenant_id: str | None = None) -> dict[str, Any]:
    return {"Threshold ID": threshold_id, "Level": level8(level),
            "Cost": cost28(cost), "Type": type_, "Field ID": field_id,
            "Service ID": service_id, "Group ID": group_id,
            "Project ID": tenant_id}


def service_mapping_row(w: World) -> dict[str, Any]:
    return _mapping_row(w.ids["service_mapping"], "1.5", "flat",
                        service_id=w.ids["service"],
                        group_id=w.ids["group"])


def service_threshold_row(w: World) -> dict[str, Any]:
    return _threshold_row(w.ids["service_threshold"], "10", "0.5", "flat",
                          service_id=w.ids["service"],
                          group_id=w.ids["group"])


def mapping_types_list(w: World) -> Case:
    return [], prints_sorted([{"Mapping types": "flat"},
                              {"Mapping types": "rate"}], "Mapping types")


def service_list(w: World) -> Case:
    return [], lists({"Name": "instance", "Service ID": w.ids["service"]})


def service_get(w: World) -> Case:
    return [w.ids["service"]], prints(
        [{"Name": "instance", "Service ID": w.ids["service"]}])


def service_create(w: World) -> Case:
    name = unique("svc")

    def check(run: Run) -> None:
        ((row),) = run.json
        assert row["Name"] == name
        assert w.call("GET", f"{HASHMAP}/services/{row['Service ID']}") == {
            "service_id": row["Service ID"], "name": name}
    return [name], check


def field_list(w: World) -> Case:
    return [w.ids["service"]], prints(
        [{"Name": "flavor_name", "Field ID": w.ids["field"],
          "Service ID": w.ids["service"]}])


def field_get(w: World) -> Case:
    return [w.ids["field"]], prints(
        [{"Name": "flavor_name", "Field ID": w.ids["field"],
          "Service ID": w.ids["service"]}])


def field_create(w: World) -> Case:
    service_id = w.service()
    name = unique("fld")

    def check(run: Run) -> None:
        ((row),) = run.json
        assert (row["Name"], row["Service ID"]) == (name, service_id)
        assert w.call("GET", f"{HASHMAP}/fields/{row['Field ID']}") == {
            "field_id": row["Field ID"], "name": name,
            "service_id": service_id}
    return [service_id, name], check


def mapping_list(w: World) -> Case:
    return (["--field-id", w.ids["field"], "-p", "proj-a",
             "--filter-tenant"],
            prints([_mapping_row(w.ids["field_mapping"], "2", "rate",
                                 value="m1.small", field_id=w.ids["field"],
                                 tenant_id="proj-a")]))


def mapping_get(w: World) -> Case:
    return [w.ids["service_mapping"]], prints([service_mapping_row(w)])


def mapping_create(w: World) -> Case:
    field_id = w.field(w.service())
    name = unique("map")

    def check(run: Run) -> None:
        ((row),) = run.json
        mapping_id = row["Mapping ID"]
        # The client reads the description under a key the API never
        # sends ("Description"), so it prints None there, as upstream.
        assert row == dict(
            _mapping_row(mapping_id, "3.5", "rate", value="m1.tiny",
                         field_id=field_id, tenant_id="proj-c"),
            **{"Mapping Name": name,
               "Mapping Start Date": "2099-01-01T00:00:00",
               "Mapping End Date": "2099-12-31T23:59:59",
               "Mapping Description": None})
        stored = w.call("GET", f"{HASHMAP}/mappings/{mapping_id}")
        assert (stored["cost"], stored["description"]) == (
            cost28("3.5"), "made by the matrix")
    return (["--field-id", field_id, "--value", "m1.tiny", "-t", "rate",
             "-p", "proj-c", "--name", name, "--start", "2099-01-01",
             "--end", "2099-12-31", "--description", "made by the matrix",
             "3.5"], check)


def _future_mapping(w: World, service_id: str) -> str:
    return str(w.call("POST", f"{HASHMAP}/mappings", {
        "service_id": service_id, "cost": "1", "type": "flat",
        "start": "2099-01-01T00:00:00"})["mapping_id"])


def mapping_update(w: World) -> Case:
    service_id = w.service()
    mapping_id = _future_mapping(w, service_id)

    def check(run: Run) -> None:
        assert run.json == [_mapping_row(mapping_id, "4.5", "flat",
                                         service_id=service_id)]
        assert w.call("GET", f"{HASHMAP}/mappings/{mapping_id}")[
            "cost"] == cost28("4.5")
    return [mapping_id, "--cost", "4.5"], check


def mapping_delete(w: World) -> Case:
    service_id = w.service()
    mapping_id = _future_mapping(w, service_id)

    def check(run: Run) -> None:
        run.succeeded_silently()
        assert w.call("GET", f"{HASHMAP}/mappings?service_id={service_id}"
                      ) == {"mappings": []}
        # A soft delete: still readable by id, marked deleted.
        assert w.call("GET", f"{HASHMAP}/mappings/{mapping_id}")[
            "deleted"] is not None
    return [mapping_id], check


def group_list(w: World) -> Case:
    return [], lists({"Name": "matrix", "Group ID": w.ids["group"]})


def group_create(w: World) -> Case:
    name = unique("grp")

    def check(run: Run) -> None:
        ((row),) = run.json
        assert row["Name"] == name
        assert w.call("GET", f"{HASHMAP}/groups/{row['Group ID']}") == {
            "group_id": row["Group ID"], "name": name}
    return [name], check


def group_mappings_get(w: World) -> Case:
    return [w.ids["group"]], prints([service_mapping_row(w)])


def group_thresholds_get(w: World) -> Case:
    return [w.ids["group"]], prints([service_threshold_row(w)])


def threshold_list(w: World) -> Case:
    return (["--field-id", w.ids["field"]],
            prints([_threshold_row(w.ids["field_threshold"], "5", "1",
                                   "rate", field_id=w.ids["field"])]))


def threshold_get(w: World) -> Case:
    return [w.ids["service_threshold"]], prints([service_threshold_row(w)])


def threshold_create(w: World) -> Case:
    service_id = w.service()

    def check(run: Run) -> None:
        ((row),) = run.json
        assert row == _threshold_row(row["Threshold ID"], "20", "0.75",
                                     "rate", service_id=service_id,
                                     tenant_id="proj-c")
        assert w.call("GET", f"{HASHMAP}/thresholds/{row['Threshold ID']}"
                      )["level"] == level8("20")
    return ["-s", service_id, "-t", "rate", "-p", "proj-c", "20", "0.75"], \
        check


def _threshold(w: World) -> tuple[str, str]:
    """A service and a threshold of it."""
    service_id = w.service()
    return service_id, str(w.call("POST", f"{HASHMAP}/thresholds", {
        "service_id": service_id, "level": "1", "cost": "1",
        "type": "flat"})["threshold_id"])


def threshold_update(w: World) -> Case:
    service_id, threshold_id = _threshold(w)

    def check(run: Run) -> None:
        assert run.json == [_threshold_row(threshold_id, "30", "2.5",
                                           "flat", service_id=service_id)]
        stored = w.call("GET", f"{HASHMAP}/thresholds/{threshold_id}")
        assert (stored["level"], stored["cost"]) == (level8("30"),
                                                     cost28("2.5"))
    return [threshold_id, "-l", "30", "--cost", "2.5"], check


# collector (deprecated v1 API)

def collector_mapping_list(w: World) -> Case:
    return ["--collector", "gnocchi"], prints(
        [{"Service": "instance", "Collector": "gnocchi"}])


def collector_mapping_get(w: World) -> Case:
    return ["volume.size"], prints(
        [{"Service": "volume.size", "Collector": "prometheus"}])


def collector_mapping_create(w: World) -> Case:
    name = unique("svc")

    def check(run: Run) -> None:
        assert run.json == [{"Service": name, "Collector": "other"}]
        assert w.call("GET", f"/v1/collector/mappings/{name}") == {
            "service": name, "collector": "other"}
    return [name, "other"], check


def collector_state_get(w: World) -> Case:
    return ["gnocchi"], prints([{"Collector": "gnocchi", "State": True}])


def _collector_is(w: World, name: str, enabled: bool) -> None:
    assert w.call("GET", f"/v1/collector/states?name={name}") == {
        "name": name, "enabled": enabled}


def collector_enable(w: World) -> Case:
    name = unique("col")

    def check(run: Run) -> None:
        assert run.json == [{"Collector": name, "State": True}]
        _collector_is(w, name, True)
    return [name], check


def collector_disable(w: World) -> Case:
    name = unique("col")
    w.call("PUT", "/v1/collector/states", {"name": name, "enabled": True})

    def check(run: Run) -> None:
        assert run.json == [{"Collector": name, "State": False}]
        _collector_is(w, name, False)
    return [name], check


# scopes and reprocessing (v2 only)

def scope_state_get(w: World) -> Case:
    expected = [{"Scope ID": scope_id, "Scope Key": "project_id",
                 "Collector": "prometheus", "Fetcher": "source",
                 "State": at(10).isoformat()} for scope_id in SCOPES]
    args = [arg for scope_id in SCOPES for arg in ("--scope-id", scope_id)]
    return args, prints(expected)


def _scope_with_data(w: World) -> str:
    scope_id = unique("scope")
    w.states.create_state(scope_id, ELSEWHERE + 5 * HOUR)
    get_storage(w.conf).push(
        [f.frame(ELSEWHERE + h * HOUR, {"instance": [f.point(
            "1", "2", project_id=scope_id)]}) for h in range(6)], scope_id)
    return scope_id


def scope_state_reset(w: World) -> Case:
    scope_id = _scope_with_data(w)
    reset_to = ELSEWHERE + 2 * HOUR

    def check(run: Run) -> None:
        run.succeeded_silently()
        # Rating resumes at the date: the last processed period is the
        # one before it, and what was rated from it on is purged.
        assert w.states.get_last_processed_timestamp(scope_id) == \
            reset_to - HOUR
        stored = get_storage(w.conf).retrieve(
            filters={"project_id": scope_id}, paginate=False)
        assert sorted(d.start for d in stored["dataframes"]) == [
            ELSEWHERE, ELSEWHERE + HOUR]
    return ["--scope-id", scope_id, reset_to.isoformat()], check


def scope_patch(w: World) -> Case:
    scope_id = unique("scope")
    w.states.create_state(scope_id, at(10))

    def check(run: Run) -> None:
        # The client returns the scope the server sent back (200) from a
        # plain cliff Command, which cliff takes for the exit status: it
        # prints the scope and exits 1. The change is what counts.
        assert "'collector': 'gnocchi'" in run.stderr
        (state,) = w.states.list_states(scope_id=scope_id)
        assert (state.collector, state.active) == ("gnocchi", False)
    return ["-id", scope_id, "--collector", "gnocchi", "--active",
            "false"], check


def reprocessing_get(w: World) -> Case:
    return ["--scope-id", "proj-a"], prints([{
        "Scope ID": "proj-a", "Reason": "set up once",
        "Start reprocessing time": "2019-07-01T00:00:00",
        "End reprocessing time": "2019-07-01T02:00:00",
        "Current reprocessing time": ""}])


def reprocessing_create(w: World) -> Case:
    scope_id = unique("scope")
    w.states.create_state(scope_id, at(10))

    def check(run: Run) -> None:
        assert run.json == []
        (schedule,) = ReprocessingSchedules(w.conf).list_schedules(
            scope_ids=scope_id)
        assert (schedule.start_reprocess_time, schedule.end_reprocess_time,
                schedule.reason) == (at(1), at(3), "new prices")
    return ["--scope-id", scope_id,
            "--start-reprocess-time", "2019-07-01T01:00:00Z",
            "--end-reprocess-time", "2019-07-01T03:00:00Z",
            "--reason", "new prices"], check


# pyscripts

def _script_row(script_id: str, name: str, data: str, *, start: str,
                end: str | None = None, description: str | None = None,
                shows_data: bool = True) -> dict[str, Any]:
    return {"Name": name, "Script ID": script_id,
            "Checksum": hashlib.sha512(data.encode()).hexdigest(),
            "Data": data if shows_data else None,
            "Script Start Date": start,
            "Script End Date": end, "Script Description": description}


def script_row(w: World, *, with_data: bool = True) -> dict[str, Any]:
    return _script_row(w.ids["script"], "matrix", SCRIPT_DATA,
                       start="2019-01-01T00:00:00",
                       description="set up once", shows_data=with_data)


def pyscript_list(w: World) -> Case:
    return ["-n"], lists(script_row(w, with_data=False))


def pyscript_get(w: World) -> Case:
    return [w.ids["script"]], prints([script_row(w)])


def pyscript_create(w: World) -> Case:
    name = unique("script")
    data = "result = 2\n"

    def check(run: Run) -> None:
        ((row),) = run.json
        assert row == _script_row(row["Script ID"], name, data,
                                  start="2099-01-01T00:00:00",
                                  end="2099-02-01T00:00:00",
                                  description="made by the matrix")
        assert w.call("GET", f"{PYSCRIPTS}/scripts/{row['Script ID']}")[
            "data"] == data
    return [name, data, "--start", "2099-01-01T00:00:00", "--end",
            "2099-02-01T00:00:00", "--description", "made by the matrix"], \
        check


def _future_script(w: World) -> tuple[str, str]:
    name = unique("script")
    return name, str(w.call("POST", f"{PYSCRIPTS}/scripts", {
        "name": name, "data": "result = 0\n",
        "start": "2099-01-01T00:00:00"})["script_id"])


def pyscript_update(w: World) -> Case:
    name, script_id = _future_script(w)
    data = "result = 3\n"

    def check(run: Run) -> None:
        assert run.json == [_script_row(script_id, name, data,
                                        start="2099-01-01T00:00:00")]
        assert w.call("GET", f"{PYSCRIPTS}/scripts/{script_id}")[
            "data"] == data
    return [script_id, "-d", data], check


# -- the table ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Row:
    """A §12 command: its words, the front-ends it runs with, the
    requests it sends (per API version when they differ), its case, and
    whether it prints a listing (then run with ``-f json``)."""

    words: str
    fronts: tuple[Front, ...]
    http: Sequence[str] | Mapping[str, Sequence[str]]
    case: Callable[[World], Case]
    listing: bool = True
    xfail: str | None = None

    def requests(self, version: str) -> list[str]:
        if isinstance(self.http, Mapping):
            return list(self.http[version])
        return list(self.http)


HM = HASHMAP
PS = PYSCRIPTS
ROWS = [
    Row("total get", V1, ["GET /v1/report/total?begin&end&service&"
                          "tenant_id"], total_get),
    Row("summary get", V1, ["GET /v1/report/summary?all_tenants&begin&end&"
                            "groupby"], summary_get_v1),
    Row("summary get", V2, ["GET /v2/summary?begin&end&filters&groupby&"
                            "limit"], summary_get_v2),
    Row("report tenant list", ANY, ["GET /v1/report/tenants?begin&end"],
        report_tenant_list),
    Row("module list", BOTH, {"1": ["GET /v1/rating/modules/"],
                              "2": ["GET /v2/rating/modules"]},
        module_list),
    Row("module get", BOTH, {
        "1": ["GET /v1/rating/modules/pyscripts?module_id"],
        "2": ["GET /v2/rating/modules/pyscripts"]}, module_get),
    Row("module enable", BOTH, {
        "1": ["GET /v1/rating/modules/hashmap?module_id",
              "PUT /v1/rating/modules/hashmap",
              "GET /v1/rating/modules/hashmap?module_id"],
        "2": ["PUT /v2/rating/modules/hashmap",
              "GET /v2/rating/modules/hashmap"]}, module_enable),
    Row("module disable", BOTH, {
        "1": ["GET /v1/rating/modules/hashmap?module_id",
              "PUT /v1/rating/modules/hashmap",
              "GET /v1/rating/modules/hashmap?module_id"],
        "2": ["PUT /v2/rating/modules/hashmap",
              "GET /v2/rating/modules/hashmap"]}, module_disable),
    Row("module set priority", BOTH, {
        "1": ["GET /v1/rating/modules/pyscripts?module_id",
              "PUT /v1/rating/modules/pyscripts",
              "GET /v1/rating/modules/pyscripts?module_id"],
        "2": ["PUT /v2/rating/modules/pyscripts",
              "GET /v2/rating/modules/pyscripts"]}, module_set_priority),
    Row("info config get", ANY, ["GET /v1/info/config/"], info_config_get),
    Row("info metric list", ANY, ["GET /v1/info/metrics/"],
        info_metric_list),
    Row("info metric get", ANY, ["GET /v1/info/metrics/volume.size"],
        info_metric_get),
    Row("hashmap mapping-types list", ANY, [f"GET {HM}/types/"],
        mapping_types_list),
    Row("hashmap service list", ANY, [f"GET {HM}/services/"],
        service_list),
    Row("hashmap service get", ANY, [f"GET {HM}/services/<service>"],
        service_get),
    Row("hashmap service create", ANY, [f"POST {HM}/services/"],
        service_create),
    Row("hashmap service delete", ANY, [f"DELETE {HM}/services/"],
        deletes(World.service, f"{HM}/services/"), listing=False),
    Row("hashmap field list", ANY, [f"GET {HM}/fields/?service_id"],
        field_list),
    Row("hashmap field get", ANY, [f"GET {HM}/fields/<field>"], field_get),
    Row("hashmap field create", ANY, [f"POST {HM}/fields/"], field_create),
    Row("hashmap field delete", ANY, [f"DELETE {HM}/fields/"],
        deletes(lambda w: w.field(w.service()), f"{HM}/fields/"),
        listing=False),
    Row("hashmap mapping list", ANY, [f"GET {HM}/mappings/?field_id&"
                                      "filter_tenant&tenant_id"],
        mapping_list),
    Row("hashmap mapping get", ANY, [f"GET {HM}/mappings/<mapping>"],
        mapping_get),
    Row("hashmap mapping create", ANY, [f"POST {HM}/mappings/"],
        mapping_create),
    Row("hashmap mapping update", ANY, [
        f"GET {HM}/mappings/<arg>", f"PUT {HM}/mappings/",
        f"GET {HM}/mappings/<arg>"], mapping_update),
    Row("hashmap mapping delete", ANY, [f"DELETE {HM}/mappings/"],
        mapping_delete, listing=False),
    Row("hashmap group list", ANY, [f"GET {HM}/groups/"], group_list),
    Row("hashmap group create", ANY, [f"POST {HM}/groups/"], group_create),
    Row("hashmap group delete", ANY, [f"DELETE {HM}/groups/"],
        deletes(World.group, f"{HM}/groups/"), listing=False),
    Row("hashmap group mappings get", ANY,
        [f"GET {HM}/groups/mappings?group_id"], group_mappings_get),
    Row("hashmap group thresholds get", ANY,
        [f"GET {HM}/groups/thresholds?group_id"], group_thresholds_get),
    Row("hashmap threshold list", ANY, [f"GET {HM}/thresholds/?field_id"],
        threshold_list),
    Row("hashmap threshold get", ANY, [f"GET {HM}/thresholds/<threshold>"],
        threshold_get),
    Row("hashmap threshold create", ANY, [f"POST {HM}/thresholds/"],
        threshold_create),
    Row("hashmap threshold update", ANY, [
        f"GET {HM}/thresholds/<arg>", f"PUT {HM}/thresholds/",
        f"GET {HM}/thresholds/<arg>"], threshold_update),
    Row("hashmap threshold delete", ANY, [f"DELETE {HM}/thresholds/"],
        deletes(lambda w: _threshold(w)[1], f"{HM}/thresholds/"),
        listing=False),
    Row("collector-mapping list", ANY,
        ["GET /v1/collector/mappings/?collector"], collector_mapping_list),
    Row("collector-mapping get", ANY,
        ["GET /v1/collector/mappings/volume.size"], collector_mapping_get),
    Row("collector-mapping create", ANY, ["POST /v1/collector/mappings/"],
        collector_mapping_create),
    Row("collector-mapping delete", ANY,
        ["DELETE /v1/collector/mappings/"],
        deletes(World.collector_mapping, "/v1/collector/mappings/"),
        listing=False),
    Row("collector state get", ANY, ["GET /v1/collector/states/?name"],
        collector_state_get),
    Row("collector enable", ANY, ["PUT /v1/collector/states/",
                                  "GET /v1/collector/states/?name"],
        collector_enable),
    Row("collector disable", ANY, ["PUT /v1/collector/states/",
                                   "GET /v1/collector/states/?name"],
        collector_disable),
    Row("dataframes get", V1, ["GET /v1/storage/dataframes?begin&end&"
                               "tenant_id"], dataframes_get_v1),
    Row("dataframes get", V2, ["GET /v2/dataframes?begin&end&filters&"
                               "limit"], dataframes_get_v2),
    Row("dataframes add", V2, ["POST /v2/dataframes"], dataframes_add,
        listing=False),
    Row("scope state get", V2, ["GET /v2/scope?limit&scope_id"],
        scope_state_get),
    Row("scope state reset", V2, ["PUT /v2/scope"], scope_state_reset,
        listing=False),
    Row("scope patch", V2, ["PATCH /v2/scope"], scope_patch,
        listing=False),
    Row("tasks reprocessing get", V2,
        ["GET /v2/task/reprocesses?limit&order&scope_ids"],
        reprocessing_get),
    Row("tasks reprocessing create", V2, ["POST /v2/task/reprocesses"],
        reprocessing_create),
    Row("pyscript list", ANY, [f"GET {PS}/scripts/?no_data"],
        pyscript_list),
    Row("pyscript get", ANY, [f"GET {PS}/scripts/<script>"], pyscript_get),
    Row("pyscript create", ANY, [f"POST {PS}/scripts/"], pyscript_create),
    Row("pyscript update", ANY, [f"GET {PS}/scripts/<arg>",
                                 f"PUT {PS}/scripts/<arg>"],
        pyscript_update),
    Row("pyscript delete", ANY, [f"DELETE {PS}/scripts/<arg>"],
        deletes(lambda w: _future_script(w)[1], f"{PS}/scripts/"),
        listing=False),
]

#: Placeholders of ``Row.http`` and the ids they stand for.
PLACEHOLDERS = {"<service>": "service", "<field>": "field",
                "<mapping>": "service_mapping",
                "<threshold>": "service_threshold", "<script>": "script"}


def _expected_requests(w: World, row: Row, version: str,
                       args: Sequence[str]) -> list[str]:
    # ``<arg>`` is the command's first positional argument.
    first = next((a for a in args if not a.startswith("-")), "")
    lines = []
    for line in row.requests(version):
        for placeholder, key in PLACEHOLDERS.items():
            line = line.replace(placeholder, w.ids[key])
        lines.append(line.replace("<arg>", first))
    return lines


def _params() -> list[Any]:
    """(deployment, row, front) for every front-end of every row that the
    deployment runs, one deployment after the other."""
    params = []
    for deployment in DEPLOYMENTS:
        for row in ROWS:
            for front in row.fronts:
                if front.program not in deployment.programs:
                    continue
                marks = ([pytest.mark.xfail(strict=True, reason=row.xfail)]
                         if row.xfail else [])
                if deployment.keystone:
                    marks.append(keystone_fixture.needs_keystone())
                params.append(pytest.param(
                    deployment, row, front, marks=marks,
                    id=f"{deployment}-{row.words.replace(' ', '_')}-{front}"))
    return params


@pytest.mark.parametrize(("world", "row", "front"), _params(),
                         indirect=["world"])
def test_command(world: World, row: Row, front: Front) -> None:
    args, check = row.case(world)
    expected = _expected_requests(world, row, front.version, args)
    run = world.run(front, row.words.split(),
                    [*args, *(["-f", "json"] if row.listing else [])],
                    len(expected))
    check(run)
    assert run.requests == expected
    assert all(status < 400 for status in run.statuses), run.statuses


@pytest.mark.parametrize("world", [NOAUTH], indirect=True, ids=str)
def test_openstack_takes_the_version_as_rating_api_version(
        world: World) -> None:
    """``openstack`` spells the option ``--rating-api-version`` (the
    plugin's own); ``cloudkitty``'s ``--os-rating-api-version`` is not an
    ``openstack`` option."""
    base = [str(BIN / "openstack"), *world.credentials]
    run = world.run_argv([*base, "--rating-api-version", "1", "rating",
                          "total", "get", *JULY_V1, "-f", "json"],
                         OSC2.env(), 1)
    assert run.json == {"Total": float(sum(Decimal(p.price)
                                           for p in JULY))}
    assert run.requests == ["GET /v1/report/total?begin&end"]
    run = world.run_argv([*base, "--os-rating-api-version", "1", "rating",
                          "module", "list"], OSC2.env(), 0)
    assert run.returncode != 0
    assert "is not an openstack command" in run.stdout
    assert run.requests == []
