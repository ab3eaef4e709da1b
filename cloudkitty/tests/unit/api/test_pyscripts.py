"""/v1/rating/module_config/pyscripts (COMPAT.md §2.7) on the real app."""
from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

import pytest
import webtest

from cloudkitty.api import app
from cloudkitty.db import api as db_api
from cloudkitty.tests import storage_factory as f

BASE = "/v1/rating/module_config/pyscripts"
SCRIPTS = f"{BASE}/scripts"
SOURCE = "for points in data['usage'].values():\n    pass\n"
FUTURE = "2099-01-01T00:00:00"


@pytest.fixture
def database(db_url: str):
    f.migrate(db_url)
    yield {"connection": db_url}
    db_api.dispose_engines()


@pytest.fixture
def api(api_conf, database) -> webtest.TestApp:
    """The deployed application (noauth) on a migrated database."""
    return webtest.TestApp(app.build_wsgi_app(
        api_conf("noauth", database=database)))


def create(api: webtest.TestApp, name: str = "policy",
           status: int = 201, query: str = "", **fields: Any
           ) -> webtest.TestResponse:
    body = {"name": name, "data": SOURCE, **fields}
    return api.post_json(f"{SCRIPTS}/{query}", body, status=status,
                         expect_errors=status >= 400)


def fault(response: webtest.TestResponse) -> str:
    assert response.json["faultcode"] == "Client"
    return response.json["faultstring"]


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class TestCreate:
    def test_created_with_location_and_computed_fields(self, api):
        before = now()
        response = create(api, description="desc")
        script = response.json
        assert response.headers["Location"] == (
            f"http://localhost{SCRIPTS}/{script['script_id']}")
        assert script["checksum"] == hashlib.sha512(
            SOURCE.encode()).hexdigest()
        assert (script["name"], script["data"], script["description"],
                script["end"], script["deleted"], script["created_by"],
                script["updated_by"], script["deleted_by"]) == (
            "policy", SOURCE, "desc", None, None, "unknown", None, None)
        start = datetime.datetime.fromisoformat(script["start"])
        assert before <= start <= now()
        assert script["created_at"] == script["start"]

    def test_location_without_trailing_slash(self, api):
        response = api.post_json(SCRIPTS, {"name": "p", "data": SOURCE},
                                 status=201)
        assert response.headers["Location"] == (
            f"http://localhost{SCRIPTS}/{response.json['script_id']}")

    def test_audit_user_comes_from_the_request(self, api):
        response = api.post_json(f"{SCRIPTS}/", {"name": "p"},
                                 headers={"X-User-Id": "u-42"}, status=201)
        assert response.json["created_by"] == "u-42"
        assert response.json["data"] == ""

    def test_non_ascii_source(self, api):
        source = "# prix réduit: 0,5 €\nlabel = '半額'\n"
        script = create(api, data=source).json
        assert script["checksum"] == hashlib.sha512(
            source.encode("utf-8")).hexdigest()
        again = api.get(f"{SCRIPTS}/{script['script_id']}").json
        assert again["data"] == source

    def test_bare_date_end_is_the_end_of_that_day(self, api):
        script = create(api, start=FUTURE, end="2099-02-03").json
        assert (script["start"], script["end"]) == (
            FUTURE, "2099-02-03T23:59:59")

    def test_offsets_are_converted_to_utc(self, api):
        script = create(api, start="2099-01-01T02:00:00+02:00").json
        assert script["start"] == FUTURE

    def test_start_in_the_past_needs_force(self, api):
        response = create(api, start="2020-01-01T00:00:00", status=400)
        assert "start in the past" in fault(response)
        script = create(api, start="2020-01-01T00:00:00",
                        query="?force=true").json
        assert script["start"] == "2020-01-01T00:00:00"

    def test_end_before_start(self, api):
        response = create(api, start=FUTURE, end="2098-01-01T00:00:00",
                          status=400)
        assert "end" in fault(response)

    def test_duplicate_name_conflicts(self, api):
        first = create(api, name="dup").json
        response = create(api, name="dup", status=409)
        assert fault(response) == (
            f"Script dup already exists (UUID: {first['script_id']})")

    @pytest.mark.parametrize("body,field", [
        ({"data": SOURCE}, "name"),
        ({"name": "", "data": SOURCE}, "name"),
        ({"name": "p", "data": "def f(:"}, "data"),
        ({"name": "p", "start": "tomorrow"}, "start"),
        ({"name": "p", "end": "2099-13-01"}, "end"),
        ({"name": "p", "checksum": "0" * 128}, "checksum"),
        ({"name": "p", "colour": "red"}, "colour"),
    ])
    def test_bad_input_is_a_400_naming_the_field(self, api, body, field):
        response = api.post_json(f"{SCRIPTS}/", body, status=400)
        assert field in fault(response)

    def test_bad_force_value(self, api):
        response = create(api, query="?force=perhaps", status=400)
        assert "force" in fault(response)


class TestRead:
    def test_get_one(self, api):
        created = create(api).json
        assert api.get(f"{SCRIPTS}/{created['script_id']}").json == created

    def test_unknown_script(self, api):
        response = api.get(f"{SCRIPTS}/nope", status=404)
        assert fault(response) == "No such script: None (UUID: nope)"

    def test_deleted_script_is_not_found(self, api):
        script_id = create(api).json["script_id"]
        api.delete(f"{SCRIPTS}/{script_id}", status=204)
        api.get(f"{SCRIPTS}/{script_id}", status=404)

    def test_list_and_no_data(self, api):
        a = create(api, name="a").json
        b = create(api, name="b").json
        assert api.get(f"{SCRIPTS}/").json == {"scripts": [a, b]}
        for value in ("true", "True", "1"):
            listed = api.get(f"{SCRIPTS}?no_data={value}").json["scripts"]
            assert [s["script_id"] for s in listed] == [a["script_id"],
                                                        b["script_id"]]
            assert all("data" not in s for s in listed)
        full = api.get(f"{SCRIPTS}?no_data=false").json["scripts"]
        assert all(s["data"] == SOURCE for s in full)

    def test_list_filters(self, api):
        live = create(api, name="live", description="Main RULES",
                      start="2020-01-01T00:00:00", query="?force=true",
                      ).json
        ended = create(api, name="ended", start="2020-01-01T00:00:00",
                       end="2020-06-01T00:00:00", query="?force=true").json
        future = api.post_json(
            f"{SCRIPTS}/", {"name": "future", "start": FUTURE},
            headers={"X-User-Id": "alice"}).json
        gone = create(api, name="gone").json
        api.delete(f"{SCRIPTS}/{gone['script_id']}",
                   headers={"X-User-Id": "bob"}, status=204)
        api.put_json(f"{SCRIPTS}/{future['script_id']}",
                     {"name": "future", "description": "later"},
                     headers={"X-User-Id": "carol"}, status=201)

        def names(query: str) -> list[str]:
            return [s["name"] for s in
                    api.get(f"{SCRIPTS}?{query}").json["scripts"]]

        assert names("") == ["live", "ended", "future"]
        assert names("deleted=true") == ["live", "ended", "future", "gone"]
        assert names("is_active=true") == ["live"]
        assert names("is_active=false") == ["ended", "future"]
        assert names("start=2021-01-01") == ["future"]
        assert names("end=2021-01-01T00:00:00Z") == ["ended"]
        assert names("created_by=alice") == ["future"]
        assert names("updated_by=carol") == ["future"]
        assert names("deleted=true&deleted_by=bob") == ["gone"]
        assert names("description=rules") == ["live"]
        assert {live["script_id"], ended["script_id"]} <= {
            s["script_id"] for s in api.get(SCRIPTS).json["scripts"]}

    @pytest.mark.parametrize("query,field", [
        ("deleted=maybe", "deleted"), ("is_active=2", "is_active"),
        ("start=soon", "start"), ("colour=red", "colour")])
    def test_bad_listing_arguments(self, api, query, field):
        response = api.get(f"{SCRIPTS}?{query}", status=400)
        assert field in fault(response)

    def test_arguments_in_a_json_body(self, api):
        create(api)
        response = api.request(f"{SCRIPTS}/", method="GET",
                               body=json.dumps({"no_data": True}).encode(),
                               content_type="application/json")
        assert "data" not in response.json["scripts"][0]

    def test_misspelled_collection_is_405(self, api):
        response = api.get(f"{BASE}/script", status=405)
        assert fault(response)


class TestUpdate:
    def test_before_start_everything_may_change(self, api):
        script = create(api, start=FUTURE).json
        new_source = "data = data\n"
        response = api.put_json(
            f"{SCRIPTS}/{script['script_id']}",
            {"name": "renamed", "data": new_source,
             "start": "2099-02-01T00:00:00", "end": "2099-03-01",
             "description": "d"},
            headers={"X-User-Id": "carol"}, status=201)
        updated = response.json
        assert response.headers["Location"] == (
            f"http://localhost{SCRIPTS}/{script['script_id']}")
        assert (updated["name"], updated["data"], updated["start"],
                updated["end"], updated["description"],
                updated["updated_by"]) == (
            "renamed", new_source, "2099-02-01T00:00:00",
            "2099-03-01T23:59:59", "d", "carol")
        assert updated["checksum"] == hashlib.sha512(
            new_source.encode()).hexdigest()
        assert api.get(f"{SCRIPTS}/{script['script_id']}").json == updated

    def test_the_client_round_trip_sets_an_end(self, api):
        # What `cloudkitty pyscript update ID --end ...` sends: the GET
        # result without its checksum, one attribute changed.
        script = create(api).json
        body = dict(script, end="2099-01-01T00:00:00")
        del body["checksum"]
        updated = api.put_json(f"{SCRIPTS}/{script['script_id']}", body,
                               status=201).json
        assert updated["end"] == "2099-01-01T00:00:00"
        assert updated["data"] == script["data"]

    def test_id_in_the_body_only(self, api):
        script = create(api, start=FUTURE).json
        response = api.put_json(
            f"{SCRIPTS}/", {"script_id": script["script_id"], "name": "x"},
            status=201)
        assert response.json["name"] == "x"
        assert response.headers["Location"] == (
            f"http://localhost{SCRIPTS}/{script['script_id']}")

    @pytest.mark.parametrize("change,field", [
        ({"data": "data = data\n"}, "data"), ({"name": "other"}, "name"),
        ({"end": "2020-01-01T00:00:00"}, "end")])
    def test_once_started_only_a_future_end(self, api, change, field):
        script = create(api).json
        response = api.put_json(f"{SCRIPTS}/{script['script_id']}",
                                {"name": script["name"], **change},
                                status=400)
        assert field in fault(response)

    def test_end_is_set_only_once(self, api):
        script = create(api).json
        url = f"{SCRIPTS}/{script['script_id']}"
        api.put_json(url, {"name": "policy", "end": FUTURE}, status=201)
        response = api.put_json(url, {"name": "policy",
                                      "end": "2099-06-01T00:00:00"},
                                status=400)
        assert "already processed" in fault(response)

    def test_rename_onto_a_live_name_conflicts(self, api):
        create(api, name="taken")
        script = create(api, name="mine", start=FUTURE).json
        api.put_json(f"{SCRIPTS}/{script['script_id']}", {"name": "taken"},
                     status=409)

    def test_unknown_or_missing_id(self, api):
        response = api.put_json(f"{SCRIPTS}/nope", {"name": "x"},
                                status=404)
        assert fault(response) == "No such script: None (UUID: nope)"
        response = api.put_json(f"{SCRIPTS}/", {"name": "x"}, status=400)
        assert "script_id" in fault(response)

    def test_checksum_is_read_only(self, api):
        script = create(api, start=FUTURE).json
        response = api.put_json(f"{SCRIPTS}/{script['script_id']}",
                                {"name": "p", "checksum": "0"}, status=400)
        assert "checksum" in fault(response)


class TestDelete:
    @pytest.mark.parametrize("how", ["path", "query", "body"])
    def test_soft_delete(self, api, how):
        script_id = create(api).json["script_id"]
        if how == "path":
            api.delete(f"{SCRIPTS}/{script_id}", status=204)
        elif how == "query":
            api.delete(f"{SCRIPTS}/?script_id={script_id}", status=204)
        else:
            api.delete(f"{SCRIPTS}/", json.dumps({"script_id": script_id}),
                       content_type="application/json", status=204)
        [deleted] = api.get(f"{SCRIPTS}?deleted=true").json["scripts"]
        assert deleted["script_id"] == script_id
        assert deleted["deleted"] is not None
        assert deleted["deleted_by"] == "unknown"
        api.delete(f"{SCRIPTS}/{script_id}", status=404)

    def test_unknown_script(self, api):
        response = api.delete(f"{SCRIPTS}/nope", status=404)
        assert fault(response) == "No such script: None (UUID: nope)"


class TestPolicy:
    """Scripts run as trusted code: only administrators reach them."""

    @pytest.fixture
    def keystone_api(self, api_conf, database, tmp_path):
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text("{}\n")
        conf = api_conf("keystone", database=database,
                        oslo_policy={"policy_file": policy_file})
        return webtest.TestApp(app.setup_app(conf))

    def test_member_is_refused_on_every_method(self, keystone_api):
        headers = {"X-Roles": "member", "X-Project-Id": "p1",
                   "X-User-Id": "u1"}
        keystone_api.get(f"{SCRIPTS}/", headers=headers, status=403)
        keystone_api.post_json(f"{SCRIPTS}/", {"name": "p"},
                               headers=headers, status=403)
        keystone_api.put_json(f"{SCRIPTS}/x", {"name": "p"},
                              headers=headers, status=403)
        keystone_api.delete(f"{SCRIPTS}/x", headers=headers, status=403)

    def test_admin_is_allowed_and_audited(self, keystone_api):
        headers = {"X-Roles": "admin", "X-Project-Id": "p1",
                   "X-User-Id": "admin-user"}
        script = keystone_api.post_json(f"{SCRIPTS}/", {"name": "p"},
                                        headers=headers, status=201).json
        assert script["created_by"] == "admin-user"
        keystone_api.get(f"{SCRIPTS}/", headers=headers, status=200)


class TestQuote:
    """The scripts price quotes once the module is enabled."""

    QUOTE = {"resources": [{"service": "instance", "volume": "3",
                            "desc": {"groupby": {"id": "vm-1"}}}]}

    def enable(self, api):
        api.put_json("/v1/rating/modules/pyscripts",
                     {"module_id": "pyscripts", "enabled": True},
                     status=302)

    def test_script_prices_a_quote(self, api):
        create(api, data=(
            "for point in data['usage']['instance']:\n"
            "    point['rating']['price'] = point['vol']['qty'] * 2\n"))
        self.enable(api)
        assert api.post_json("/v1/rating/quote", self.QUOTE).json == 6.0

    def test_failing_script_fails_the_quote_naming_it(self, api):
        script = create(api, name="broken", data="1 / 0\n").json
        self.enable(api)
        response = api.post_json("/v1/rating/quote", self.QUOTE,
                                 expect_errors=True)
        # The status is the quote endpoint's choice; the message must
        # name the script.
        assert response.status_int >= 400
        assert "'broken'" in response.json["faultstring"]
        assert script["script_id"] in response.json["faultstring"]
