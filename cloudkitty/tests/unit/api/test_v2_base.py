"""The v2 base: voluptuous query and body validation, pagination, JSON
rendering (COMPAT.md §3.1)."""
from __future__ import annotations

import pytest
import voluptuous as vol
import webtest

from cloudkitty.api.v2 import validation

pytestmark = pytest.mark.usefixtures("fake_controllers")


def params_of(app: webtest.TestApp, query: str) -> dict:
    return app.get(f"/v2/tests{query}").json["params"]


def test_pagination_defaults(noauth_app: webtest.TestApp) -> None:
    assert params_of(noauth_app, "") == {"offset": 0, "limit": 100}


def test_values_are_coerced_and_split(noauth_app: webtest.TestApp) -> None:
    params = params_of(
        noauth_app, "?one=7&many=a,b&many=c&filters=k:v,k2:v2"
                    "&groups=g:1,g:2,h:3&offset=5&limit=1")
    assert params == {"one": 7, "many": ["a", "b", "c"],
                      "filters": {"k": "v", "k2": "v2"},
                      "groups": {"g": ["1", "2"], "h": ["3"]},
                      "offset": 5, "limit": 1}


def test_dict_values_may_contain_colons(noauth_app: webtest.TestApp) -> None:
    assert params_of(noauth_app, "?filters=at:12:00")["filters"] == {
        "at": "12:00"}


@pytest.mark.parametrize(("query", "field", "reason"), [
    ("?offset=-1", "offset", "value must be at least 0"),
    ("?limit=0", "limit", "value must be at least 1"),
    ("?limit=ten", "limit", "expected int"),
    ("?one=1&one=2", "one", "expected exactly one value, got 2"),
    ("?filters=a:1,a:2", "filters", "key 'a' given more than once"),
    ("?filters=novalue", "filters",
     "invalid key:value association 'novalue'"),
    ("?colour=red", "colour", "extra keys not allowed"),
])
def test_invalid_query_is_a_400_naming_the_field(
        noauth_app: webtest.TestApp, query: str, field: str,
        reason: str) -> None:
    response = noauth_app.get(f"/v2/tests{query}", status=400)
    message = response.json["message"]
    assert message.startswith("Invalid data '")
    assert f": {reason} (path: '['{field}']')" in message


def test_body_is_validated_and_defaults_filled(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.post_json("/v2/tests", {"name": "a"})
    assert response.status_int == 201
    assert response.json == {"name": "a", "size": 0}


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"name": "a", "colour": "red"}, "colour", "extra keys not allowed"),
    ({"size": 1}, "name", "required key not provided"),
    ({"name": "a", "size": "big"}, "size", "expected int"),
])
def test_invalid_body_is_a_400_naming_the_field(
        noauth_app: webtest.TestApp, body: dict, field: str,
        reason: str) -> None:
    response = noauth_app.post_json("/v2/tests", body, status=400)
    assert f": {reason} (path: '['{field}']')" in response.json["message"]


def test_body_that_is_not_json_is_a_400(noauth_app: webtest.TestApp) -> None:
    response = noauth_app.post("/v2/tests", "{not json",
                               content_type="application/json", status=400)
    assert response.json == {"message": "The request body is not valid JSON."}


def test_decimal_is_a_number_and_datetimes_keep_their_offset(
        noauth_app: webtest.TestApp) -> None:
    document = noauth_app.get("/v2/tests").json
    assert document["price"] == 2.25
    assert document["at"] == "2024-01-02T03:04:05+00:00"


def test_path_argument_reaches_get_one(noauth_app: webtest.TestApp) -> None:
    assert noauth_app.get("/v2/tests/abc").json == {"thing_id": "abc"}
    noauth_app.get("/v2/tests/abc/def", status=404)


def test_pagination_beyond_64_bits_is_lowered(
        noauth_app: webtest.TestApp) -> None:
    # Found by the fuzz run: such values crashed the database drivers.
    huge = 10 ** 30
    params = params_of(noauth_app, f"?offset={huge}&limit={huge}")
    assert params == {"offset": validation.MAX_OFFSET,
                      "limit": validation.MAX_OFFSET}


def test_a_method_needing_an_id_is_405_without_one(
        noauth_app: webtest.TestApp) -> None:
    # Found by the fuzz run: Pecan called it without its argument (500).
    response = noauth_app.delete("/v2/tests", status=405)
    assert response.headers["Allow"] == "GET, POST"
    assert response.json == {
        "message": "The method DELETE is not allowed for this resource."}


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), ("TRUE", True), ("no", False),
    ("1", True), ("disable", False)])
def test_flag_reads_booleans_and_words(value, expected: bool) -> None:
    assert validation.flag(value) is expected


@pytest.mark.parametrize("value", [None, 1, 0, [], [True], {}, "maybe"])
def test_flag_refuses_other_types(value) -> None:
    # vol.Boolean read them by their truth value ([None] was true).
    with pytest.raises(vol.Invalid, match="expected a boolean"):
        validation.flag(value)


@pytest.mark.parametrize("value", [0, None, ["a"], "a\x00"])
def test_text_refuses_non_strings_and_nul(value) -> None:
    with pytest.raises(vol.Invalid):
        validation.text(value)
