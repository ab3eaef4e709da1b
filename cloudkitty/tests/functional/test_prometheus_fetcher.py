"""Prometheus scope fetcher against its own backfilled Prometheus and a
misbehaving HTTP server."""
from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.fetcher import get_fetcher
from cloudkitty.fetcher.prometheus import PrometheusFetcher, build_query
from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")


def _series() -> list[pf.Series]:
    now = int(time.time())
    recent = [now - 1800 + 60 * i for i in range(29)]   # up to ~1 min ago
    old = [now - 7200 + 60 * i for i in range(30)]      # ended an hour ago
    out = [pf.Series("ck_scope_up", {"project_id": p, "region": r},
                     [(t, 1.0) for t in recent])
           for p, r in (("p2", "a"), ("p1", "a"), ("p1", "b"), ("p3", "b"),
                        ('we"ird', "a"))]
    out.append(pf.Series("ck_scope_up", {"project_id": "gone",
                                         "region": "a"},
                         [(t, 1.0) for t in old]))
    out.append(pf.Series("ck_scope_up", {"region": "a"},
                         [(t, 1.0) for t in recent]))
    return out


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory,
         ) -> Iterator[pf.BackfilledPrometheus]:
    server = pf.BackfilledPrometheus(tmp_path_factory.mktemp("promf"),
                                     _series())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fetcher(make_conf: Any, url: str, **options: Any) -> PrometheusFetcher:
    conf = make_conf({"fetcher": {"backend": "prometheus"},
                      "fetcher_prometheus": {"metric": "ck_scope_up",
                                             "prometheus_url": url,
                                             **options}})
    result = get_fetcher(conf)
    assert isinstance(result, PrometheusFetcher)
    return result


def test_query_text() -> None:
    assert build_query("m", "project_id", {}) == "max(m) by (project_id)"
    assert build_query("m", "domain", {"a": "1", "b": 'x"y'}) == (
        'max(m{a="1", b="x\\"y"}) by (domain)')


def test_current_scopes_sorted_unique(make_conf: Any,
                                      prom: pf.BackfilledPrometheus) -> None:
    # "gone" stopped reporting an hour ago; the series without the label
    # gives no scope.
    assert fetcher(make_conf, prom.url).get_scopes() == [
        "p1", "p2", "p3", 'we"ird']


def test_filters_restrict_the_scopes(make_conf: Any,
                                     prom: pf.BackfilledPrometheus) -> None:
    assert fetcher(make_conf, prom.url,
                   filters="region:b").get_scopes() == ["p1", "p3"]


def test_other_scope_attribute(make_conf: Any,
                               prom: pf.BackfilledPrometheus) -> None:
    assert fetcher(make_conf, prom.url,
                   scope_attribute="region").get_scopes() == ["a", "b"]


def test_unknown_metric_gives_no_scopes(make_conf: Any,
                                        prom: pf.BackfilledPrometheus,
                                        ) -> None:
    assert fetcher(make_conf, prom.url,
                   metric="ck_nothing").get_scopes() == []


def test_request_sent(make_conf: Any) -> None:
    body = (b'{"status":"success","data":{"result":['
            b'{"metric":{"project_id":"x"},"value":[0,"1"]}]}}')
    with pf.FakeServer(pf.reply(200, body)) as server:
        assert fetcher(make_conf, server.url,
                       filters="k:v").get_scopes() == ["x"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(
        server.requests[0]).query)
    assert query == {"query": ['max(ck_scope_up{k="v"}) by (project_id)']}


@pytest.mark.parametrize("behaviour,part", [
    (pf.reply(500, b"oops", "text/plain"), "HTTP 500 with a non-JSON"),
    (pf.reply(400, b'{"status":"error","errorType":"bad_data",'
                   b'"error":"parse error"}'), "bad_data: parse error"),
    (pf.reply(200, b'{"status":"success","data":{"result":[3]}}'),
     "malformed"),
    (pf.slow(3, pf.reply(200, b"{}")), "within 1s"),
])
def test_faults_are_fetch_errors(make_conf: Any, behaviour: Any,
                                 part: str) -> None:
    with pf.FakeServer(behaviour) as server:
        with pytest.raises(exceptions.FetchError) as info:
            fetcher(make_conf, server.url, timeout=1).get_scopes()
    assert "'prometheus'" in str(info.value) and part in str(info.value)


def test_server_down_is_a_fetch_error(make_conf: Any) -> None:
    with pytest.raises(exceptions.FetchError, match="cannot reach"):
        fetcher(make_conf, pf.closed_port_url()).get_scopes()


def test_missing_metric_option_is_a_config_error(make_conf: Any) -> None:
    conf = make_conf({"fetcher": {"backend": "prometheus"},
                      "fetcher_prometheus": {
                          "prometheus_url": "http://127.0.0.1:1/api/v1"}})
    with pytest.raises(exceptions.ConfigError, match="metric"):
        get_fetcher(conf)
