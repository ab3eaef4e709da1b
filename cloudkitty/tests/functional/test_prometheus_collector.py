"""Prometheus collector against a real Prometheus with backfilled history,
and against a misbehaving HTTP server.

Expected quantities are recomputed here from the generated samples with
plain Python (PromQL semantics of Prometheus 2.x: inclusive range ends,
extrapolated ``delta``/``rate``), never read back from Prometheus.
"""
from __future__ import annotations

import datetime
import decimal
import json
import math
import statistics
import urllib.parse
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.collector import metrics, prometheus
from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

UTC = datetime.timezone.utc
NOW = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
ORIGIN = NOW - datetime.timedelta(hours=8)
HOURS = 4
HOUR = datetime.timedelta(hours=1)


@pytest.fixture(scope="module")
def series() -> list[pf.Series]:
    return pf.generate(ORIGIN, HOURS)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory,
         series: list[pf.Series]) -> Iterator[pf.BackfilledPrometheus]:
    server = pf.BackfilledPrometheus(tmp_path_factory.mktemp("prom"), series)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def collector(make_conf: Any, url: str, defs: dict[str, Any],
              **options: Any) -> prometheus.PrometheusCollector:
    conf = make_conf({"collect": {"collector": "prometheus"},
                      "collector_prometheus": {"prometheus_url": url,
                                               **options}})
    validated = metrics.validate_metrics(
        {"metrics": defs}, scope_key="project_id",
        extra_args_schema=prometheus.EXTRA_ARGS_SCHEMA)
    return prometheus.PrometheusCollector(conf, validated)


# -- PromQL, recomputed ------------------------------------------------------

Samples = list[tuple[int, float]]


def _extrapolated(samples: Samples, start: int, end: int, counter: bool,
                  rate: bool) -> float:
    first, last = samples[0], samples[-1]
    result = last[1] - first[1]
    to_start = float(first[0] - start)
    to_end = float(end - last[0])
    sampled = float(last[0] - first[0])
    average = sampled / (len(samples) - 1)
    if counter and result > 0 and first[1] >= 0:
        to_start = min(to_start, sampled * (first[1] / result))
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    result = result * (interval / sampled)
    return result / (end - start) if rate else result


def _deriv(samples: Samples) -> float:
    xs = [float(t - samples[0][0]) for t, _ in samples]
    ys = [v for _, v in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return cov / sum((x - mx) ** 2 for x in xs)


def _over(name: str, samples: Samples, start: int, end: int) -> float:
    values = [v for _, v in samples]
    simple: dict[str, Callable[[], float]] = {
        "max": lambda: max(values), "min": lambda: min(values),
        "sum": lambda: math.fsum(values), "count": lambda: len(values),
        "avg": lambda: statistics.fmean(values),
        "stddev": lambda: statistics.pstdev(values),
        "stdvar": lambda: statistics.pvariance(values),
        "delta": lambda: _extrapolated(samples, start, end, False, False),
        "rate": lambda: _extrapolated(samples, start, end, True, True),
        "irate": lambda: ((values[-1] - values[-2])
                          / (samples[-1][0] - samples[-2][0])),
        "idelta": lambda: values[-1] - values[-2],
        "changes": lambda: sum(a != b for a, b in
                                     zip(values, values[1:], strict=False)),
        "deriv": lambda: _deriv(samples),
    }
    return float(simple[name]())


FUNCTIONS: dict[str, Callable[[float], float]] = {
    "abs": abs, "ceil": math.ceil, "floor": math.floor, "exp": math.exp,
    "ln": math.log, "log2": math.log2, "log10": math.log10,
    "sqrt": math.sqrt, "round": lambda v: math.floor(v + 0.5),
}


def expected(series: list[pf.Series], name: str, scope: str,
             start: datetime.datetime, end: datetime.datetime,
             labels: list[str], extra: dict[str, Any],
             ) -> dict[tuple[str, ...], float]:
    """``{label values: value}`` the query should give for ``scope``."""
    t0, t1 = int(start.timestamp()), int(end.timestamp())
    agg = extra.get("aggregation_method", "max")
    groups: dict[tuple[str, ...], list[float]] = {}
    for s in series:
        if s.name != name or s.labels.get("project_id") != scope:
            continue
        window = [(t, v) for t, v in s.samples if t0 <= t <= t1]
        if not window:
            continue
        value = _over(extra.get("range_function", agg), window, t0, t1)
        if "query_function" in extra:
            value = float(FUNCTIONS[extra["query_function"]](value))
        key = tuple(s.labels.get(k, "") for k in labels)
        groups.setdefault(key, []).append(value)
    return {k: _over(agg, [(0, v) for v in vs], 0, 0)
            for k, vs in groups.items()}


def as_qty(value: float, factor: Decimal = Decimal(1)) -> Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = 9
        ctx.rounding = decimal.ROUND_HALF_UP
        return +Decimal(repr(value)) * factor


def assert_close(actual: Decimal, wanted: Decimal) -> None:
    # Float sums can differ in the last binary digit from Prometheus'
    # summation order; nine significant digits leave one digit of slack.
    assert abs(actual - wanted) <= abs(wanted) * Decimal("1e-8") + \
        Decimal("1e-12"), (actual, wanted)


CASES: list[tuple[str, dict[str, Any]]] = [
    ("ck_test_size", {}),
    *[("ck_test_size", {"aggregation_method": a})
      for a in prometheus.AGGREGATION_METHODS],
    *[("ck_test_size", {"aggregation_method": "avg", "query_function": f})
      for f in prometheus.QUERY_FUNCTIONS],
    *[("ck_test_bytes", {"aggregation_method": "sum", "range_function": r})
      for r in prometheus.RANGE_FUNCTIONS if r != "irange"],
    ("ck_test_bytes", {"aggregation_method": "max", "range_function": "rate",
                       "query_function": "ceil"}),
]


@pytest.mark.parametrize("name,extra", CASES,
                         ids=[f"{n}-{'-'.join(e.values()) or 'default'}"
                              for n, e in CASES])
def test_quantities_match_the_generated_series(
        make_conf: Any, prom: pf.BackfilledPrometheus,
        series: list[pf.Series], name: str, extra: dict[str, Any]) -> None:
    coll = collector(make_conf, prom.url, {name: {
        "unit": "u", "groupby": ["id"], "metadata": ["type"],
        "factor": "1/2", "extra_args": extra}})
    start = ORIGIN + HOUR
    end = start + HOUR
    labels = ["id", "project_id", "type"]
    for scope in ("p1", "p2", "p3"):
        points = coll.fetch_all(name, start, end, scope)
        wanted = expected(series, name, scope, start, end, labels, extra)
        assert len(points) == len(wanted) == 2
        for point in points:
            key = tuple(point.desc[k] for k in labels)
            assert point.groupby["project_id"] == scope
            assert_close(point.qty, as_qty(wanted[key], Decimal("0.5")))


def test_two_hour_period_and_integer_values_are_exact(
        make_conf: Any, prom: pf.BackfilledPrometheus,
        series: list[pf.Series]) -> None:
    coll = collector(make_conf, prom.url, {"ck_test_size": {
        "unit": "GB", "groupby": ["id"],
        "extra_args": {"aggregation_method": "sum"}}})
    start, end = ORIGIN + 2 * HOUR, ORIGIN + 4 * HOUR
    points = coll.fetch_all("ck_test_size", start, end, "p2")
    wanted = expected(series, "ck_test_size", "p2", start, end,
                      ["id", "project_id"], {"aggregation_method": "sum"})
    assert {(p.groupby["id"], p.groupby["project_id"]): p.qty
            for p in points} == {k: Decimal(int(v))
                                 for k, v in wanted.items()}


def test_retrieve_adds_time_keys_and_missing_labels_are_empty(
        make_conf: Any, prom: pf.BackfilledPrometheus) -> None:
    coll = collector(make_conf, prom.url, {"ck_test_size": {
        "unit": "GB", "alt_name": "size", "groupby": ["id"],
        "metadata": ["type"], "description": "disk"}})
    start = ORIGIN + HOUR
    name, points = coll.retrieve("ck_test_size@#size", start,
                                 start + HOUR, "p4")
    assert name == "size"
    [point] = points
    assert point.qty == 2 and point.description == "disk"
    assert dict(point.metadata) == {"type": ""}
    assert point.groupby["id"] == ""
    assert point.groupby["year"] == start.strftime("%Y")
    assert point.groupby["month"] == str(start.month)


def test_period_without_data_is_no_data_collected(
        make_conf: Any, prom: pf.BackfilledPrometheus) -> None:
    coll = collector(make_conf, prom.url, {"ck_test_size": {"unit": "GB"}})
    start = ORIGIN - 3 * HOUR
    assert coll.fetch_all("ck_test_size", start, start + HOUR, "p1") == []
    with pytest.raises(exceptions.NoDataCollected):
        coll.retrieve("ck_test_size", start, start + HOUR, "p1")
    with pytest.raises(exceptions.NoDataCollected):
        coll.retrieve("ck_test_size", ORIGIN + HOUR, ORIGIN + 2 * HOUR,
                      "nobody")


@pytest.mark.parametrize("extra", [
    {}, {"aggregation_method": "avg", "query_function": "sqrt"},
    {"aggregation_method": "sum", "range_function": "delta"}])
@pytest.mark.parametrize("many", [False, True])
def test_batch_fetch_equals_per_scope_fetches(
        make_conf: Any, prom: pf.BackfilledPrometheus,
        monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any],
        many: bool) -> None:
    if many:  # exercise the form without a scope matcher
        monkeypatch.setattr(prometheus, "MAX_SCOPES_IN_REGEX", 1)
    name = "ck_test_bytes" if "range_function" in extra else "ck_test_size"
    coll = collector(make_conf, prom.url, {name: {
        "unit": "u", "groupby": ["id"], "metadata": ["type"],
        "extra_args": extra}})
    start = ORIGIN + HOUR
    scopes = ["p1", "p2", "p4", "nobody"]
    batch = coll.fetch_all_scopes(name, start, start + HOUR, scopes)
    assert list(batch) == scopes
    for scope in scopes:
        single = coll.fetch_all(name, start, start + HOUR, scope)
        assert sorted(batch[scope], key=repr) == sorted(single, key=repr)
    assert batch["nobody"] == [] and len(batch["p1"]) == 2


def test_prometheus_error_answer_is_a_collect_error(
        make_conf: Any, prom: pf.BackfilledPrometheus) -> None:
    # "irange" is accepted by the metrics schema (as upstream) but is not
    # a PromQL function: Prometheus answers status "error".
    coll = collector(make_conf, prom.url, {"ck_test_size": {
        "unit": "u", "extra_args": {"range_function": "irange"}}})
    with pytest.raises(exceptions.CollectError) as info:
        coll.fetch_all("ck_test_size", ORIGIN + HOUR, ORIGIN + 2 * HOUR,
                       "p1")
    message = str(info.value)
    assert message.startswith("Collector 'prometheus' failed for metric "
                              "'ck_test_size', scope 'p1': bad_data: ")
    assert "irange" in message


# -- transport faults ---------------------------------------------------------

def fetch(make_conf: Any, url: str, **options: Any) -> list[Any]:
    coll = collector(make_conf, url, {"m": {"unit": "u"}}, **options)
    return coll.fetch_all("m", ORIGIN, ORIGIN + HOUR, "p1")


def check_error(info: pytest.ExceptionInfo[exceptions.CollectError],
                *parts: str) -> None:
    message = str(info.value)
    assert "'prometheus'" in message and "'m'" in message
    assert "'p1'" in message
    for part in parts:
        assert part in message, message


def test_server_down(make_conf: Any) -> None:
    url = pf.closed_port_url()
    with pytest.raises(exceptions.CollectError) as info:
        fetch(make_conf, url)
    check_error(info, "cannot reach")


def test_server_slower_than_timeout(make_conf: Any) -> None:
    ok = pf.reply(200, b'{"status":"success","data":{"result":[]}}')
    with pf.FakeServer(pf.slow(3, ok)) as server:
        with pytest.raises(exceptions.CollectError) as info:
            fetch(make_conf, server.url, timeout=1)
    check_error(info, "within 1s")


@pytest.mark.parametrize("status,body,part", [
    (500, b"<html>Internal Server Error</html>", "HTTP 500 with a non-JSON"),
    (502, b"", "HTTP 502 with a non-JSON"),
    (200, b"not json at all", "HTTP 200 with a non-JSON"),
    (200, b"[1, 2]", "unexpected JSON"),
    (503, b'{"status": "success", "data": {"result": []}}', "HTTP 503"),
    (200, b'{"status": "success", "data": {"result": 3}}', "malformed"),
    (422, json.dumps({"status": "error", "errorType": "execution",
                      "error": "query too big"}).encode(),
     "execution: query too big"),
])
def test_bad_answers(make_conf: Any, status: int, body: bytes,
                     part: str) -> None:
    with pf.FakeServer(pf.reply(status, body)) as server:
        with pytest.raises(exceptions.CollectError) as info:
            fetch(make_conf, server.url)
    check_error(info, part)


def test_request_shape_and_basic_auth(make_conf: Any) -> None:
    answer = {"status": "success", "data": {"resultType": "vector",
              "result": [{"metric": {"project_id": "p1"},
                          "value": [0, "4"]}]}}
    with pf.FakeServer(pf.reply(200, json.dumps(answer).encode())) as server:
        points = fetch(make_conf, server.url, prometheus_user="ck",
                       prometheus_password="secret")
    assert [p.qty for p in points] == [4]
    [path] = server.requests
    assert path.startswith("/api/v1/query?")
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert params == {
        "query": ['max(max_over_time(m{project_id="p1"}[3600s])) '
                  'by (project_id)'],
        "time": [(ORIGIN + HOUR).isoformat()]}
    assert server.headers[0]["Authorization"] == "Basic Y2s6c2VjcmV0"


def test_tls_options_reach_the_session(make_conf: Any,
                                       tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("")
    coll = collector(make_conf, "https://127.0.0.1:1/api/v1",
                     {"m": {"unit": "u"}}, cafile=str(cafile))
    assert coll.client.session.verify == str(cafile)
    coll = collector(make_conf, "https://127.0.0.1:1/api/v1",
                     {"m": {"unit": "u"}}, insecure="true")
    assert coll.client.session.verify is False
