"""GET /, /healthcheck, /v1 and unknown routes, through the paste
pipeline."""
from __future__ import annotations

import webtest

EXPECTED_VERSIONS = {"versions": [
    {"id": "v1", "links": [{"href": "http://ck.example:8889/v1",
                            "rel": "self"}], "status": "CURRENT"},
    {"id": "v2", "links": [{"href": "http://ck.example:8889/v2",
                            "rel": "self"}], "status": "EXPERIMENTAL"},
]}


def test_version_document_links_to_the_request_host(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get("/", headers={"Host": "ck.example:8889"})
    assert response.status_int == 200
    assert response.content_type == "application/json"
    assert response.json == EXPECTED_VERSIONS


def test_version_document_answers_head_without_body(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.head("/")
    assert response.status_int == 200
    assert response.body == b""


def test_version_document_follows_forwarded_proto_when_enabled(
        api_conf) -> None:
    from cloudkitty.api import app
    conf = api_conf(oslo_middleware={"enable_proxy_headers_parsing": True})
    client = webtest.TestApp(app.build_wsgi_app(conf))
    response = client.get("/", headers={"Host": "ck.example",
                                        "X-Forwarded-Proto": "https"})
    assert (response.json["versions"][0]["links"][0]["href"]
            == "https://ck.example/v1")


def test_root_refuses_other_methods(noauth_app: webtest.TestApp) -> None:
    response = noauth_app.post("/", status=405)
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.json == {
        "message": "The method POST is not allowed for this resource."}


def test_responses_carry_a_request_id(noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get("/")
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_healthcheck_is_served_by_oslo_middleware(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get("/healthcheck")
    assert response.status_int == 200
    assert response.text == "OK"


def test_v1_root_answers_405_with_a_wsme_fault(
        noauth_app: webtest.TestApp) -> None:
    for path in ("/v1", "/v1/"):
        response = noauth_app.get(path, status=405)
        assert response.json == {
            "faultcode": "Client",
            "faultstring": "The method GET is not allowed for this "
                           "resource.",
            "debuginfo": None}


def test_unknown_v1_route_is_a_404_fault(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get("/v1/nothing/here", status=404)
    assert response.json["faultcode"] == "Client"
    assert response.json["debuginfo"] is None


def test_unknown_v2_and_root_routes_are_404_messages(
        noauth_app: webtest.TestApp) -> None:
    for path in ("/v2", "/v2/nothing", "/nothing"):
        response = noauth_app.get(path, status=404)
        assert response.json == {
            "message": "The resource could not be found."}


def test_cors_preflight_uses_the_configured_origin(api_conf) -> None:
    from cloudkitty.api import app
    conf = api_conf(cors={"allowed_origin": "http://dashboard.example"})
    client = webtest.TestApp(app.build_wsgi_app(conf))
    response = client.options(
        "/v1/info/metrics",
        headers={"Origin": "http://dashboard.example",
                 "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "X-Auth-Token"})
    assert (response.headers["Access-Control-Allow-Origin"]
            == "http://dashboard.example")
    assert "X-Auth-Token" in response.headers["Access-Control-Allow-Headers"]
