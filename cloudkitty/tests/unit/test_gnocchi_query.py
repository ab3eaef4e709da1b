"""Gnocchi collector and fetcher without a Gnocchi server: option schema,
the request they build (seen by a local HTTP server that records it and
answers with canned JSON) and their behaviour when the server misbehaves.
"""
from __future__ import annotations

import datetime
import http.server
import json
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.collector import gnocchi
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.fetcher.gnocchi import GnocchiFetcher

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 3, 1, 10, tzinfo=UTC)
END = START + datetime.timedelta(hours=1)

Reply = tuple[int, str]


class Recorder:
    """A local HTTP server: records the requests sent to ``url`` and answers
    them with ``handler``.

    ``url`` ends with a path prefix of its own, which the recorded ``path``
    leaves out: a request without it (a client of another test, of this
    process or of another xdist worker, that reached this port) is answered
    404 and not recorded, so ``requests`` holds the test's requests only, in
    the order they were sent. An exception raised by ``handler`` is answered
    500 and kept in ``errors`` (the fixture fails the test with it) rather
    than closing the connection, which the client would retry and so record
    twice.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.handler: Callable[[dict[str, Any]], Reply] = \
            lambda req: (200, "[]")
        self.delay = 0.0
        prefix = f"/{uuid.uuid4().hex}"
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                url = urllib.parse.urlsplit(self.path)
                if not url.path.startswith(f"{prefix}/"):
                    self._answer(404, '{"description": "not this test"}')
                    return
                req = {"path": url.path[len(prefix):],
                       "query": urllib.parse.parse_qs(url.query),
                       "body": json.loads(body or "null"),
                       "auth": self.headers.get("Authorization")}
                recorder.requests.append(req)
                if recorder.delay:
                    time.sleep(recorder.delay)
                try:
                    status, text = recorder.handler(req)
                except Exception:
                    recorder.errors.append(traceback.format_exc())
                    status, text = 500, '{"description": "handler failed"}'
                self._answer(status, text)

            def _answer(self, status: int, text: str) -> None:
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout tests)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{prefix}"
        # A short poll keeps shutdown() (each test's teardown) quick.
        threading.Thread(target=self.server.serve_forever, args=(0.02,),
                         daemon=True).start()


@pytest.fixture
def server() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()
    assert not rec.errors, "the test's handler failed:\n" + "\n".join(
        rec.errors)


def _metrics(extra: dict[str, Any], **entry: Any) -> dict[str, Any]:
    return metrics_mod.validate_metrics(
        {"metrics": {"cpu": {"unit": "vcpu", "extra_args": extra, **entry}}},
        scope_key="project_id",
        extra_args_schema=gnocchi.GnocchiCollector.extra_args_schema)


@pytest.fixture
def make_collector(make_conf: Any, server: Recorder) -> Any:
    def _make(extra: dict[str, Any], url: str | None = None,
              timeout: float | None = None, **entry: Any,
              ) -> gnocchi.GnocchiCollector:
        group: dict[str, object] = {
            "gnocchi_auth_type": "basic", "gnocchi_user": "ck",
            "gnocchi_endpoint": url or server.url}
        if timeout is not None:
            group["timeout"] = timeout
        conf = make_conf({"collector_gnocchi": group,
                          "collect": {"period": 3600}})
        return gnocchi.GnocchiCollector(conf, _metrics(extra, **entry))
    return _make


def _group(value: float | None, **attrs: str) -> dict[str, Any]:
    aggregated = [] if value is None else [
        ["2026-03-01T10:00:00+00:00", 3600.0, value]]
    return {"group": attrs, "measures": {"measures": {
        "aggregated": aggregated}}}


# -- extra_args ---------------------------------------------------------

def test_schema_defaults() -> None:
    assert gnocchi.extra_args_schema({"resource_type": "instance"}) == {
        "resource_type": "instance", "resource_key": "id",
        "aggregation_method": "max", "re_aggregation_method": "max",
        "force_granularity": 3600, "use_all_resource_revisions": True,
        "custom_query": ""}


def test_schema_requires_resource_type() -> None:
    with pytest.raises(vol.Invalid):
        gnocchi.extra_args_schema({})


@pytest.mark.parametrize("method", [
    "mean", "sum", "last", "max", "min", "std", "median", "first", "count",
    "1pct", "95pct", "99pct", "rate:mean", "rate:95pct"])
def test_valid_aggregation_methods(method: str) -> None:
    args = gnocchi.extra_args_schema({
        "resource_type": "x", "aggregation_method": method,
        "re_aggregation_method": method})
    assert args["aggregation_method"] == method


@pytest.mark.parametrize("method", [
    "avg", "0pct", "100pct", "05pct", "rate:", "rate:rate:max", "MAX", 3])
def test_invalid_aggregation_methods(method: Any) -> None:
    with pytest.raises(vol.Invalid):
        gnocchi.extra_args_schema({"resource_type": "x",
                                   "aggregation_method": method})


def test_negative_granularity_is_invalid() -> None:
    with pytest.raises(vol.Invalid):
        gnocchi.extra_args_schema({"resource_type": "x",
                                   "force_granularity": -1})


def test_metrics_file_reports_bad_extra_args() -> None:
    with pytest.raises(exceptions.InvalidMetricsConfig) as err:
        _metrics({"resource_type": "x", "aggregation_method": "avg"})
    assert "cpu" in str(err.value)


# -- operations and answers ---------------------------------------------

def test_default_operations() -> None:
    extra = gnocchi.extra_args_schema({"resource_type": "x",
                                       "aggregation_method": "rate:mean",
                                       "re_aggregation_method": "sum"})
    assert gnocchi.build_operations("cpu", extra) == \
        "(aggregate sum (metric cpu rate:mean))"


def test_custom_query_placeholders() -> None:
    extra = gnocchi.extra_args_schema({
        "resource_type": "x", "aggregation_method": "mean",
        "re_aggregation_method": "sum",
        "custom_query": "(/ (aggregate RE_AGGREGATION_METHOD (metric "
                        "METRIC_NAME AGGREGATION_METHOD)) 2)"})
    assert gnocchi.build_operations("disk.size", extra) == \
        "(/ (aggregate sum (metric disk.size mean)) 2)"


def test_first_value_shapes() -> None:
    assert gnocchi.first_value(_group(3.5)["measures"]) == 3.5
    assert gnocchi.first_value(_group(None)["measures"]) is None
    nested = {"measures": {"m-id": {"mean": [["t", 60.0, 7], ["t", 60, 8]]}}}
    assert gnocchi.first_value(nested) == 7
    assert gnocchi.first_value({}) is None


# -- requests -----------------------------------------------------------

def test_request_shape_and_points(server: Recorder,
                                  make_collector: Any) -> None:
    server.handler = lambda req: (200, json.dumps([
        _group(2.0, project_id="p1", id="r1", flavor="m1"),
        _group(None, project_id="p1", id="r2", flavor="m1"),
    ]))
    collector = make_collector({"resource_type": "instance"},
                               groupby=["flavor"], factor=3, offset=1)
    points = collector.fetch_all("cpu", START, END, "p1")
    (req,) = server.requests
    assert req["path"] == "/v1/aggregates"
    assert req["query"]["groupby"] == ["flavor", "project_id", "id"]
    assert req["query"]["start"] == [START.isoformat()]
    assert req["query"]["stop"] == [END.isoformat()]
    assert req["query"]["granularity"] == ["3600"]
    assert req["query"]["use_history"] == ["true"]
    assert req["body"] == {
        "operations": "(aggregate max (metric cpu max))",
        "resource_type": "instance",
        "search": {"and": [{"=": {"type": "instance"}},
                           {"=": {"project_id": "p1"}}]}}
    # Gnocchi basic auth: the user and an empty password.
    assert req["auth"] == "basic Y2s6"
    (point,) = points  # the group without measures gives nothing
    assert point.qty == 7
    assert point.unit == "vcpu"
    assert dict(point.groupby) == {"flavor": "m1", "project_id": "p1",
                                   "id": "r1"}


def test_rate_moves_start_and_granularity_zero(server: Recorder,
                                               make_collector: Any) -> None:
    collector = make_collector({
        "resource_type": "instance", "re_aggregation_method": "rate:max",
        "force_granularity": 600})
    assert collector.fetch_all("cpu", START, END, "p1") == []
    step = server.requests[-1]["query"]
    assert step["start"] == [(START - datetime.timedelta(
        seconds=600)).isoformat()]
    collector = make_collector({"resource_type": "instance",
                                "force_granularity": 0})
    collector.fetch_all("cpu", START, END, "p1")
    assert "granularity" not in server.requests[-1]["query"]


def test_metadata_from_resource_search(server: Recorder,
                                       make_collector: Any) -> None:
    def handler(req: dict[str, Any]) -> Reply:
        if req["path"] == "/v1/aggregates":
            return 200, json.dumps([
                _group(1, project_id="p1", host="h1"),
                _group(2, project_id="p1", host="gone")])
        return 200, json.dumps([{"id": "x", "host": "h1", "name": "vm1"}])
    server.handler = handler
    collector = make_collector(
        {"resource_type": "instance", "resource_key": "host"},
        metadata=["name", "missing"])
    (point,) = collector.fetch_all("cpu", START, END, "p1")
    assert dict(point.metadata) == {"name": "vm1", "missing": ""}
    assert point.groupby["host"] == "h1"
    search = server.requests[1]
    assert search["path"] == "/v1/search/resource/instance"
    period = datetime.timedelta(hours=1)
    assert search["body"] == {"and": [
        {"=": {"project_id": "p1"}},
        {"or": [{"=": {"ended_at": None}},
                {">=": {"ended_at": (START - period).isoformat()}}]},
        {"<=": {"started_at": (END + period).isoformat()}}]}


def test_resource_search_is_paginated(server: Recorder,
                                      make_collector: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cloudkitty.collector._gnocchi_client."
                        "SEARCH_PAGE_SIZE", 2)
    pages = {None: ["a", "b"], "b": ["c", "d"], "d": ["e"]}

    def handler(req: dict[str, Any]) -> Reply:
        if req["path"] == "/v1/aggregates":
            return 200, json.dumps([_group(1, project_id="p1", id=i)
                                    for i in "ace"])
        marker = req["query"].get("marker", [None])[0]
        return 200, json.dumps([{"id": i, "name": i.upper()}
                                for i in pages[marker]])
    server.handler = handler
    collector = make_collector({"resource_type": "instance"},
                               metadata=["name"])
    points = collector.fetch_all("cpu", START, END, "p1")
    assert [p.metadata["name"] for p in points] == ["A", "C", "E"]


def test_collapse_revisions(server: Recorder, make_collector: Any) -> None:
    server.handler = lambda req: (200, json.dumps([
        _group(1, project_id="p1", id="r1", flavor="small",
               revision_start="2026-03-01T10:00:00+00:00"),
        _group(2, project_id="p1", id="r1", flavor="big",
               revision_start="2026-03-01T10:30:00+00:00"),
        _group(5, project_id="p1", id="r2", flavor="small",
               revision_start="2026-03-01T09:00:00+00:00")]))
    collector = make_collector({"resource_type": "instance",
                                "use_all_resource_revisions": False},
                               groupby=["flavor"])
    points = collector.fetch_all("cpu", START, END, "p1")
    assert server.requests[0]["query"]["groupby"] == [
        "flavor", "project_id", "id", "revision_start"]
    assert {p.groupby["id"]: (p.groupby["flavor"], p.qty)
            for p in points} == {"r1": ("big", 3), "r2": ("small", 5)}
    assert all("revision_start" not in p.groupby for p in points)


def test_metric_not_found_is_empty(server: Recorder,
                                   make_collector: Any) -> None:
    server.handler = lambda req: (404, json.dumps({
        "code": 404, "description": "Metric ['cpu'] does not exist"}))
    collector = make_collector({"resource_type": "instance"})
    assert collector.fetch_all("cpu", START, END, "p1") == []
    with pytest.raises(exceptions.NoDataCollected):
        collector.retrieve("cpu", START, END, "p1")


# -- failures -----------------------------------------------------------

@pytest.mark.parametrize(("status", "text", "reason"), [
    (500, "internal error", "HTTP 500"),
    (503, json.dumps({"description": "overloaded"}), "overloaded"),
    (404, json.dumps({"description": "Resource type x does not exist"}),
     "HTTP 404"),
    (200, "<html>not json", "not JSON"),
    (200, json.dumps("a string"), "unexpected"),
])
def test_bad_answers_are_collect_errors(server: Recorder, make_collector: Any,
                                        status: int, text: str,
                                        reason: str) -> None:
    server.handler = lambda req: (status, text)
    collector = make_collector({"resource_type": "instance"})
    with pytest.raises(exceptions.CollectError) as err:
        collector.fetch_all("cpu", START, END, "p1")
    message = str(err.value)
    assert reason in message
    assert "'gnocchi'" in message and "'cpu'" in message and "'p1'" in message


def test_server_down_is_a_collect_error(make_collector: Any) -> None:
    collector = make_collector({"resource_type": "instance"},
                               url="http://127.0.0.1:9")
    with pytest.raises(exceptions.CollectError, match="cannot reach"):
        collector.fetch_all("cpu", START, END, "p1")


def test_slow_server_times_out(server: Recorder, make_collector: Any) -> None:
    server.delay = 2
    collector = make_collector({"resource_type": "instance"}, timeout=0.5)
    began = time.monotonic()
    with pytest.raises(exceptions.CollectError, match="timed out"):
        collector.fetch_all("cpu", START, END, "p1")
    assert time.monotonic() - began < 1.9


def test_basic_auth_needs_an_endpoint(make_conf: Any) -> None:
    conf = make_conf({"collector_gnocchi": {"gnocchi_auth_type": "basic"}})
    with pytest.raises(exceptions.ConfigError, match="gnocchi_endpoint"):
        gnocchi.GnocchiCollector(conf, _metrics({"resource_type": "x"}))


_KEYSTONE = {"gnocchi_auth_type": "keystone", "auth_type": "password",
             "auth_url": "http://127.0.0.1:9/v3", "username": "ck",
             "password": "secret", "project_name": "service",
             "user_domain_name": "Default", "project_domain_name": "Default"}


@pytest.mark.parametrize(("drop", "change", "option", "reason"), [
    ("auth_type", {}, "option auth_type", "no keystone credentials"),
    ("auth_url", {}, "", "missing keystone auth options: auth_url"),
    ("", {"auth_type": "no-such-plugin"}, "option auth_type",
     "no-such-plugin"),
], ids=["no-auth-type", "no-auth-url", "unknown-plugin"])
@pytest.mark.parametrize("group", ["collector_gnocchi", "fetcher_gnocchi"])
def test_incomplete_keystone_options_are_config_errors(
        make_conf: Any, group: str, drop: str, change: dict[str, str],
        option: str, reason: str) -> None:
    options = {k: v for k, v in _KEYSTONE.items() if k != drop} | change
    conf = make_conf({group: options})
    with pytest.raises(exceptions.ConfigError) as err:
        if group == "collector_gnocchi":
            gnocchi.GnocchiCollector(conf, _metrics({"resource_type": "x"}))
        else:
            GnocchiFetcher(conf)
    assert f"section [{group}]" in str(err.value)
    assert option in str(err.value) and reason in str(err.value)


def test_keystone_options_from_auth_section(make_conf: Any) -> None:
    auth = {k: v for k, v in _KEYSTONE.items() if k != "gnocchi_auth_type"}
    del auth["auth_url"]
    conf = make_conf({"collector_gnocchi": {"gnocchi_auth_type": "keystone",
                                            "auth_section": "ck_auth"},
                      "ck_auth": auth})
    # The problem is reported in the section that holds the credentials.
    with pytest.raises(exceptions.ConfigError,
                       match=r"section \[ck_auth\]: .*auth_url"):
        gnocchi.GnocchiCollector(conf, _metrics({"resource_type": "x"}))


# -- fetcher ------------------------------------------------------------

def _exclusion(req: dict[str, Any]) -> tuple[str, list[str] | None]:
    """(resource type, scopes excluded) of a fetcher search; checks the
    condition every search carries."""
    first, *rest = req["body"]["and"]
    assert first == {"not": {"=": {"project_id": None}}}
    (excluded,) = rest or [None]
    kind = req["path"].removeprefix("/v1/search/resource/")
    return kind, None if excluded is None else excluded["not"]["in"][
        "project_id"]


def _owners_handler(owners: dict[str, list[str]], page: int,
                    ) -> Callable[[dict[str, Any]], Reply]:
    """Answers a fetcher search with at most ``page`` resources of the
    type, in ``owners`` order, whose project is not excluded."""
    def handler(req: dict[str, Any]) -> Reply:
        kind, excluded = _exclusion(req)
        left = [p for p in owners[kind] if p not in (excluded or [])]
        return 200, json.dumps([{"id": f"r-{p}", "project_id": p}
                                for p in left[:page]])
    return handler


def test_fetcher_excludes_seen_scopes(server: Recorder,
                                      make_conf: Any) -> None:
    owners = {"generic": ["p2", "p1", "p2", "p3"], "instance": ["p4", "p1"]}
    server.handler = _owners_handler(owners, page=2)
    conf = make_conf({"fetcher_gnocchi": {
        "gnocchi_auth_type": "basic", "gnocchi_user": "ck",
        "gnocchi_endpoint": server.url,
        "resource_types": "generic,instance"}})
    assert GnocchiFetcher(conf).get_scopes() == ["p1", "p2", "p3", "p4"]
    # Each search excludes every scope found so far (sorted); a type is
    # done when a search brings nothing new.
    assert [_exclusion(req) for req in server.requests] == [
        ("generic", None),
        ("generic", ["p1", "p2"]),
        ("generic", ["p1", "p2", "p3"]),
        ("instance", ["p1", "p2", "p3"]),
        ("instance", ["p1", "p2", "p3", "p4"]),
    ]


def test_fetcher_exclusions_do_not_depend_on_set_order(
        server: Recorder, make_conf: Any) -> None:
    # Scopes found in an order far from sorted, many per page: the
    # exclusion sent is the sorted list of what was found, whatever order a
    # set of strings iterates in (it changes with PYTHONHASHSEED, so from
    # one process or xdist worker to the next).
    projects = [f"p{(i * 37) % 101:03d}" for i in range(60)]
    server.handler = _owners_handler({"generic": projects}, page=7)
    conf = make_conf({"fetcher_gnocchi": {
        "gnocchi_auth_type": "basic", "gnocchi_user": "ck",
        "gnocchi_endpoint": server.url}})
    assert GnocchiFetcher(conf).get_scopes() == sorted(projects)
    found: list[str] = []
    for req in server.requests:
        _, excluded = _exclusion(req)
        assert (excluded or []) == sorted(found)
        found.extend(projects[len(found):len(found) + 7])
    assert len(server.requests) == len(projects) // 7 + 2


def test_fetcher_error_names_the_fetcher(server: Recorder,
                                         make_conf: Any) -> None:
    server.handler = lambda req: (500, "boom")
    conf = make_conf({"fetcher_gnocchi": {
        "gnocchi_auth_type": "basic", "gnocchi_user": "ck",
        "gnocchi_endpoint": server.url}})
    with pytest.raises(exceptions.FetchError, match="'gnocchi'.*HTTP 500"):
        GnocchiFetcher(conf).get_scopes()


# -- plugins --------------------------------------------------------------

def test_entry_points_load_gnocchi(make_conf: Any, tmp_path: Any) -> None:
    from cloudkitty.collector import get_collector
    from cloudkitty.fetcher import get_fetcher

    path = tmp_path / "metrics.yml"
    path.write_text("metrics:\n  cpu:\n    unit: vcpu\n    extra_args:\n"
                    "      resource_type: instance\n"
                    "      aggregation_method: rate:mean\n")
    basic = {"gnocchi_auth_type": "basic", "gnocchi_user": "ck",
             "gnocchi_endpoint": "http://127.0.0.1:9"}
    conf = make_conf({"collect": {"collector": "gnocchi",
                                  "metrics_conf": str(path)},
                      "collector_gnocchi": basic,
                      "fetcher": {"backend": "gnocchi"},
                      "fetcher_gnocchi": basic})
    collector = get_collector(conf)
    assert isinstance(collector, gnocchi.GnocchiCollector)
    # metrics.yml went through the collector's extra_args schema.
    assert collector.metrics["cpu"]["extra_args"]["resource_key"] == "id"
    assert isinstance(get_fetcher(conf), GnocchiFetcher)
