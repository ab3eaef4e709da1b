"""/v2/scope (COMPAT.md §3.2, "Our policy where upstream is odd") and the
scope reset it runs (cloudkitty.processor.reset), on SQLite with file
locks under tmp_path."""
from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.api import app
from cloudkitty.api.v2 import scope as scope_api
from cloudkitty.db import api as db_api
from cloudkitty.processor import locks, reset
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.storage_factory import at, frame, point

ADMIN = {"X-Roles": "admin", "X-Project-Id": "p1", "X-User-Id": "u1"}
MEMBER = {"X-Roles": "member,reader", "X-Project-Id": "a",
          "X-User-Id": "u2"}

#: What the test configuration says (scope key, fetcher, collector).
KEYS = ("project_id", "source", "prometheus")


@pytest.fixture(name="make_api_conf")
def make_api_conf_fixture(api_conf, tmp_path: Path
                          ) -> Iterator[Callable[..., cfg.ConfigOpts]]:
    """``make_api_conf(auth_strategy, lock_dir, **sections)``: a migrated
    SQLite database, file locks under tmp_path, [collect] period 3600."""
    url = f"sqlite:///{tmp_path}/scope.sqlite"
    f.migrate(url)

    def _make(auth_strategy: str = "noauth", lock_dir: str = "locks",
              **sections: dict[str, Any]) -> cfg.ConfigOpts:
        merged: dict[str, dict[str, Any]] = {
            "database": {"connection": url},
            "fetcher": {"backend": KEYS[1]},
            "collect": {"scope_key": KEYS[0], "period": 3600},
            "orchestrator": {"coordination_url":
                             f"file://{tmp_path}/{lock_dir}"},
        }
        for section, options in sections.items():
            merged.setdefault(section, {}).update(options)
        return api_conf(auth_strategy, **merged)
    yield _make
    reset.stop_shared_coordinators()
    db_api.dispose_engines()


@pytest.fixture(name="conf")
def conf_fixture(make_api_conf) -> cfg.ConfigOpts:
    return make_api_conf()


@pytest.fixture
def client(conf) -> webtest.TestApp:
    return webtest.TestApp(app.build_wsgi_app(conf))


@pytest.fixture
def keystone(make_api_conf) -> webtest.TestApp:
    return webtest.TestApp(app.setup_app(make_api_conf("keystone")))


@pytest.fixture
def states(conf) -> StateManager:
    return StateManager(conf)


@pytest.fixture
def other_holder(conf) -> Iterator[locks.Coordinator]:
    """A second lock coordinator on the same backend, like another
    processor's."""
    with locks.Coordinator(conf, member_id="other-processor") as holder:
        yield holder


def lock_of(scope_id: str, keys: tuple[str, str, str] = KEYS) -> str:
    scope_key, fetcher, collector = keys
    return locks.scope_lock_name(scope_id, collector, fetcher, scope_key)


def iso(value: datetime.datetime) -> str:
    return value.isoformat()


def stored_periods(conf, scope_id: str) -> list[datetime.datetime]:
    """Period starts of the points stored for ``scope_id``."""
    result = get_storage(conf).retrieve(
        filters={KEYS[0]: scope_id}, paginate=False)
    return sorted(df.start for df in result["dataframes"])


def push_hours(conf, scope_id: str, hours: range) -> None:
    get_storage(conf).push(
        [frame(at(h), {"cpu": [point("1", "1", project_id=scope_id)]})
         for h in hours], scope_id)


class TestGet:
    def test_nothing_is_404(self, client) -> None:
        response = client.get("/v2/scope", status=404)
        assert response.json == {
            "message": "No resource found for provided filters."}

    def test_document(self, client, states) -> None:
        created = states.create_state("a", at(3))
        response = client.get("/v2/scope")
        assert response.json == {"results": [{
            "scope_id": "a",
            "scope_key": KEYS[0], "fetcher": KEYS[1], "collector": KEYS[2],
            "last_processed_timestamp": "2019-07-01T03:00:00+00:00",
            "state": "2019-07-01T03:00:00+00:00",
            "active": True,
            "scope_activation_toggle_date":
                iso(created.scope_activation_toggle_date)}]}

    def test_filters(self, client, states) -> None:
        states.create_state("a", at(1))
        states.create_state("b", at(1), fetcher="keystone")
        states.create_state("c", at(1), scope_key="tenant_id")
        states.create_state("d", at(1), collector="gnocchi", active=False)

        def ids(query: str) -> list[str]:
            return [r["scope_id"] for r in
                    client.get(f"/v2/scope?{query}").json["results"]]

        assert ids("") == ["a", "b", "c", "d"]
        assert ids("scope_id=a,c&scope_id=d") == ["a", "c", "d"]
        assert ids("fetcher=keystone") == ["b"]
        assert ids("scope_key=tenant_id") == ["c"]
        assert ids("collector=gnocchi,prometheus&scope_id=d,b") == [
            "b", "d"]
        assert ids("active=0") == ["d"]
        assert ids("active=1") == ["a", "b", "c"]
        assert ids("active=true&active=false") == ["a", "b", "c", "d"]
        assert ids("offset=1&limit=2") == ["b", "c"]
        client.get("/v2/scope?scope_id=zz", status=404)

    @pytest.mark.parametrize("query, field", [
        ("active=maybe", "active"), ("limit=0", "limit"),
        ("offset=-1", "offset"), ("colour=red", "colour"),
        ("scope_id=a%00", "scope_id")])
    def test_bad_query(self, client, query, field) -> None:
        message = client.get(f"/v2/scope?{query}",
                             status=400).json["message"]
        assert f"(path: '['{field}']')" in message or \
            f"parameter '{field}'" in message

    def test_pagination_beyond_64_bits(self, client, states) -> None:
        # Found by the fuzz run: the database driver overflowed (500).
        states.create_state("a", at(1))
        huge = 10 ** 20
        assert client.get(f"/v2/scope?limit={huge}").json["results"][0][
            "scope_id"] == "a"
        client.get(f"/v2/scope?offset={huge}", status=404)


class TestPost:
    def test_omitted_keys_take_the_configured_values(self, client,
                                                     states) -> None:
        response = client.post_json("/v2/scope", {
            "scope_id": "a",
            "last_processed_timestamp": "2019-07-01T05:00:00+02:00"})
        assert response.status_int == 200
        body = response.json
        assert (body["scope_id"], body["scope_key"], body["fetcher"],
                body["collector"], body["active"]) == ("a", *KEYS, True)
        # An offset is converted; the state is stored in UTC.
        assert body["last_processed_timestamp"] == \
            "2019-07-01T03:00:00+00:00"
        assert states.get_last_processed_timestamp("a") == at(3)
        assert client.get("/v2/scope?scope_id=a").json["results"] == [body]

    def test_given_keys_and_inactive(self, client, states) -> None:
        body = client.post_json("/v2/scope", {
            "scope_id": "a", "last_processed_timestamp": "2019-07-01T03:00",
            "scope_key": "tenant_id", "fetcher": "gnocchi",
            "collector": "gnocchi", "active": False}).json
        assert (body["scope_key"], body["fetcher"], body["collector"],
                body["active"]) == ("tenant_id", "gnocchi", "gnocchi",
                                    False)
        # Without an offset the time is UTC.
        assert body["last_processed_timestamp"] == \
            "2019-07-01T03:00:00+00:00"
        state = states.get_state("a", "tenant_id", "gnocchi", "gnocchi")
        assert state is not None and state.active is False

    def test_existing_scope_id_is_409(self, client, states) -> None:
        states.create_state("a", at(1), fetcher="keystone")
        response = client.post_json("/v2/scope", {
            "scope_id": "a", "last_processed_timestamp": iso(at(2))},
            status=409)
        assert "already existing scope_id" in response.json["message"]
        assert states.get_last_processed_timestamp(
            "a", fetcher="keystone") == at(1)

    @pytest.mark.parametrize("body, field", [
        ({"last_processed_timestamp": "2019-07-01T00:00:00"}, "scope_id"),
        ({"scope_id": "a"}, "last_processed_timestamp"),
        ({"scope_id": "", "last_processed_timestamp": "2019-07-01"},
         "scope_id"),
        ({"scope_id": "a", "last_processed_timestamp": "yesterday"},
         "last_processed_timestamp"),
        ({"scope_id": "a", "last_processed_timestamp": "2019-07-01",
          "fetcher": "f" * 41}, "fetcher"),
        ({"scope_id": "a", "last_processed_timestamp": "2019-07-01",
          "scope_key": None}, "scope_key"),
        ({"scope_id": "a", "last_processed_timestamp": "2019-07-01",
          "active": "perhaps"}, "active"),
        # Found by the fuzz run: read by their truth value before.
        ({"scope_id": "a", "last_processed_timestamp": "2019-07-01",
          "active": {}}, "active"),
        ({"scope_id": "a", "last_processed_timestamp": "2019-07-01",
          "active": None}, "active"),
        ({"scope_id": "a", "last_processed_timestamp": "2019-07-01",
          "state": "2019-07-01"}, "state"),
    ])
    def test_bad_body_is_400_naming_the_field(self, client, states, body,
                                              field) -> None:
        message = client.post_json("/v2/scope", body,
                                   status=400).json["message"]
        assert f"(path: '['{field}']')" in message
        assert states.list_states() == []


class TestPatch:
    def test_new_values(self, client, states) -> None:
        created = states.create_state("a", at(1))
        body = client.patch_json("/v2/scope", {
            "scope_id": "a", "fetcher": "keystone",
            "collector": "gnocchi"}).json
        assert (body["scope_id"], body["scope_key"], body["fetcher"],
                body["collector"], body["active"]) == (
            "a", KEYS[0], "keystone", "gnocchi", True)
        assert body["scope_activation_toggle_date"] == \
            iso(created.scope_activation_toggle_date)
        assert states.get_state("a") is None
        assert states.get_state("a", fetcher="keystone",
                                collector="gnocchi") is not None

    def test_active_toggle_stamps_the_date(self, client, states) -> None:
        created = states.create_state("a", at(1))
        body = client.patch_json("/v2/scope", {"scope_id": "a",
                                               "active": False}).json
        assert body["active"] is False
        toggled = datetime.datetime.fromisoformat(
            body["scope_activation_toggle_date"])
        assert toggled >= created.scope_activation_toggle_date
        assert states.is_active("a") is False
        # The client sends the string it was given.
        body = client.patch_json("/v2/scope", {"scope_id": "a",
                                               "active": "true"}).json
        assert body["active"] is True

    def test_unknown_scope_is_404(self, client) -> None:
        response = client.patch_json("/v2/scope", {"scope_id": "nope",
                                                   "active": False},
                                     status=404)
        assert "nope" in response.json["message"]

    def test_several_rows_is_404(self, client, states) -> None:
        states.create_state("a", at(1))
        states.set_last_processed_timestamp("a", at(1), fetcher="keystone")
        response = client.patch_json("/v2/scope", {"scope_id": "a",
                                                   "active": False},
                                     status=404)
        assert "Several scopes" in response.json["message"]
        assert [s.active for s in states.list_states()] == [True, True]

    @pytest.mark.parametrize("body, field", [
        ({"active": False}, "scope_id"),
        ({"scope_id": "a", "active": "maybe"}, "active"),
        ({"scope_id": "a", "active": [1]}, "active"),
        ({"scope_id": "a", "last_processed_timestamp": "2019-07-01"},
         "last_processed_timestamp"),
    ])
    def test_bad_body(self, client, states, body, field) -> None:
        states.create_state("a", at(1))
        message = client.patch_json("/v2/scope", body,
                                    status=400).json["message"]
        assert f"(path: '['{field}']')" in message


class TestPut:
    def test_reset_purges_from_the_timestamp_and_sets_the_state(
            self, client, conf, states) -> None:
        states.create_state("a", at(5))
        states.create_state("b", at(5))
        push_hours(conf, "a", range(6))
        push_hours(conf, "b", range(6))
        response = client.put_json("/v2/scope", {
            "scope_id": "a", "last_processed_timestamp": iso(at(2))})
        assert response.status_int == 202
        assert response.json == {}
        assert stored_periods(conf, "a") == [at(0), at(1)]
        assert states.get_last_processed_timestamp("a") == at(1)
        # Another scope is not touched.
        assert stored_periods(conf, "b") == [at(h) for h in range(6)]
        assert states.get_last_processed_timestamp("b") == at(5)

    def test_the_clients_state_spelling(self, client, conf,
                                        states) -> None:
        # What `cloudkitty scope state reset` sends.
        states.create_state("a", at(5))
        states.create_state("b", at(5))
        push_hours(conf, "a", range(6))
        client.put_json("/v2/scope", {
            "state": "2019-07-01T04:00:00+02:00", "scope_id": "a,b"},
            status=202)
        assert stored_periods(conf, "a") == [at(0), at(1)]
        assert states.get_last_processed_timestamp("a") == at(1)
        assert states.get_last_processed_timestamp("b") == at(1)

    def test_both_spellings_must_agree(self, client, states) -> None:
        states.create_state("a", at(5))
        client.put_json("/v2/scope", {
            "scope_id": "a", "state": iso(at(2)),
            "last_processed_timestamp": iso(at(2))}, status=202)
        response = client.put_json("/v2/scope", {
            "scope_id": "a", "state": iso(at(1)),
            "last_processed_timestamp": iso(at(3))}, status=400)
        assert "'state'" in response.json["message"]
        assert states.get_last_processed_timestamp("a") == at(1)

    def test_all_scopes_resets_the_active_ones(self, client,
                                               states) -> None:
        states.create_state("a", at(5))
        states.create_state("b", at(5))
        states.create_state("off", at(5), active=False)
        client.put_json("/v2/scope", {
            "all_scopes": True, "last_processed_timestamp": iso(at(1))},
            status=202)
        assert [(s.scope_id, s.last_processed_timestamp)
                for s in states.list_states()] == [
            ("a", at(0)), ("b", at(0)), ("off", at(5))]
        # A scope named explicitly is reset whether active or not.
        client.put_json("/v2/scope", {
            "scope_id": ["off"], "last_processed_timestamp": iso(at(1))},
            status=202)
        assert states.get_last_processed_timestamp("off") == at(0)

    def test_key_filters(self, client, states) -> None:
        states.create_state("a", at(5))
        states.set_last_processed_timestamp("a", at(5), fetcher="keystone")
        client.put_json("/v2/scope", {
            "scope_id": "a", "fetcher": "keystone",
            "last_processed_timestamp": iso(at(1))}, status=202)
        assert states.get_last_processed_timestamp("a") == at(5)
        assert states.get_last_processed_timestamp(
            "a", fetcher="keystone") == at(0)

    def test_no_matching_scope_is_404(self, client, states) -> None:
        states.create_state("a", at(5))
        response = client.put_json("/v2/scope", {
            "scope_id": "a", "collector": "gnocchi",
            "last_processed_timestamp": iso(at(1))}, status=404)
        assert response.json == {
            "message": "No resource found for provided filters."}

    @pytest.mark.parametrize("body, field, text", [
        ({"last_processed_timestamp": "2019-07-01T00:00:00"}, "scope_id",
         "Either all_scopes or a scope_id should be specified."),
        ({"all_scopes": False, "last_processed_timestamp": "2019-07-01"},
         "scope_id", "Either all_scopes or a scope_id should be "
                     "specified."),
        ({"all_scopes": True, "scope_id": "a",
          "last_processed_timestamp": "2019-07-01"}, "all_scopes",
         "Give either all_scopes or scope_id, not both."),
        ({"scope_id": "a"}, "last_processed_timestamp",
         "Variable 'last_processed_timestamp' cannot be empty/None."),
        ({"scope_id": "a", "state": None}, "last_processed_timestamp",
         "Variable 'last_processed_timestamp' cannot be empty/None."),
    ])
    def test_selection_errors(self, client, states, body, field,
                              text) -> None:
        states.create_state("a", at(5))
        response = client.put_json("/v2/scope", body, status=400)
        assert response.json == {"message": text}
        assert states.get_last_processed_timestamp("a") == at(5)

    @pytest.mark.parametrize("body, field", [
        ({"scope_id": "a", "state": "soon"}, "state"),
        ({"scope_id": "a", "state": "2019-07-01", "active": True},
         "active"),
        # Found by the fuzz run: [null, null] read as true before.
        ({"all_scopes": [None, None], "state": "2019-07-01"},
         "all_scopes"),
        ({"scope_id": [1], "state": "2019-07-01"}, "scope_id"),
    ])
    def test_bad_body(self, client, body, field) -> None:
        message = client.put_json("/v2/scope", body,
                                  status=400).json["message"]
        assert f"(path: '['{field}']')" in message

    def test_refused_while_a_processor_holds_the_scope(
            self, client, conf, states, other_holder, monkeypatch) -> None:
        monkeypatch.setattr(scope_api, "RESET_LOCK_TIMEOUT", 0.2)
        states.create_state("a", at(5))
        push_hours(conf, "a", range(6))
        with other_holder.lock(lock_of("a")):
            response = client.put_json("/v2/scope", {
                "scope_id": "a", "last_processed_timestamp": iso(at(2))},
                status=409)
        assert "Scope 'a' is being processed" in response.json["message"]
        assert stored_periods(conf, "a") == [at(h) for h in range(6)]
        assert states.get_last_processed_timestamp("a") == at(5)

    def test_waits_for_the_processor_to_release_the_scope(
            self, client, states, other_holder) -> None:
        states.create_state("a", at(5))
        answered: list[int] = []
        done = threading.Event()

        def request() -> None:
            answered.append(client.put_json("/v2/scope", {
                "scope_id": "a", "last_processed_timestamp": iso(at(2))},
                expect_errors=True).status_int)
            done.set()

        with other_holder.lock(lock_of("a")):
            thread = threading.Thread(target=request)
            thread.start()
            assert not done.wait(0.5)  # blocked behind the lock
            assert states.get_last_processed_timestamp("a") == at(5)
        thread.join(timeout=20)
        assert answered == [202]
        assert states.get_last_processed_timestamp("a") == at(1)


class TestPolicies:
    @pytest.mark.parametrize("method, body", [
        ("GET", None),
        ("PUT", {"scope_id": "a", "last_processed_timestamp": "2019-07-01"}),
        ("PATCH", {"scope_id": "a", "active": False}),
        ("POST", {"scope_id": "z", "last_processed_timestamp": "2019-07-01"}),
    ])
    def test_admin_only(self, keystone, states, method, body) -> None:
        states.create_state("a", at(5))
        kwargs: dict[str, Any] = {"headers": MEMBER, "expect_errors": True}
        if body is not None:
            kwargs["params"] = body
        send = {"GET": keystone.get, "PUT": keystone.put_json,
                "PATCH": keystone.patch_json, "POST": keystone.post_json}
        response = send[method]("/v2/scope", **kwargs)
        assert response.status_int == 403
        assert response.json == {
            "message": "You are not authorized to perform this action"}
        assert [(s.scope_id, s.last_processed_timestamp, s.active)
                for s in states.list_states()] == [("a", at(5), True)]
        kwargs["headers"] = ADMIN
        assert send[method]("/v2/scope", **kwargs).status_int in (200, 202)

    def test_owner_rule_sees_its_own_scope(self, make_api_conf, tmp_path,
                                           states) -> None:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text(
            '"scope:get_state": "project_id:%(project_id)s"\n')
        conf = make_api_conf("keystone",
                             oslo_policy={"policy_file": policy_file})
        keystone = webtest.TestApp(app.setup_app(conf))
        states.create_state("a", at(5))
        states.create_state("b", at(5))
        assert [r["scope_id"] for r in keystone.get(
            "/v2/scope?scope_id=a", headers=MEMBER).json["results"]] == ["a"]
        keystone.get("/v2/scope?scope_id=b", headers=MEMBER, status=403)
        keystone.get("/v2/scope", headers=MEMBER, status=403)


class TestResetScopes:
    """cloudkitty.processor.reset, as the processor's RPC endpoint calls
    it."""

    def test_all_or_nothing(self, conf, states, other_holder) -> None:
        states.create_state("a", at(5))
        states.create_state("b", at(5))
        push_hours(conf, "a", range(6))
        with other_holder.lock(lock_of("b")):
            with pytest.raises(exceptions.Conflict, match="Scope 'b'"):
                reset.reset_scopes(conf, [reset.ScopeRef("a"),
                                          reset.ScopeRef("b")],
                                   at(1), lock_timeout=0.2)
        assert stored_periods(conf, "a") == [at(h) for h in range(6)]
        assert states.get_last_processed_timestamp("a") == at(5)

    def test_refs_fill_the_configured_keys_and_repeat_once(
            self, conf, states) -> None:
        states.create_state("a", at(5))
        push_hours(conf, "a", range(6))
        with locks.Coordinator(conf) as coordinator:
            reset.reset_scopes(
                conf, [reset.ScopeRef("a"), reset.ScopeRef("a", *KEYS)],
                at(3).astimezone(datetime.timezone(
                    datetime.timedelta(hours=-5))),
                coordinator=coordinator, storage=get_storage(conf))
            # The locks were released.
            with coordinator.try_lock(lock_of("a")) as taken:
                assert taken
        assert stored_periods(conf, "a") == [at(0), at(1), at(2)]
        assert states.get_last_processed_timestamp("a") == at(2)
        assert len(states.list_states()) == 1

    def test_nothing_to_reset_needs_no_coordinator(self, conf) -> None:
        before = dict(reset._shared)
        reset.reset_scopes(conf, [], at(1))
        assert reset._shared == before

    def test_shared_coordinator_is_one_per_url(self, make_api_conf,
                                               conf) -> None:
        started: list[locks.Coordinator] = []
        barrier = threading.Barrier(4)

        def get() -> None:
            barrier.wait()
            started.append(reset.shared_coordinator(conf))

        threads = [threading.Thread(target=get) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({id(c) for c in started}) == 1
        other = make_api_conf(lock_dir="other-locks")
        assert reset.shared_coordinator(other) is not started[0]
        reset.stop_shared_coordinators()
        assert reset.shared_coordinator(conf) is not started[0]
