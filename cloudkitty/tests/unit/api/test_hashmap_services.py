"""Hashmap configuration API: types, services, fields and groups
(COMPAT.md §2.6). The ``hm`` fixture and ``HashMapAPI`` helper defined here
are shared by the other ``test_hashmap_*`` modules."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

from cloudkitty.api import app
from cloudkitty.db import api as db_api
from cloudkitty.db import migration

BASE = "/v1/rating/module_config/hashmap"


def fault(message: str) -> dict[str, Any]:
    return {"faultcode": "Client", "faultstring": message,
            "debuginfo": None}


class HashMapAPI:
    """The hashmap API of a test app, plus factories of its objects."""

    def __init__(self, testapp: webtest.TestApp) -> None:
        self.app = testapp

    @staticmethod
    def url(path: str) -> str:
        return f"{BASE}/{path.lstrip('/')}"

    def get(self, path: str, status: int = 200, body: Any = None,
            **params: Any) -> webtest.TestResponse:
        if body is not None:
            return self.app.request(
                self.url(path), method="GET", status=status,
                body=json.dumps(body).encode(),
                content_type="application/json")
        return self.app.get(self.url(path), params=params, status=status)

    def post(self, path: str, body: Any, status: int = 201,
             **params: Any) -> webtest.TestResponse:
        url = self.url(path)
        if params:
            url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        return self.app.post_json(url, body, status=status)

    def put(self, path: str, body: Any,
            status: int = 302) -> webtest.TestResponse:
        return self.app.put_json(self.url(path), body, status=status)

    def delete(self, path: str, body: Any = None, status: int = 204,
               **params: Any) -> webtest.TestResponse:
        url = self.url(path)
        if params:
            url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        if body is None:
            return self.app.delete(url, status=status)
        return self.app.delete_json(url, body, status=status)

    # -- factories ---------------------------------------------------------

    def service(self, name: str = "instance") -> dict[str, Any]:
        return dict(self.post("services/", {"name": name}).json)

    def field(self, service_id: str, name: str = "flavor_name"
              ) -> dict[str, Any]:
        return dict(self.post("fields/", {"service_id": service_id,
                                          "name": name}).json)

    def group(self, name: str = "instance_uptime") -> dict[str, Any]:
        return dict(self.post("groups/", {"name": name}).json)

    def mapping(self, force: bool = False, **body: Any) -> dict[str, Any]:
        body.setdefault("cost", "1")
        params: dict[str, Any] = {"force": "true"} if force else {}
        return dict(self.post("mappings/", body, **params).json)

    def threshold(self, **body: Any) -> dict[str, Any]:
        body.setdefault("cost", "1")
        body.setdefault("level", "10")
        return dict(self.post("thresholds/", body).json)


@pytest.fixture
def hm(api_conf, db_url: str) -> Iterator[HashMapAPI]:
    """The deployed app (noauth) on a migrated, empty database."""
    conf = api_conf("noauth", database={"connection": db_url})
    migration.upgrade(db_api.get_engine(conf))
    yield HashMapAPI(webtest.TestApp(app.build_wsgi_app(conf)))
    db_api.dispose_engines()


# -- types --------------------------------------------------------------------

@pytest.mark.parametrize("path", ["types", "types/"])
def test_types_are_flat_and_rate(hm: HashMapAPI, path: str) -> None:
    assert sorted(hm.get(path).json) == ["flat", "rate"]


# -- services ----------------------------------------------------------------

def test_service_create_answers_201_with_location(hm: HashMapAPI) -> None:
    response = hm.post("services/", {"name": "instance"})
    service = response.json
    assert set(service) == {"service_id", "name"}
    assert service["name"] == "instance"
    assert response.headers["Location"] == (
        f"http://localhost{BASE}/services/{service['service_id']}")
    # Without the trailing slash, the Location is the same.
    other = hm.post("services", {"name": "volume"})
    assert other.headers["Location"].endswith(
        f"{BASE}/services/{other.json['service_id']}")


def test_service_list_and_get(hm: HashMapAPI) -> None:
    assert hm.get("services").json == {"services": []}
    first = hm.service("instance")
    second = hm.service("volume.size")
    assert hm.get("services/").json == {"services": [first, second]}
    for path in (f"services/{first['service_id']}",
                 f"services/{first['service_id']}/"):
        assert hm.get(path).json == first


def test_service_unknown_is_404(hm: HashMapAPI) -> None:
    response = hm.get("services/nope", status=404)
    assert response.json == fault("No such service: None (UUID: nope)")
    hm.delete("services/nope", status=404)


def test_service_duplicate_name_is_409(hm: HashMapAPI) -> None:
    existing = hm.service("instance")
    response = hm.post("services/", {"name": "instance"}, status=409)
    assert response.json == fault(
        f"Service instance already exists (UUID: "
        f"{existing['service_id']})")


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": None}, "name"),
    ({"name": "x" * 256}, "name"),
])
def test_service_create_bad_body_is_400_naming_the_field(
        hm: HashMapAPI, body: dict[str, Any], field: str) -> None:
    response = hm.post("services/", body, status=400)
    assert field in response.json["faultstring"]


def test_service_create_unknown_attribute_is_400(hm: HashMapAPI) -> None:
    response = hm.post("services/", {"name": "a", "colour": "red"},
                       status=400)
    assert "colour" in response.json["faultstring"]


@pytest.mark.parametrize("how", ["path", "body", "query"])
def test_service_delete_by_path_body_or_query(hm: HashMapAPI,
                                              how: str) -> None:
    service_id = hm.service()["service_id"]
    if how == "path":
        hm.delete(f"services/{service_id}")
    elif how == "body":
        hm.delete("services/", {"service_id": service_id})
    else:
        hm.delete("services/", service_id=service_id)
    hm.get(f"services/{service_id}", status=404)


def test_service_delete_cascades_to_fields_mappings_thresholds(
        hm: HashMapAPI) -> None:
    service_id = hm.service()["service_id"]
    other_id = hm.service("volume")["service_id"]
    field_id = hm.field(service_id)["field_id"]
    mappings = [hm.mapping(service_id=service_id)["mapping_id"],
                hm.mapping(field_id=field_id, value="a")["mapping_id"]]
    thresholds = [hm.threshold(service_id=service_id)["threshold_id"],
                  hm.threshold(field_id=field_id)["threshold_id"]]
    kept = hm.mapping(service_id=other_id)["mapping_id"]
    hm.delete(f"services/{service_id}")
    hm.get(f"fields/{field_id}", status=404)
    for mapping_id in mappings:
        hm.get(f"mappings/{mapping_id}", status=404)
    for threshold_id in thresholds:
        hm.get(f"thresholds/{threshold_id}", status=404)
    assert hm.get(f"mappings/{kept}").json["mapping_id"] == kept


# -- fields ------------------------------------------------------------------

def test_field_create_answers_201_with_location(hm: HashMapAPI) -> None:
    service_id = hm.service()["service_id"]
    response = hm.post("fields/", {"service_id": service_id,
                                   "name": "flavor_name"})
    field = response.json
    assert field == {"field_id": field["field_id"], "name": "flavor_name",
                     "service_id": service_id}
    assert response.headers["Location"].endswith(
        f"{BASE}/fields/{field['field_id']}")


def test_field_list_needs_service_id(hm: HashMapAPI) -> None:
    response = hm.get("fields/", status=400)
    assert response.json == fault('Missing argument: "service_id"')


def test_field_list_by_query_body_or_service_path(hm: HashMapAPI) -> None:
    service_id = hm.service()["service_id"]
    other = hm.service("volume")["service_id"]
    fields = [hm.field(service_id, "flavor_name"),
              hm.field(service_id, "flavor_id")]
    hm.field(other, "volume_type")
    expected = {"fields": fields}
    assert hm.get("fields/", service_id=service_id).json == expected
    assert hm.get("fields", body={"service_id": service_id}).json == \
        expected
    assert hm.get(f"services/{service_id}/fields").json == expected
    assert hm.get(f"services/{service_id}/fields/").json == expected


def test_field_list_of_unknown_service_is_empty(hm: HashMapAPI) -> None:
    assert hm.get("fields/", service_id="nope").json == {"fields": []}


def test_field_get_and_unknown(hm: HashMapAPI) -> None:
    field = hm.field(hm.service()["service_id"])
    assert hm.get(f"fields/{field['field_id']}").json == field
    assert hm.get("fields/nope", status=404).json == fault(
        "No such field: nope")


def test_field_duplicate_in_service_is_409(hm: HashMapAPI) -> None:
    service_id = hm.service()["service_id"]
    existing = hm.field(service_id, "flavor_name")
    response = hm.post("fields/", {"service_id": service_id,
                                   "name": "flavor_name"}, status=409)
    assert response.json == fault(
        f"Field flavor_name already exists (UUID: {existing['field_id']})")
    # The same name in another service is another field.
    hm.field(hm.service("volume")["service_id"], "flavor_name")


def test_field_of_unknown_service_is_400(hm: HashMapAPI) -> None:
    response = hm.post("fields/", {"service_id": "nope", "name": "a"},
                       status=400)
    assert response.json == fault("No such service: None (UUID: nope)")


@pytest.mark.parametrize("body", [{"name": "a"}, {"service_id": "x"}])
def test_field_create_missing_attribute_is_400(
        hm: HashMapAPI, body: dict[str, Any]) -> None:
    response = hm.post("fields/", body, status=400)
    assert "Mandatory field missing" in response.json["faultstring"]


def test_field_delete_by_body_cascades(hm: HashMapAPI) -> None:
    service_id = hm.service()["service_id"]
    field_id = hm.field(service_id)["field_id"]
    mapping_id = hm.mapping(field_id=field_id, value="a")["mapping_id"]
    threshold_id = hm.threshold(field_id=field_id)["threshold_id"]
    service_mapping = hm.mapping(service_id=service_id)["mapping_id"]
    hm.delete("fields/", {"field_id": field_id})
    hm.get(f"fields/{field_id}", status=404)
    hm.get(f"mappings/{mapping_id}", status=404)
    hm.get(f"thresholds/{threshold_id}", status=404)
    hm.get(f"mappings/{service_mapping}")
    hm.delete(f"fields/{field_id}", status=404)


# -- groups ------------------------------------------------------------------

def test_group_create_list_get(hm: HashMapAPI) -> None:
    response = hm.post("groups/", {"name": "instance_uptime"})
    group = response.json
    assert set(group) == {"group_id", "name"}
    assert response.headers["Location"].endswith(
        f"{BASE}/groups/{group['group_id']}")
    assert hm.get("groups").json == {"groups": [group]}
    assert hm.get(f"groups/{group['group_id']}/").json == group


def test_group_unknown_is_404(hm: HashMapAPI) -> None:
    assert hm.get("groups/nope", status=404).json == fault(
        "No such group: None (UUID: nope)")
    hm.delete("groups/", {"group_id": "nope"}, status=404)


def test_group_duplicate_is_409(hm: HashMapAPI) -> None:
    existing = hm.group("g")
    assert hm.post("groups/", {"name": "g"}, status=409).json == fault(
        f"Group g already exists (UUID: {existing['group_id']})")


def _grouped_rules(hm: HashMapAPI) -> tuple[str, list[str], list[str]]:
    service_id = hm.service()["service_id"]
    group_id = hm.group()["group_id"]
    mappings = [hm.mapping(service_id=service_id,
                           group_id=group_id)["mapping_id"]]
    field_id = hm.field(service_id)["field_id"]
    deleted = hm.mapping(field_id=field_id, value="b", group_id=group_id)
    hm.delete(f"mappings/{deleted['mapping_id']}")
    mappings.append(deleted["mapping_id"])
    thresholds = [hm.threshold(service_id=service_id,
                               group_id=group_id)["threshold_id"]]
    return group_id, mappings, thresholds


def test_group_delete_keeps_its_rules_without_group(hm: HashMapAPI) -> None:
    group_id, mappings, thresholds = _grouped_rules(hm)
    hm.delete(f"groups/{group_id}")
    hm.get(f"groups/{group_id}", status=404)
    for mapping_id in mappings:
        assert hm.get(f"mappings/{mapping_id}").json["group_id"] is None
    for threshold_id in thresholds:
        assert hm.get(f"thresholds/{threshold_id}").json["group_id"] is None


@pytest.mark.parametrize("how", ["body", "query"])
def test_group_delete_recursive_deletes_its_rules(hm: HashMapAPI,
                                                  how: str) -> None:
    group_id, mappings, thresholds = _grouped_rules(hm)
    if how == "body":
        hm.delete("groups/", {"group_id": group_id, "recursive": True})
    else:
        hm.delete(f"groups/{group_id}", recursive="true")
    for mapping_id in mappings:
        hm.get(f"mappings/{mapping_id}", status=404)
    for threshold_id in thresholds:
        hm.get(f"thresholds/{threshold_id}", status=404)


def test_group_mappings_and_thresholds(hm: HashMapAPI) -> None:
    group_id, mappings, thresholds = _grouped_rules(hm)
    hm.mapping(service_id=hm.service("other")["service_id"])
    for path in ("groups/mappings", "groups/mappings/"):
        listed = hm.get(path, group_id=group_id).json["mappings"]
        # Soft-deleted mappings are not part of the group's rules.
        assert [m["mapping_id"] for m in listed] == mappings[:1]
    listed = hm.get("groups/thresholds", group_id=group_id).json
    assert [t["threshold_id"] for t in listed["thresholds"]] == thresholds
    assert hm.get("groups/mappings", group_id="nope").json == \
        {"mappings": []}
    assert hm.get("groups/thresholds", body={"group_id": "nope"}).json == \
        {"thresholds": []}
    assert 'Missing argument: "group_id"' in \
        hm.get("groups/mappings", status=400).json["faultstring"]


def test_unknown_query_argument_is_400(hm: HashMapAPI) -> None:
    response = hm.get("groups", status=400, colour="red")
    assert response.json == fault('Unknown argument: "colour"')


@pytest.mark.parametrize("path", ["types", "services", "mappings/x",
                                  "thresholds/"])
def test_non_admin_is_refused(policy_app, path: str) -> None:
    testapp = policy_app()
    response = testapp.get(f"{BASE}/{path}", status=403,
                           headers={"X-Roles": "member",
                                    "X-Project-Id": "p1"})
    assert response.json["faultcode"] == "Client"
