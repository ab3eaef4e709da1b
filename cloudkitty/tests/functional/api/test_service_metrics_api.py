"""The API's request metrics: real ``cloudkitty-api`` processes answer
requests, then ``[service_metrics] api_path`` is scraped over HTTP and
read with prometheus_client's OpenMetrics and classic parsers (and
``promtool check metrics``).

Labels must stay bounded: ids in paths become ``{name}``, unknown paths
``other``. Two API processes sharing ``multiproc_dir`` (as uwsgi workers
would) both report the requests of both.
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from cloudkitty.tests.functional import metrics_scrape
from cloudkitty.tests.functional.api.conftest import running_api

A = "cloudkitty_api_"


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


def sqlite(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'ck.sqlite'}"


def settled(url: str, expected: Callable[[metrics_scrape.Scrape], bool],
            timeout: float = 15) -> metrics_scrape.Scrape:
    """The first scrape of ``url`` showing what ``expected`` wants: a
    request is counted once its response is sent, so a client may read
    the answer a moment before the count is in."""
    deadline = time.monotonic() + timeout
    while True:
        found = metrics_scrape.scrape(url)
        if expected(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def routes_of(found: metrics_scrape.Scrape, **labels: str
              ) -> dict[str, float]:
    return {dict(key)["route"]: value for key, value in
            found.matching(A + "requests_total", **labels).items()}


def test_requests_counted_by_method_route_and_status(tmp_path: Path
                                                     ) -> None:
    secret = uuid.uuid4().hex
    with running_api(tmp_path, sqlite(tmp_path),
                     service_metrics={"enabled": True}) as api:
        metrics_url = api + "/metrics"
        statuses = [get(api + "/v1/rating/modules") for _ in range(3)]
        assert statuses == [200] * 3
        assert get(f"{api}/v1/rating/modules/{secret}") == 404
        assert get(f"{api}/no/such/{secret}") == 404
        assert get(api + "/healthcheck") == 200

        def all_in(found: metrics_scrape.Scrape) -> bool:
            return (routes_of(found, status="200").get(
                "/v1/rating/modules") == 3
                and sum(routes_of(found, status="404").values()) == 2
                and "/healthcheck" in routes_of(found))

        found = settled(metrics_url, all_in)
        classic = metrics_scrape.scrape(metrics_url, classic=True)

    assert found.types[A + "requests"] == "counter"
    assert found.types[A + "request_duration_seconds"] == "histogram"
    assert found.value(A + "requests_total", method="GET",
                       route="/v1/rating/modules", status="200") == 3
    # running_api polled "/" until the API answered.
    assert found.number(A + "requests_total", method="GET", route="/",
                        status="200") >= 1
    # The id the controller received became the parameter's name; an
    # unknown path is "other".
    missing = routes_of(found, method="GET", status="404")
    templated = [r for r in missing if r.startswith("/v1/rating/modules/{")]
    assert len(templated) == 1 and missing[templated[0]] == 1
    assert missing["other"] == 1
    assert found.value(A + "requests_total", method="GET",
                       route="/healthcheck", status="200") == 1
    # No path id leaks into a label.
    assert secret not in found.body
    for key in found.matching(A + "requests_total"):
        count = metrics_scrape.histogram_consistent(
            found, A + "request_duration_seconds", dict(key))
        assert count == found.samples[(A + "requests_total", key)]
    # Scrapes themselves are not counted.
    assert not any("metrics" in route for route in routes_of(found))

    assert classic.content_type.startswith("text/plain")
    assert classic.value(A + "requests_total", method="GET",
                         route="/v1/rating/modules", status="200") == 3
    metrics_scrape.promtool_check(classic.body)


def test_processes_sharing_a_directory_add_up(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    sections = {"enabled": True, "multiproc_dir": shared}
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    db = sqlite(tmp_path)
    with running_api(tmp_path / "one", db,
                     service_metrics=sections) as one, \
            running_api(tmp_path / "two", db,
                        service_metrics=sections) as two:
        for _ in range(3):
            assert get(one + "/v1/rating/modules") == 200
        for _ in range(2):
            assert get(two + "/v1/rating/modules") == 200

        def five(found: metrics_scrape.Scrape) -> bool:
            return routes_of(found, status="200").get(
                "/v1/rating/modules") == 5

        seen = [settled(url + "/metrics", five) for url in (one, two)]
    assert (shared / "api").is_dir()
    for found in seen:
        assert found.value(A + "requests_total", method="GET",
                           route="/v1/rating/modules", status="200") == 5
        assert metrics_scrape.histogram_consistent(
            found, A + "request_duration_seconds",
            {"method": "GET", "route": "/v1/rating/modules",
             "status": "200"}) == 5
