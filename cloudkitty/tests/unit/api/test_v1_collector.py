"""/v1/collector (COMPAT.md §2.3, §16 point 2) on the real app and a
migrated SQLite database; what is stored is read back with plain SQL from
the upstream tables (§4.7)."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
import webtest

from cloudkitty.db import api as db_api
from cloudkitty.tests.unit.api.test_v1_report import (  # noqa: F401
    ADMIN,
    client_fixture,
    conf_fixture,
    deployment_fixture,
    fault,
    keystone_fixture,
    reader,
)

MAPPINGS = "/v1/collector/mappings"
STATES = "/v1/collector/states"


def sql(conf, query: str) -> list[tuple[Any, ...]]:
    with db_api.get_engine(conf).connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(query))]


def mapping_rows(conf) -> list[tuple[Any, ...]]:
    return sql(conf, "SELECT service, collector FROM "
                     "service_to_collector_mappings ORDER BY service")


def state_rows(conf) -> list[tuple[Any, ...]]:
    return sql(conf, "SELECT name, state FROM modules_state "
                     "ORDER BY name")


class TestMappings:
    def test_create_from_the_body_as_the_client_does(self, client,
                                                     conf) -> None:
        response = client.post_json(MAPPINGS + "/", {
            "collector": "gnocchi", "service": "instance"})
        assert response.status_int == 200
        assert response.json == {"service": "instance",
                                 "collector": "gnocchi"}
        assert mapping_rows(conf) == [("instance", "gnocchi")]

    def test_create_from_the_path_and_the_query(self, client,
                                                conf) -> None:
        client.post(MAPPINGS + "/gnocchi/instance")
        client.post(MAPPINGS + "?collector=prometheus&service=volume")
        assert mapping_rows(conf) == [("instance", "gnocchi"),
                                      ("volume", "prometheus")]

    def test_create_again_replaces_the_collector(self, client,
                                                 conf) -> None:
        client.post_json(MAPPINGS, {"collector": "gnocchi",
                                    "service": "instance"})
        response = client.post_json(MAPPINGS, {"collector": "prometheus",
                                               "service": "instance"})
        assert response.json == {"service": "instance",
                                 "collector": "prometheus"}
        assert mapping_rows(conf) == [("instance", "prometheus")]

    def test_list_and_filter(self, client) -> None:
        for service, collector in (("volume", "gnocchi"),
                                   ("instance", "gnocchi"),
                                   ("image", "prometheus")):
            client.post_json(MAPPINGS, {"collector": collector,
                                        "service": service})
        assert client.get(MAPPINGS + "/").json == {"mappings": [
            {"service": "image", "collector": "prometheus"},
            {"service": "instance", "collector": "gnocchi"},
            {"service": "volume", "collector": "gnocchi"}]}
        assert client.get(MAPPINGS, params={
            "collector": "gnocchi"}).json == {"mappings": [
                {"service": "instance", "collector": "gnocchi"},
                {"service": "volume", "collector": "gnocchi"}]}
        assert client.get(MAPPINGS, params={
            "collector": "none"}).json == {"mappings": []}

    def test_get_one(self, client) -> None:
        client.post_json(MAPPINGS, {"collector": "gnocchi",
                                    "service": "instance"})
        assert client.get(MAPPINGS + "/instance").json == {
            "service": "instance", "collector": "gnocchi"}

    def test_get_unknown_is_a_404(self, client) -> None:
        response = client.get(MAPPINGS + "/nope", status=404)
        assert fault(response) == "No mapping for service: nope"

    def test_collector_filter_on_one_mapping_is_refused(self,
                                                        client) -> None:
        response = client.get(MAPPINGS + "/instance?collector=gnocchi",
                              status=400)
        assert fault(response) == 'Unknown argument: "collector"'

    def test_delete_from_the_body_as_the_client_does(self, client,
                                                     conf) -> None:
        client.post_json(MAPPINGS, {"collector": "gnocchi",
                                    "service": "instance"})
        response = client.delete_json(MAPPINGS + "/",
                                      {"service": "instance"})
        assert response.status_int == 204 and response.body == b""
        assert mapping_rows(conf) == []

    def test_delete_from_the_path(self, client, conf) -> None:
        client.post_json(MAPPINGS, {"collector": "gnocchi",
                                    "service": "instance"})
        client.delete(MAPPINGS + "/instance", status=204)
        assert mapping_rows(conf) == []

    def test_delete_unknown_is_a_404(self, client) -> None:
        response = client.delete(MAPPINGS + "/nope", status=404)
        assert fault(response) == "No mapping for service: nope"

    @pytest.mark.parametrize(("body", "field"), [
        ({"service": "instance"}, "collector"),
        ({"collector": "gnocchi"}, "service"),
        ({"collector": "", "service": "instance"}, "collector"),
        ({"collector": "gnocchi", "service": "x" * 256}, "service"),
        ({"collector": "gnocchi", "service": "a\x00"}, "service"),
        ({"collector": "gnocchi", "service": 5}, "service"),
        ({"collector": "gnocchi", "service": "i", "extra": 1}, "extra"),
    ])
    def test_bad_create_is_a_400_naming_the_field(self, client, conf,
                                                  body, field) -> None:
        response = client.post_json(MAPPINGS, body, status=400)
        assert field in fault(response)
        assert mapping_rows(conf) == []

    def test_delete_without_service_is_a_400(self, client) -> None:
        response = client.delete(MAPPINGS + "/", status=400)
        assert "service" in fault(response)

    def test_not_a_json_object_is_a_400(self, client) -> None:
        client.post(MAPPINGS, params=b"[]", status=400,
                    content_type="application/json")
        client.post(MAPPINGS, params=b"{", status=400,
                    content_type="application/json")


class TestStates:
    def test_unknown_collector_is_disabled(self, client, conf) -> None:
        assert client.get(STATES + "/?name=gnocchi").json == {
            "name": "gnocchi", "enabled": False}
        assert state_rows(conf) == []

    def test_enable_then_disable_as_the_client_does(self, client,
                                                    conf) -> None:
        response = client.put_json(STATES + "/", {"name": "gnocchi",
                                                  "enabled": True})
        assert response.json == {"name": "gnocchi", "enabled": True}
        assert state_rows(conf) == [("collector_gnocchi", True)]
        assert client.get(STATES + "/?name=gnocchi").json["enabled"] \
            is True
        client.put_json(STATES + "/", {"name": "gnocchi",
                                       "enabled": False})
        assert state_rows(conf) == [("collector_gnocchi", False)]
        assert client.get(STATES, params={"name": "gnocchi"}).json == {
            "name": "gnocchi", "enabled": False}

    @pytest.mark.parametrize("path", [
        STATES + "/gnocchi", "/v1/collector/gnocchi/states",
        STATES + "?name=gnocchi"])
    def test_name_from_the_path_or_the_query(self, client, conf,
                                             path) -> None:
        client.put_json(path, {"enabled": True})
        assert state_rows(conf) == [("collector_gnocchi", True)]
        assert client.get(path).json == {"name": "gnocchi",
                                         "enabled": True}

    def test_name_from_a_get_body(self, client) -> None:
        client.put_json(STATES, {"name": "prometheus", "enabled": True})
        response = client.request(STATES + "/", method="GET",
                                  body=b'{"name": "prometheus"}',
                                  content_type="application/json")
        assert response.json == {"name": "prometheus", "enabled": True}

    def test_collector_states_are_not_rating_modules(self, client) -> None:
        before = client.get("/v1/rating/modules").json
        client.put_json(STATES, {"name": "gnocchi", "enabled": True})
        assert client.get("/v1/rating/modules").json == before

    @pytest.mark.parametrize(("path", "body", "field"), [
        (STATES, {"name": "gnocchi"}, "enabled"),
        (STATES, {"name": "gnocchi", "enabled": "maybe"}, "enabled"),
        (STATES, {"name": "gnocchi", "enabled": None}, "enabled"),
        (STATES, {"enabled": True}, "name"),
        (STATES + "/a", {"name": "b", "enabled": True}, "name"),
        (STATES, {"name": "x" * 250, "enabled": True}, "name"),
        (STATES, {"name": "gnocchi", "enabled": True, "on": 1}, "on"),
    ])
    def test_bad_put_is_a_400_naming_the_field(self, client, conf, path,
                                               body, field) -> None:
        response = client.put_json(path, body, status=400)
        assert field in fault(response)
        assert state_rows(conf) == []

    def test_put_without_body_is_a_400(self, client) -> None:
        response = client.put(STATES + "/gnocchi", status=400)
        assert "enabled" in fault(response)

    def test_get_without_name_is_a_400(self, client) -> None:
        response = client.get(STATES + "/", status=400)
        assert "name" in fault(response)

    def test_nothing_at_a_collector_itself(self, client) -> None:
        client.get("/v1/collector/gnocchi", status=404)


class TestKeystone:
    REQUESTS = [
        ("GET", MAPPINGS, None),
        ("GET", MAPPINGS + "/instance", None),
        ("POST", MAPPINGS, {"collector": "gnocchi", "service": "i"}),
        ("DELETE", MAPPINGS, {"service": "i"}),
        ("GET", STATES + "?name=gnocchi", None),
        ("PUT", STATES, {"name": "gnocchi", "enabled": True}),
    ]

    @pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
    def test_only_admins(self, keystone, conf, method, path,
                         body) -> None:
        response = keystone.request(
            path, method=method, headers=reader("proj-a"),
            body=b"" if body is None else webtest.app.json.dumps(
                body).encode(),
            content_type="application/json", status=403)
        assert response.json["faultcode"] == "Client"
        assert mapping_rows(conf) == [] and state_rows(conf) == []

    def test_admin_manages_mappings_and_states(self, keystone,
                                               conf) -> None:
        keystone.post_json(MAPPINGS, {"collector": "gnocchi",
                                      "service": "i"}, headers=ADMIN)
        keystone.put_json(STATES, {"name": "gnocchi", "enabled": True},
                          headers=ADMIN)
        assert keystone.get(MAPPINGS, headers=ADMIN).json == {
            "mappings": [{"service": "i", "collector": "gnocchi"}]}
        keystone.delete_json(MAPPINGS, {"service": "i"}, headers=ADMIN)
        assert mapping_rows(conf) == []
        assert state_rows(conf) == [("collector_gnocchi", True)]
