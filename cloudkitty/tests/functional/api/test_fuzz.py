"""Fuzzing the API: no request, however malformed, gets a 5xx.

Requests go to the deployed WSGI application (paste pipeline, noauth) in
this process, on SQLite and on PostgreSQL (whose driver refuses what
SQLite lets through), each holding scopes, rated frames and reprocessing
schedules.

* API v2, schema-driven: schemathesis generates requests from the OpenAPI
  description the API serves (``GET /v2/openapi.json``), valid ones and
  invalid ones (wrong types, out-of-range numbers, bad dates, unknown
  keys...). Every answer must be below 500 and conform to the description
  (status, content type, body schema), every 4xx must be
  ``{"message": "<non-empty>"}``, and invalid requests must be refused.
  Then every described query parameter gets each of
  :data:`HOSTILE_VALUES` (values no schema generator thinks of: 26-digit
  numbers, NUL, dates out of range...), and every described body
  non-JSON documents and unknown keys.
* API v1: the report and storage query parameters get each hostile value,
  and hypothesis combines them and builds hashmap mapping bodies; every
  answer must be below 500 and every error the v1 fault document.

The run is derandomized (the same examples every time) and bounded:
:data:`MAX_EXAMPLES` examples per operation, generation mode and
hypothesis test, each request within :data:`DEADLINE`; about a minute
in all.
"""
from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import hypothesis
import pytest
import schemathesis
import webtest
from hypothesis import strategies as st
from oslo_config import cfg

from cloudkitty import service
from cloudkitty.api import app
from cloudkitty.api.v2 import openapi
from cloudkitty.db import api as db_api
from cloudkitty.processor import reset
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.tests import dbutil
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.unit.api.conftest import METRICS_YML, PASTE_FILE

#: Examples per v2 operation (and per generation mode) and per v1 test.
MAX_EXAMPLES = 30
#: Longest a single request may take before hypothesis calls it a failure.
DEADLINE = datetime.timedelta(seconds=2)

_SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=DEADLINE, derandomize=True,
    database=None, print_blob=True,
    suppress_health_check=list(hypothesis.HealthCheck))

SCOPES = ("proj-a", "proj-b")
#: SQLite, and PostgreSQL whose driver refuses what SQLite lets through
#: (NUL characters, out-of-range integers).
DB_KINDS = ("sqlite", "postgresql")


def _conf(tmp_path: Path, url: str) -> cfg.ConfigOpts:
    f.migrate(url)
    (tmp_path / "metrics.yml").write_text(METRICS_YML)
    sections: dict[str, dict[str, Any]] = {
        "DEFAULT": {"auth_strategy": "noauth",
                    "api_paste_config": PASTE_FILE,
                    "transport_url": "fake://"},
        "database": {"connection": url},
        "storage": {"backend": "sqlalchemy"},
        "fetcher": {"backend": "source"},
        "collect": {"collector": "prometheus", "scope_key": "project_id",
                    "period": 3600,
                    "metrics_conf": tmp_path / "metrics.yml"},
        "orchestrator": {"coordination_url":
                         f"file://{tmp_path / 'locks'}"},
    }
    path = tmp_path / "cloudkitty.conf"
    path.write_text("".join(
        f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items())
        for section, opts in sections.items()))
    return service.prepare_service(["--config-file", str(path)],
                                   conf=cfg.ConfigOpts(), checks=(),
                                   setup_logging=False)


def _fill(conf: cfg.ConfigOpts) -> None:
    """Two scopes rated for a day of July 2019, a schedule of each kind."""
    storage = get_storage(conf)
    states = StateManager(conf)
    for scope_id in SCOPES:
        storage.push([f.frame(f.at(h), {
            "cpu": [f.point("1", "0.5", project_id=scope_id, id="vm-1",
                            metadata={"flavor_name": "m1.tiny"})],
            "volume.size": [f.point("20", "2", project_id=scope_id,
                                    unit="GiB", id="vol-1")],
        }) for h in range(24)], scope_id)
        states.create_state(scope_id, f.at(24))
    states.create_state("idle", f.at(0), active=False)
    schedules = ReprocessingSchedules(conf)
    schedules.create(["proj-a"], f.at(1), f.at(3), "new prices")
    done = schedules.create(["proj-b"], f.at(2), f.at(2), "done")[0]
    schedules.set_current_time(done.id, f.at(3))


@pytest.fixture(scope="module", params=DB_KINDS)
def fuzz_app(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The deployed WSGI application (noauth) on a filled database of
    each kind."""
    tmp_path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with dbutil.fresh_database(request.param, str(tmp_path)) as url:
        conf = _conf(tmp_path, url)
        _fill(conf)
        yield app.build_wsgi_app(conf)
        reset.stop_shared_coordinators()
        db_api.dispose_engines()


#: Query values a client might send, and values no client should.
HOSTILE_VALUES = (
    "", " ", "2019-07-01", "2019-07-01T00:00:00", "2019-07-01T00:00:00Z",
    "2019-07-01T00:00:00+14:00", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "20190701T000000Z", "99999-01-01",
    "2019-13-45", "true", "false", "yes", "0", "1", "-1",
    "99999999999999999999999999", "1e400", "nan", "inf", "ALL",
    "tenant_id", "res_type", "tenant_id,res_type", "res_type,bogus",
    "proj-a", "cpu", "volume.size", "\x00", "é", "💸", "a" * 300,
    "null", "[]", "{}", "%", "%%", "'; drop table x; --", "time-x",
    "time-d,type", "begin", "a:b", "a:", ":b", "type:cpu,type:cpu",
    "SUM(qty) AS qty", "SUM(qty) AS begin", "DROP TABLE x", "ASC",
    "object", "table",
)
_HOSTILE = st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=20))


@pytest.fixture(scope="module")
def client(fuzz_app: Any) -> webtest.TestApp:
    return webtest.TestApp(fuzz_app)


# -- API v2 -------------------------------------------------------------------

_CONFIG = schemathesis.Config.from_dict({
    "generation": {"deterministic": True, "database": "none",
                   "max-examples": MAX_EXAMPLES},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "negative_data_rejection": {"enabled": True},
        "positive_data_acceptance": {"enabled": False},
    },
})


@schemathesis.check
def error_is_a_message(ctx: schemathesis.CheckContext,
                       response: schemathesis.Response,
                       case: schemathesis.Case) -> bool | None:
    """A 4xx body is ``{"message": "<non-empty text>"}``."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} body is not JSON: "
            f"{response.content[:200]!r}") from None
    if not (isinstance(body, dict) and list(body) == ["message"]
            and isinstance(body["message"], str) and body["message"]):
        raise AssertionError(f"{response.status_code} body is not "
                             f"{{'message': ...}}: {body!r}")
    return True


#: The description the package ships, which the API serves (see
#: tests/unit/api/test_v2_openapi.py).
_DOCUMENT = openapi.document()
_schema = schemathesis.openapi.from_dict(openapi.document(), config=_CONFIG)


@_schema.parametrize()
@_SETTINGS
def test_v2_operation(case: schemathesis.Case, fuzz_app: Any) -> None:
    # The checks that send requests of their own use the operation's app.
    case.operation.app = case.operation.schema.app = fuzz_app
    case.call_and_validate()


#: Path parameters of the described operations, as the fixture data has
#: them.
_PATH_VALUES = {"scope_id": "proj-a", "module_id": "noop"}


def _parameters(item: dict[str, Any], verb: str) -> list[dict[str, Any]]:
    """The parameters of an operation, ``$ref`` resolved."""
    found = []
    for param in item[verb].get("parameters", []) + item.get(
            "parameters", []):
        if "$ref" in param:
            param = _DOCUMENT["components"]["parameters"][
                param["$ref"].rsplit("/", 1)[1]]
        found.append(param)
    return found


def _operations(want: str) -> list[tuple[str, str]]:
    """``(method, path)`` of the described operations taking a JSON body
    (``want="body"``) or query parameters (``want="query"``)."""
    found = []
    for template, item in _DOCUMENT["paths"].items():
        for verb, operation in item.items():
            if verb == "parameters":
                continue
            queried = any(p["in"] == "query"
                          for p in _parameters(item, verb))
            if want == "body" and "requestBody" in operation or \
                    want == "query" and queried:
                found.append((verb.upper(),
                              template.format(**_PATH_VALUES)))
    return sorted(found)


def assert_v2_error(response: webtest.TestResponse, status: int = 400
                    ) -> str:
    """A 4xx ``{"message": ...}``; returns the message."""
    assert response.status_int == status, (response.status, response.text)
    assert list(response.json) == ["message"], response.json
    message: str = response.json["message"]
    assert message
    return message


@pytest.mark.parametrize(("method", "path"), _operations("body"))
@pytest.mark.parametrize("raw", [
    b"{", b"[]", b"5", b'"x"', b"null", b"\xff\xfe", b'{"a": 1}{',
    b"<xml/>", b'{"dataframes": NaN}'])
def test_v2_bodies_that_are_not_json_objects(
        client: webtest.TestApp, method: str, path: str, raw: bytes) -> None:
    assert_v2_error(client.request(path, method=method, body=raw,
                                   headers={"Content-Type":
                                            "application/json"},
                                   expect_errors=True))


@pytest.mark.parametrize(("method", "path"), _operations("body"))
def test_v2_unknown_body_keys(client: webtest.TestApp, method: str,
                              path: str) -> None:
    message = assert_v2_error(client.request(
        path, method=method, body=b'{"bogus_key": 1}',
        headers={"Content-Type": "application/json"}, expect_errors=True))
    assert "bogus_key" in message


@pytest.mark.parametrize(("method", "path"), _operations("query"))
def test_v2_unknown_query_parameters(client: webtest.TestApp, method: str,
                                     path: str) -> None:
    message = assert_v2_error(client.request(
        f"{path}?bogus_param=1", method=method, expect_errors=True))
    assert "bogus_param" in message


def _query_names(method: str, path: str) -> list[str]:
    template = next(t for t in _DOCUMENT["paths"]
                    if t.format(**_PATH_VALUES) == path)
    return sorted(p["name"] for p in _parameters(
        _DOCUMENT["paths"][template], method.lower()) if p["in"] == "query")


def _unserved(client: webtest.TestApp, method: str, path: str,
              names: Iterable[str],
              check: Callable[[webtest.TestResponse], None]) -> list[str]:
    """Each of ``names`` with each of :data:`HOSTILE_VALUES`, alone: the
    requests that ``check`` finds fault with."""
    faults = []
    for name in names:
        for value in HOSTILE_VALUES:
            url = f"{path}?{urlencode({name: value})}"
            response = client.request(url, method=method,
                                      expect_errors=True)
            try:
                check(response)
            except AssertionError as exc:
                faults.append(f"{method} {url}: {response.status} "
                              f"{response.text[:200]} ({exc})")
    return faults


def _v2_answer(response: webtest.TestResponse) -> None:
    assert response.status_int < 500
    if response.status_int >= 400:
        assert_v2_error(response, response.status_int)


@pytest.mark.parametrize(("method", "path"), _operations("query"))
def test_v2_each_query_parameter_with_each_hostile_value(
        client: webtest.TestApp, method: str, path: str) -> None:
    assert _unserved(client, method, path, _query_names(method, path),
                     _v2_answer) == []


@pytest.mark.parametrize(("method", "path"), _operations("query"))
@_SETTINGS
@hypothesis.given(data=st.data())
def test_v2_hostile_query_values(client: webtest.TestApp, method: str,
                                 path: str, data: st.DataObject) -> None:
    """The described query parameters with values no schema generator
    thinks of (huge numbers, NUL, odd dates...): never a 5xx."""
    names = _query_names(method, path)
    query = data.draw(st.lists(st.tuples(st.sampled_from(names), _HOSTILE),
                               min_size=1, max_size=4), label="query")
    response = client.request(f"{path}?{urlencode(query)}", method=method,
                              expect_errors=True)
    _v2_answer(response)


# -- API v1 -------------------------------------------------------------------

_V1_PARAMS = {
    "/v1/report/total": ("begin", "end", "tenant_id", "service",
                         "all_tenants"),
    "/v1/report/summary": ("begin", "end", "tenant_id", "service",
                           "groupby", "all_tenants"),
    "/v1/report/tenants": ("begin", "end"),
    "/v1/storage/dataframes": ("begin", "end", "tenant_id",
                               "resource_type"),
}


def _query(names: tuple[str, ...]) -> st.SearchStrategy[list[tuple[str,
                                                                    str]]]:
    known = st.tuples(st.sampled_from(names), _HOSTILE)
    unknown = st.tuples(st.sampled_from(["bogus", "limit", "tenant"]),
                        _HOSTILE)
    return st.lists(st.one_of(known, known, unknown), max_size=5)


def assert_v1_answer(response: webtest.TestResponse) -> None:
    """Below 500; an error is the v1 fault document naming something."""
    assert response.status_int < 500, (response.request.url,
                                       response.status, response.text)
    if response.status_int >= 400:
        body = response.json
        assert set(body) == {"faultcode", "faultstring", "debuginfo"}, body
        assert body["faultcode"] == "Client", body
        assert isinstance(body["faultstring"], str) and body["faultstring"]


@pytest.mark.parametrize("path", sorted(_V1_PARAMS))
def test_v1_each_report_parameter_with_each_hostile_value(
        client: webtest.TestApp, path: str) -> None:
    assert _unserved(client, "GET", path, _V1_PARAMS[path],
                     assert_v1_answer) == []


@pytest.mark.parametrize("path", sorted(_V1_PARAMS))
@_SETTINGS
@hypothesis.given(data=st.data())
def test_v1_report_queries(client: webtest.TestApp, path: str,
                           data: st.DataObject) -> None:
    query = data.draw(_query(_V1_PARAMS[path]), label="query")
    assert_v1_answer(client.get(f"{path}?{urlencode(query)}",
                                expect_errors=True))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _HOSTILE,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)

_MAPPING_FIELDS = {
    "cost": st.one_of(st.sampled_from(["1.5", "0", "-2", "1e30", "1e400",
                                       "NaN", "x", 1.5, 10**40]), _JSON),
    "type": st.one_of(st.sampled_from(["flat", "rate", "other"]), _JSON),
    "value": _JSON,
    "service_id": _JSON,
    "field_id": _JSON,
    "group_id": _JSON,
    "tenant_id": _JSON,
    "name": _JSON,
    "start": _HOSTILE,
    "end": _HOSTILE,
    "description": _JSON,
    "mapping_id": _JSON,
    "bogus": _JSON,
}


@pytest.fixture(scope="module")
def hashmap_service(client: webtest.TestApp) -> str:
    client.put_json("/v1/rating/modules/hashmap",
                    {"module_id": "hashmap", "enabled": True})
    created = client.post_json("/v1/rating/module_config/hashmap/services",
                               {"name": "fuzzed"})
    service_id: str = created.json["service_id"]
    return service_id


@_SETTINGS
@hypothesis.given(data=st.data(),
                  force=st.sampled_from(["", "?force=1", "?force=x"]))
def test_v1_hashmap_mapping_bodies(client: webtest.TestApp,
                                   hashmap_service: str,
                                   data: st.DataObject, force: str) -> None:
    others = {k: v for k, v in _MAPPING_FIELDS.items() if k != "service_id"}
    body = data.draw(st.one_of(
        st.fixed_dictionaries({"service_id": st.just(hashmap_service)},
                              optional=others),
        st.fixed_dictionaries({}, optional=_MAPPING_FIELDS),
        _JSON), label="body")
    assert_v1_answer(client.post(
        "/v1/rating/module_config/hashmap/mappings" + force,
        json.dumps(body), content_type="application/json",
        expect_errors=True))


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"5", b'"x"', b"null",
                                 b"\xff\xfe", b'{"cost": "1"'])
def test_v1_hashmap_mapping_raw_bodies(client: webtest.TestApp,
                                       raw: bytes) -> None:
    assert_v1_answer(client.post(
        "/v1/rating/module_config/hashmap/mappings", raw,
        content_type="application/json", expect_errors=True))
