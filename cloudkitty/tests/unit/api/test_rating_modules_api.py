"""/v1/rating/modules, its /v1/billing alias, /v2/rating/modules,
/v1/rating/reload_modules and the /v1/rating/module_config dispatcher
(COMPAT.md §2.5, §3.2)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pecan
import pytest
import webtest
from pecan import rest
from wsme import types as wtypes

from cloudkitty.api import app
from cloudkitty.api.v1.controllers import module_config
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.db import api as db_api
from cloudkitty.rating import RatingProcessor, modules
from cloudkitty.rating.noop import Noop
from cloudkitty.tests import storage_factory as f

ADMIN = {"X-Roles": "admin", "X-Project-Id": "p1", "X-User-Id": "u1"}
MEMBER = {"X-Roles": "member,reader", "X-Project-Id": "p1",
          "X-User-Id": "u2"}

#: The module the tests enable and prioritise.
MODULE = "fixed"


class Fixed(RatingProcessor):
    module_name = "fixed"
    description = "Prices every point 1."
    hot_config = True

    def reload_config(self, at: Any) -> None:
        pass

    def process(self, frame: Any) -> Any:
        return frame.map_points(lambda _t, p: p.replace(price=1))


class Other(Fixed):
    module_name = "other"
    description = "Another module."


#: The installed modules of these tests, whatever else is installed.
PROCESSORS: dict[str, type[RatingProcessor]] = {
    "fixed": Fixed, "noop": Noop, "other": Other}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modules, "installed_processors",
                        lambda namespace=modules.NAMESPACE: PROCESSORS)


@pytest.fixture
def db_conf(api_conf, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``db_conf(auth_strategy, **sections)``: api_conf on a migrated
    SQLite database."""
    url = f"sqlite:///{tmp_path}/rating.sqlite"
    f.migrate(url)

    def _make(auth_strategy: str = "noauth", **sections: Any) -> Any:
        return api_conf(auth_strategy, database={"connection": url},
                        **sections)
    yield _make
    db_api.dispose_engines()


@pytest.fixture
def client(db_conf, installed) -> webtest.TestApp:
    """The deployed application, noauth, on a migrated database."""
    return webtest.TestApp(app.build_wsgi_app(db_conf()))


@pytest.fixture
def keystone(db_conf, installed) -> webtest.TestApp:
    """The Pecan application with policies enforced; tests send the
    identity headers keystonemiddleware would set."""
    return webtest.TestApp(app.setup_app(db_conf("keystone")))


def fault(response: webtest.TestResponse) -> str:
    body = response.json
    assert body["faultcode"] == "Client"
    assert body["debuginfo"] is None
    return str(body["faultstring"])


def v1_module(client: webtest.TestApp, module_id: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/rating/modules/{module_id}").json)


def test_the_entry_points_are_listed(db_conf) -> None:
    client = webtest.TestApp(app.build_wsgi_app(db_conf()))
    for url in ("/v1/rating/modules", "/v2/rating/modules"):
        listed = [m["module_id"] for m in client.get(url).json["modules"]]
        assert listed == sorted(modules.installed_processors())
        assert "noop" in listed


class TestV1Modules:
    @pytest.mark.parametrize("prefix", ["/v1/rating", "/v1/billing"])
    def test_list_every_installed_module(self, client, prefix) -> None:
        body = client.get(f"{prefix}/modules").json
        assert body == {"modules": [
            {"module_id": "fixed", "description": "Prices every point 1.",
             "enabled": False, "hot-config": True, "priority": 1},
            {"module_id": "noop", "description": Noop.description,
             "enabled": True, "hot-config": False, "priority": 1},
            {"module_id": "other", "description": "Another module.",
             "enabled": False, "hot-config": True, "priority": 1},
        ]}

    @pytest.mark.parametrize("url", [
        "/v1/rating/modules/noop",
        "/v1/rating/modules/noop/",
        # What the official client sends: the id in the query too.
        "/v1/rating/modules/noop?module_id=noop",
        "/v1/billing/modules/noop",
    ])
    def test_get_one(self, client, url) -> None:
        body = client.get(url).json
        assert body["module_id"] == "noop"
        assert body["hot-config"] is False

    def test_get_unknown(self, client) -> None:
        response = client.get("/v1/rating/modules/nope", status=404)
        assert fault(response) == "Module not found."

    @pytest.mark.parametrize("prefix", ["/v1/rating", "/v1/billing"])
    def test_put_answers_302_to_the_module_with_null(self, client,
                                                     prefix) -> None:
        module = v1_module(client, MODULE)
        module.update(enabled=True, priority=4)
        url = f"{prefix}/modules/{MODULE}"
        response = client.put_json(url, module, status=302)
        assert response.headers["Location"] == f"http://localhost{url}"
        assert response.body == b"null"
        after = v1_module(client, MODULE)
        assert (after["enabled"], after["priority"]) == (True, 4)

    def test_put_changes_only_what_is_given(self, client) -> None:
        client.put_json(f"/v1/rating/modules/{MODULE}",
                        {"module_id": MODULE, "priority": 6}, status=302)
        client.put_json(f"/v1/rating/modules/{MODULE}",
                        {"module_id": MODULE, "enabled": True}, status=302)
        after = v1_module(client, MODULE)
        assert (after["enabled"], after["priority"]) == (True, 6)

    def test_put_with_the_id_only_in_the_body(self, client) -> None:
        client.put_json("/v1/rating/modules/",
                        {"module_id": MODULE, "enabled": True}, status=302)
        assert v1_module(client, MODULE)["enabled"] is True

    def test_put_requires_module_id(self, client) -> None:
        response = client.put_json(f"/v1/rating/modules/{MODULE}",
                                   {"enabled": True}, status=400)
        assert "module_id" in fault(response)

    def test_put_refuses_another_module_id(self, client) -> None:
        response = client.put_json(
            f"/v1/rating/modules/{MODULE}",
            {"module_id": "noop", "enabled": True}, status=400)
        assert "module_id" in fault(response)

    def test_put_refuses_unknown_attributes(self, client) -> None:
        response = client.put_json(
            f"/v1/rating/modules/{MODULE}",
            {"module_id": MODULE, "colour": "red"}, status=400)
        assert fault(response) == \
            "Unknown attribute for argument module: colour"

    @pytest.mark.parametrize("priority", [0, -2])
    def test_put_refuses_priorities_below_one(self, client,
                                              priority) -> None:
        response = client.put_json(
            f"/v1/rating/modules/{MODULE}",
            {"module_id": MODULE, "priority": priority}, status=400)
        assert "'priority'" in fault(response)
        assert v1_module(client, MODULE)["priority"] == 1

    def test_put_unknown_module(self, client) -> None:
        response = client.put_json("/v1/rating/modules/nope",
                                   {"module_id": "nope", "enabled": True},
                                   status=404)
        assert fault(response) == "Module not found."

    def test_noop_cannot_be_disabled(self, client) -> None:
        response = client.put_json("/v1/rating/modules/noop",
                                   {"module_id": "noop", "enabled": False},
                                   status=409)
        assert "cannot be disabled" in fault(response)
        assert v1_module(client, "noop")["enabled"] is True

    def test_noop_priority_cannot_change(self, client) -> None:
        response = client.put_json("/v1/rating/modules/noop",
                                   {"module_id": "noop", "priority": 3},
                                   status=409)
        assert "priority" in fault(response)

    def test_noop_put_of_what_was_read_is_accepted(self, client) -> None:
        client.put_json("/v1/rating/modules/noop",
                        v1_module(client, "noop"), status=302)

    @pytest.mark.parametrize("prefix", ["/v1/rating", "/v1/billing"])
    def test_reload_modules(self, client, prefix) -> None:
        response = client.get(f"{prefix}/reload_modules", status=204)
        assert response.body == b""
        client.get(f"{prefix}/reload_modules/", status=204)


class TestV2Modules:
    def test_list(self, client) -> None:
        client.put_json("/v2/rating/modules/other",
                        {"enabled": True, "priority": 3}, status=204)
        assert client.get("/v2/rating/modules").json == {"modules": [
            {"module_id": "fixed", "description": "Prices every point 1.",
             "enabled": False, "hot_config": True, "priority": 1},
            {"module_id": "noop", "description": Noop.description,
             "enabled": True, "hot_config": False, "priority": 1},
            {"module_id": "other", "description": "Another module.",
             "enabled": True, "hot_config": True, "priority": 3},
        ]}

    def test_get_one(self, client) -> None:
        body = client.get(f"/v2/rating/modules/{MODULE}").json
        assert body["module_id"] == MODULE
        assert (body["enabled"], body["priority"]) == (False, 1)
        assert "hot_config" in body

    def test_get_unknown(self, client) -> None:
        response = client.get("/v2/rating/modules/nope", status=404)
        assert response.json == {"message": "Module 'nope' not found"}

    def test_put_answers_204(self, client) -> None:
        url = f"/v2/rating/modules/{MODULE}"
        response = client.put_json(url, {"enabled": True}, status=204)
        assert response.body == b""
        client.put_json(url, {"priority": 8}, status=204)
        body = client.get(url).json
        assert (body["enabled"], body["priority"]) == (True, 8)
        client.put_json(url, {"enabled": False, "priority": 2}, status=204)
        body = client.get(url).json
        assert (body["enabled"], body["priority"]) == (False, 2)
        client.put_json(url, {}, status=204)
        assert client.get(url).json == body

    def test_v1_and_v2_share_the_state(self, client) -> None:
        client.put_json(f"/v2/rating/modules/{MODULE}",
                        {"enabled": True, "priority": 5}, status=204)
        module = v1_module(client, MODULE)
        assert (module["enabled"], module["priority"]) == (True, 5)

    @pytest.mark.parametrize("body", [
        {"priority": 0}, {"priority": -1}, {"priority": True},
        {"priority": "2"}, {"priority": 1.5}, {"priority": 2**31},
    ])
    def test_put_refuses_bad_priorities(self, client, body) -> None:
        response = client.put_json(f"/v2/rating/modules/{MODULE}", body,
                                   status=400)
        assert "priority" in response.json["message"]
        assert client.get(f"/v2/rating/modules/{MODULE}").json[
            "priority"] == 1

    @pytest.mark.parametrize("body", [{"enabled": "yes"}, {"enabled": 1},
                                      {"colour": "red"}])
    def test_put_refuses_other_bad_bodies(self, client, body) -> None:
        response = client.put_json(f"/v2/rating/modules/{MODULE}", body,
                                   status=400)
        assert next(iter(body)) in response.json["message"]

    def test_put_unknown_module(self, client) -> None:
        response = client.put_json("/v2/rating/modules/nope",
                                   {"enabled": True}, status=404)
        assert response.json == {"message": "Module 'nope' not found"}

    def test_noop_cannot_be_disabled(self, client) -> None:
        response = client.put_json("/v2/rating/modules/noop",
                                   {"enabled": False}, status=409)
        assert "cannot be disabled" in response.json["message"]


def test_v2_put_without_a_module_id_is_405(client) -> None:
    # Found by the fuzz run: the controller was called without its id.
    response = client.put_json("/v2/rating/modules", {"enabled": True},
                               status=405)
    assert response.headers["Allow"] == "GET"
    assert response.json == {
        "message": "The method PUT is not allowed for this resource."}


class TestPolicies:
    @pytest.mark.parametrize("method, url, body", [
        ("GET", "/v1/rating/modules", None),
        ("GET", "/v1/rating/modules/noop", None),
        ("PUT", f"/v1/rating/modules/{MODULE}",
         {"module_id": MODULE, "enabled": True}),
        ("GET", "/v1/billing/modules", None),
        ("GET", "/v1/rating/reload_modules", None),
        ("GET", "/v2/rating/modules", None),
        ("GET", "/v2/rating/modules/noop", None),
        ("PUT", f"/v2/rating/modules/{MODULE}", {"enabled": True}),
    ])
    def test_admin_only(self, keystone, method, url, body) -> None:
        kwargs: dict[str, Any] = {"headers": MEMBER, "expect_errors": True}
        if body is not None:
            kwargs["body"] = json.dumps(body).encode()
            kwargs["content_type"] = "application/json"
        response = keystone.request(url, method=method, **kwargs)
        assert response.status_int == 403
        kwargs["headers"] = ADMIN
        response = keystone.request(url, method=method, **kwargs)
        assert response.status_int in (200, 204, 302)

    def test_v1_denial_names_the_rule(self, keystone) -> None:
        response = keystone.get("/v1/rating/modules", headers=MEMBER,
                                status=403)
        assert fault(response) == \
            "Policy doesn't allow rating:list_modules to be performed."

    def test_v2_list_is_enforced(self, keystone) -> None:
        response = keystone.get("/v2/rating/modules", headers=MEMBER,
                                status=403)
        assert response.json == {
            "message": "You are not authorized to perform this action"}

    def test_denied_update_changes_nothing(self, keystone) -> None:
        keystone.put_json(f"/v2/rating/modules/{MODULE}", {"enabled": True},
                          headers=MEMBER, status=403)
        assert keystone.get(f"/v2/rating/modules/{MODULE}",
                            headers=ADMIN).json["enabled"] is False


# -- /v1/rating/module_config -------------------------------------------

CALLS: list[tuple[str, Any]] = []


class EchoThing(wtypes.Base):
    name = wtypes.text


class EchoChildController(rest.RestController):
    @wsexpose(wtypes.text, wtypes.text)
    def get_one(self, child_id: str) -> str:
        CALLS.append(("child", child_id))
        return child_id


class EchoConfigController(rest.RestController):
    """A module configuration API, as hashmap's and pyscripts' are."""

    children = EchoChildController()
    _custom_actions = {"types": ["GET"]}

    @wsexpose([wtypes.text], wtypes.text)
    def get_all(self, kind: str = "") -> list[str]:
        CALLS.append(("get_all", kind))
        return ["a", kind]

    @wsexpose(wtypes.text, wtypes.text)
    def get_one(self, thing_id: str) -> str:
        CALLS.append(("get_one", thing_id))
        return thing_id

    @wsexpose(EchoThing, body=EchoThing, status_code=201)
    def post(self, thing: EchoThing) -> EchoThing:
        CALLS.append(("post", thing.name))
        return thing

    @wsexpose(None, wtypes.text, status_code=204)
    def delete(self, thing_id: str) -> None:
        CALLS.append(("delete", thing_id))

    @wsexpose([wtypes.text])
    def types(self) -> list[str]:
        CALLS.append(("types", None))
        return ["flat", "rate"]


class GenericConfigController:
    """A configuration API written with Pecan generic controllers."""

    @pecan.expose(generic=True, content_type="application/json")
    def index(self) -> None:
        pecan.abort(405)

    @index.when(method="GET", template="json")
    def index_get(self) -> dict[str, str]:
        CALLS.append(("generic", None))
        return {"generic": "yes"}


@pytest.fixture
def configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    """noop gets the echo configuration API, other the generic one."""
    CALLS.clear()
    here = __name__
    monkeypatch.setitem(module_config.CONFIG_CONTROLLERS, "noop",
                        f"{here}:EchoConfigController")
    monkeypatch.setitem(module_config.CONFIG_CONTROLLERS, "other",
                        f"{here}:GenericConfigController")


class TestModuleConfig:
    @pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
    @pytest.mark.parametrize("path", ["noop", "noop/", "noop/anything/x"])
    def test_module_without_configuration_is_409(self, client, method,
                                                  path) -> None:
        response = client.request(f"/v1/rating/module_config/{path}",
                                  method=method, expect_errors=True)
        assert response.status_int == 409
        assert fault(response) == "Module is not configurable"

    @pytest.mark.parametrize("prefix", ["/v1/rating", "/v1/billing"])
    def test_unknown_module_is_404(self, client, prefix) -> None:
        response = client.get(f"{prefix}/module_config/nope/things",
                              status=404)
        assert fault(response) == "Module 'nope' not found"
        client.get(f"{prefix}/module_config/", status=404)

    @pytest.mark.usefixtures("configurable")
    def test_dispatch_keeps_argument_binding(self, client) -> None:
        base = "/v1/rating/module_config/noop"
        assert client.get(f"{base}/").json == ["a", ""]
        assert client.get(f"{base}/?kind=q").json == ["a", "q"]
        assert client.get(f"{base}/x1").json == "x1"
        assert client.get(f"{base}/types").json == ["flat", "rate"]
        assert client.get(f"{base}/children/c1").json == "c1"
        response = client.post_json(f"{base}/", {"name": "n"}, status=201)
        assert response.json == {"name": "n"}
        # An id given only in the JSON body, as the official client does.
        client.delete_json(f"{base}/", {"thing_id": "d1"}, status=204)
        assert CALLS == [("get_all", ""), ("get_all", "q"),
                         ("get_one", "x1"), ("types", None),
                         ("child", "c1"), ("post", "n"),
                         ("delete", "d1")]

    @pytest.mark.usefixtures("configurable")
    def test_dispatch_to_generic_controllers(self, client) -> None:
        body = client.get("/v1/billing/module_config/other/").json
        assert body == {"generic": "yes"}
        body = client.get("/v1/billing/module_config/other").json
        assert body == {"generic": "yes"}
        assert CALLS == [("generic", None), ("generic", None)]

    @pytest.mark.usefixtures("configurable")
    def test_routing_errors_of_the_module_come_through(self,
                                                       client) -> None:
        response = client.request("/v1/rating/module_config/noop/x1",
                                  method="PATCH", expect_errors=True)
        assert response.status_int == 405
        assert response.json["faultcode"] == "Client"

    @pytest.mark.usefixtures("configurable")
    @pytest.mark.parametrize("method, path", [
        ("GET", "noop/"), ("GET", "noop/x1"), ("GET", "noop/types"),
        ("GET", "noop/children/c1"), ("POST", "noop/"),
        ("DELETE", "noop/x1"), ("PATCH", "noop/x1"),
        ("GET", "other/"), ("GET", "other"), ("GET", "nope/x"),
        ("GET", "fixed/x"),
        ("PUT", ""),
    ])
    def test_policy_is_checked_before_anything_else(
            self, keystone, method, path) -> None:
        response = keystone.request(
            f"/v1/rating/module_config/{path}", method=method,
            headers=MEMBER, expect_errors=True)
        assert response.status_int == 403
        assert fault(response) == \
            "Policy doesn't allow rating:module_config to be performed."
        assert CALLS == []

    @pytest.mark.usefixtures("configurable")
    def test_admins_reach_the_module(self, keystone) -> None:
        keystone.get("/v1/rating/module_config/noop/x1", headers=ADMIN)
        assert CALLS == [("get_one", "x1")]

    def test_policy_before_409(self, keystone) -> None:
        keystone.get("/v1/rating/module_config/fixed/",
                     headers=MEMBER, status=403)
        keystone.get("/v1/rating/module_config/fixed/",
                     headers=ADMIN, status=409)

    @pytest.mark.usefixtures("installed")
    def test_policy_override(self, db_conf, tmp_path) -> None:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text('"rating:module_config": ""\n')
        conf = db_conf("keystone", oslo_policy={"policy_file": policy_file})
        keystone = webtest.TestApp(app.setup_app(conf))
        keystone.get("/v1/rating/reload_modules", headers=MEMBER,
                     status=204)
        keystone.get("/v1/rating/module_config/noop", headers=MEMBER,
                     status=409)
