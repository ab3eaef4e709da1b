"""Error bodies of v1 (WSME faults) and v2 (``{"message"}``), and v1
argument binding, through test-only controllers built like real ones."""
from __future__ import annotations

import logging

import pytest
import webtest

pytestmark = pytest.mark.usefixtures("fake_controllers")


def fault(code: str, message: str) -> dict[str, object]:
    return {"faultcode": code, "faultstring": message, "debuginfo": None}


@pytest.mark.parametrize(("kind", "status", "body"), [
    ("invalid", 400, fault("Client", "Bad value for 'size'.")),
    ("missing", 404, fault("Client", "No such thing: missing")),
    ("conflict", 409, fault("Client", "Thing already exists.")),
    ("storage", 503, fault("Server", "The storage backend is unavailable.")),
    ("crash", 500, fault("Server", "An unexpected error occurred.")),
])
def test_v1_errors_are_wsme_faults(noauth_app: webtest.TestApp, kind: str,
                                   status: int, body: dict) -> None:
    response = noauth_app.get(f"/v1/tests/{kind}", status=status)
    assert response.content_type == "application/json"
    assert response.json == body


@pytest.mark.parametrize(("kind", "status", "message"), [
    ("invalid", 400, "Bad value for 'size'."),
    ("missing", 404, "No such thing: missing"),
    ("conflict", 409, "Thing already exists."),
    ("storage", 503, "The storage backend is unavailable."),
    ("crash", 500, "An unexpected error occurred."),
])
def test_v2_errors_are_messages(noauth_app: webtest.TestApp, kind: str,
                                status: int, message: str) -> None:
    response = noauth_app.get(f"/v2/tests/{kind}", status=status)
    assert response.content_type == "application/json"
    assert response.json == {"message": message}


def test_server_errors_are_logged_with_traceback_not_shown(
        noauth_app: webtest.TestApp,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="cloudkitty.api.errors"):
        response = noauth_app.get("/v2/tests/crash", status=500)
    assert "secret internal detail" not in response.text
    record = next(r for r in caplog.records
                  if r.name == "cloudkitty.api.errors")
    assert record.exc_info is not None
    assert "secret internal detail" in str(record.exc_info[1])


def test_v1_wrong_argument_type_keeps_wsme_text(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get("/v1/tests/?size=big", status=400)
    assert response.json == fault(
        "Client", "Invalid input for field/attribute size. Value: 'big'. "
                  "unable to convert to int. Error: invalid literal for "
                  "int() with base 10: 'big'")


def test_v1_unknown_body_attribute_keeps_wsme_text(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.post_json("/v1/tests/", {"name": "a", "colour": 1},
                                    status=400)
    assert response.json == fault(
        "Client", "Unknown attribute for argument thing: colour")


@pytest.mark.parametrize("body", [b"[]", b'"x"', b"5", b"[1, 2]"])
def test_v1_body_that_is_not_an_object_is_a_client_error(
        noauth_app: webtest.TestApp, body: bytes) -> None:
    response = noauth_app.post("/v1/tests/", body,
                               content_type="application/json", status=400)
    assert response.json["faultcode"] == "Client"
    assert response.json["faultstring"].startswith("Invalid request body")


def test_v1_unknown_argument_is_rejected(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get("/v1/tests/?colour=red", status=400)
    assert response.json == fault("Client", 'Unknown argument: "colour"')


def test_v1_encodes_decimal_as_string_and_naive_datetimes(
        noauth_app: webtest.TestApp) -> None:
    assert noauth_app.get("/v1/tests/?size=3").json == [
        {"name": "a", "size": 3, "cost": "1.5",
         "created": "2024-01-02T03:04:05"}]


def test_v1_create_returns_the_declared_status(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.post_json("/v1/tests", {"name": "a", "size": 2})
    assert response.status_int == 201
    assert response.json == {"name": "a", "size": 2}


@pytest.mark.parametrize("request_kwargs", [
    {"url": "/v1/tests/some-id"},                       # path
    {"url": "/v1/tests/?thing_id=some-id"},             # query string
    {"url": "/v1/tests/", "params": b'{"thing_id": "some-id"}',
     "content_type": "application/json"},               # JSON body
])
def test_v1_arguments_bind_from_path_query_or_body(
        noauth_app: webtest.TestApp, request_kwargs: dict) -> None:
    # python-cloudkittyclient deletes hashmap objects with the id only in
    # the body of a DELETE.
    url = request_kwargs.pop("url")
    response = noauth_app.delete(url, **request_kwargs)
    assert response.status_int == 204
    assert response.body == b""


def test_v1_response_object_sets_the_status(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.put_json("/v1/tests/x", {"name": "renamed"})
    assert response.status_int == 202
    assert response.json == {"name": "renamed"}


def test_v1_delete_errors_are_faults(noauth_app: webtest.TestApp) -> None:
    response = noauth_app.delete("/v1/tests/missing", status=404)
    assert response.json == fault("Client", "No such thing: missing")


def test_v2_delete_returns_204_without_body(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.delete("/v2/tests/x")
    assert response.status_int == 204
    assert response.body == b""


# Found by fuzzing (tests/functional/api/test_fuzz.py): requests that
# cannot be decoded failed inside Pecan, WSME or the PostgreSQL driver
# with a bare 400 (text/plain for a path) or a 500.

@pytest.mark.parametrize(("request_line", "message"), [
    ("GET /tests/%FF", "The request path is not valid UTF-8 "
     "(percent-encoded bytes must form UTF-8 text)."),
    ("GET /tests/a%00", "The request path contains a NUL character, "
     "which is not allowed."),
    ("GET /tests?size=%FF", "The value of query parameter 'size' is not "
     "valid UTF-8 (percent-encoded bytes must form UTF-8 text)."),
    ("GET /tests?size=1%00", "The value of query parameter 'size' contains "
     "a NUL character, which is not allowed."),
    ("GET /tests?%FF=1", "A query parameter name is not valid UTF-8 "
     "(percent-encoded bytes must form UTF-8 text)."),
])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_undecodable_urls_are_a_400_naming_the_part(
        noauth_app: webtest.TestApp, version: str, request_line: str,
        message: str) -> None:
    method, path = request_line.split(" ")
    response = noauth_app.request(f"/{version}{path}", method=method,
                                  status=400)
    assert response.content_type == "application/json"
    if version == "v1":
        assert response.json == fault("Client", message)
    else:
        assert response.json == {"message": message}


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b"x", "multipart/form-data; boundary=",
     "The request body is not a valid multipart/form-data document "
     "(Invalid boundary in multipart form: b'')."),
    (b"name=a%00", "application/x-www-form-urlencoded",
     "Form field 'name' contains a NUL character, which is not allowed."),
    (b'{"name": "a", "tags": ["x\\u0000"]}', "application/json",
     "'tags[0]' contains a NUL character, which is not allowed."),
])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_unreadable_bodies_are_a_400_naming_the_part(
        noauth_app: webtest.TestApp, version: str, body: bytes,
        content_type: str, message: str) -> None:
    response = noauth_app.post(f"/{version}/tests", body,
                               headers={"Content-Type": content_type},
                               status=400)
    if version == "v1":
        assert response.json == fault("Client", message)
    else:
        assert response.json == {"message": message}


def test_an_escaped_backslash_is_not_a_nul(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.post("/v2/tests", b'{"name": "a\\\\u0000"}',
                               content_type="application/json",
                               status=201)
    assert response.json["name"] == "a\\u0000"
