"""Service metrics: bounded API labels, content negotiation, and the
exporter's socket in forked children (the services' own tests are under
``functional/``)."""
from __future__ import annotations

import os
import socket
import urllib.request

from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics import parser as om_parser

from cloudkitty.service_metrics import api, exposition


def families(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                  float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in om_parser.text_string_to_metric_families(
                body.decode())
            for s in family.samples}


def test_route_label_values_are_bounded() -> None:
    registry = CollectorRegistry(auto_describe=False)
    metrics = api.APIMetrics(registry)
    extra = 37
    for index in range(api.MAX_ROUTES + extra):
        metrics.record("GET", f"/v1/route-{index}", "200", 0.01)
    metrics.record("BREW", "/v1/route-0", "418", 0.01)
    metrics.record("GET", None, "401", 0.01)
    body, _ = exposition.Exposition(registry=registry).render(None)
    samples = families(body)
    routes = {dict(labels)["route"] for name, labels in samples
              if name == "cloudkitty_api_requests_total"}
    assert len(routes) == api.MAX_ROUTES + 1
    assert samples[("cloudkitty_api_requests_total",
                    (("method", "GET"), ("route", "other"),
                     ("status", "200")))] == extra
    assert samples[("cloudkitty_api_requests_total",
                    (("method", "other"), ("route", "/v1/route-0"),
                     ("status", "418")))] == 1
    assert samples[("cloudkitty_api_requests_total",
                    (("method", "GET"), ("route", "other"),
                     ("status", "401")))] == 1


class _Mappings:
    def get_one(self, mapping_id: str) -> None:
        """A controller method as Pecan calls it (bound)."""


def test_route_template_names_path_arguments() -> None:
    controller = _Mappings().get_one
    assert api.route_template(
        "/v1/rating/module_config/hashmap/mappings/0a1b",
        controller, ["0a1b"], []) == \
        "/v1/rating/module_config/hashmap/mappings/{mapping_id}"
    # Pecan passes the instance first to generic handlers (unbound).
    assert api.route_template(
        "/v1/rating/module_config/hashmap/mappings/0a1b/",
        _Mappings.get_one, [_Mappings(), "0a1b"], []) == \
        "/v1/rating/module_config/hashmap/mappings/{mapping_id}"
    assert api.route_template("/v2/a/b/c", controller, [], ["b", "c"]) == \
        "/v2/a/{args}/{args}"


def test_openmetrics_unless_only_text_is_accepted() -> None:
    registry = CollectorRegistry(auto_describe=False)
    api.APIMetrics(registry).record("GET", "/", "200", 0.5)
    served = exposition.Exposition(registry=registry)
    for accept in (None, "*/*", "application/openmetrics-text; "
                   "version=1.0.0,text/plain;q=0.5"):
        body, content_type = served.render(accept)
        assert content_type.startswith("application/openmetrics-text")
        assert body.endswith(b"# EOF\n")
    body, content_type = served.render("text/plain;version=0.0.4")
    assert content_type.startswith("text/plain")
    assert b"# EOF" not in body
    assert b'cloudkitty_api_requests_total{method="GET",route="/",' \
        b'status="200"} 1.0' in body


def test_forked_child_lets_go_of_the_port() -> None:
    registry = CollectorRegistry(auto_describe=False)
    exporter = exposition.Exporter(
        "127.0.0.1", 0, exposition.Exposition(registry=registry))
    exporter.start()
    try:
        listening = exporter._server.socket.fileno() \
            if exporter._server else -1
        pid = os.fork()
        if pid == 0:  # the child: its copy of the socket must be closed
            try:
                closed = exporter._server is None
                try:
                    socket.socket(fileno=listening).getsockname()
                    closed = False
                except OSError:
                    pass
            finally:
                os._exit(0 if closed else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent still serves.
        with urllib.request.urlopen(exporter.url, timeout=10) as response:
            assert response.status == 200
    finally:
        exporter.stop()
