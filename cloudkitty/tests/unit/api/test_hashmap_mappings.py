"""Hashmap configuration API: mappings (COMPAT.md §2.6)."""
from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from cloudkitty.tests.unit.api.test_hashmap_services import (  # noqa: F401
    BASE,
    HashMapAPI,
    fault,
    hm,
)

PAST = "2020-01-01T00:00:00"
FUTURE = "2099-01-01T00:00:00"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _iso(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


@pytest.fixture
def parents(hm: HashMapAPI) -> dict[str, str]:  # noqa: F811
    service_id = hm.service()["service_id"]
    return {"service_id": service_id,
            "field_id": hm.field(service_id)["field_id"],
            "group_id": hm.group()["group_id"]}


# -- create ------------------------------------------------------------------

def test_create_field_mapping(hm: HashMapAPI,  # noqa: F811
                              parents: dict[str, str]) -> None:
    before = _now().replace(microsecond=0)
    response = hm.post("mappings/", {"cost": "1.5", "value": "m1.small",
                                     "field_id": parents["field_id"]})
    mapping = response.json
    assert response.headers["Location"].endswith(
        f"{BASE}/mappings/{mapping['mapping_id']}")
    assert mapping["cost"] == "1.5000000000000000000000000000"
    assert mapping["type"] == "flat"
    assert mapping["value"] == "m1.small"
    assert mapping["field_id"] == parents["field_id"]
    assert mapping["service_id"] is None and mapping["group_id"] is None
    assert mapping["tenant_id"] is None
    assert re.fullmatch("[0-9a-f]{32}", mapping["name"])
    assert before <= _iso(mapping["start"]) <= _now()
    assert mapping["created_at"] == mapping["start"]
    assert mapping["end"] is None and mapping["deleted"] is None
    assert mapping["created_by"] == "unknown"
    assert mapping["updated_by"] is None and mapping["deleted_by"] is None
    assert hm.get(f"mappings/{mapping['mapping_id']}").json == mapping


def test_create_service_mapping_with_everything(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    mapping = hm.mapping(
        cost=0.1, type="rate", service_id=parents["service_id"],
        group_id=parents["group_id"], tenant_id="p1", name="my-rule",
        start="2099-01-01", end="2099-02-01", description="Tenant p1")
    assert mapping["cost"] == "0.1000000000000000000000000000"
    assert mapping["type"] == "rate"
    assert mapping["value"] is None
    assert mapping["group_id"] == parents["group_id"]
    assert mapping["tenant_id"] == "p1"
    assert mapping["name"] == "my-rule"
    assert mapping["start"] == "2099-01-01T00:00:00"
    # A bare-date end means the end of that day.
    assert mapping["end"] == "2099-02-01T23:59:59"
    assert mapping["description"] == "Tenant p1"


def test_create_times_with_offsets_are_stored_in_utc(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    mapping = hm.mapping(service_id=parents["service_id"],
                         start="2099-01-01T02:00:00+02:00",
                         end="2099-01-01T12:30:00Z")
    assert mapping["start"] == "2099-01-01T00:00:00"
    assert mapping["end"] == "2099-01-01T12:30:00"


def test_create_small_and_zero_costs_keep_28_places(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    zero = hm.mapping(cost="0", service_id=parents["service_id"])
    assert zero["cost"] == "0." + "0" * 28
    tiny = hm.mapping(cost="1E-9", field_id=parents["field_id"], value="a")
    assert tiny["cost"] == "0.000000001" + "0" * 19


def test_create_records_the_caller(hm: HashMapAPI,  # noqa: F811
                                   parents: dict[str, str]) -> None:
    response = hm.app.post_json(f"{BASE}/mappings/",
                                {"cost": "1",
                                 "service_id": parents["service_id"]},
                                headers={"X-User-Id": "alice"})
    assert response.json["created_by"] == "alice"


def test_create_start_in_the_past_needs_force(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    body = {"cost": "1", "service_id": parents["service_id"],
            "start": PAST}
    response = hm.post("mappings/", body, status=400)
    assert response.json["faultstring"].startswith(
        "Cannot create a rule with start in the past")
    assert hm.post("mappings/", body, force="true").json["start"] == PAST


def test_create_end_without_start_starts_now(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    mapping = hm.mapping(service_id=parents["service_id"], end=FUTURE)
    assert _iso(mapping["start"]) <= _now()
    assert mapping["end"] == FUTURE
    response = hm.post("mappings/", {"cost": "1", "end": PAST,
                                     "field_id": parents["field_id"],
                                     "value": "x"}, status=400)
    assert "end" in response.json["faultstring"]


@pytest.mark.parametrize(("body", "message"), [
    # WSME lists the choices in set order.
    ({"type": "free"}, "Invalid input for field/attribute type. Value: "
                       "'free'. Value should be one of: "),
    ({"cost": None}, "Invalid input for field/attribute cost. Value: "
                     "'None'. Mandatory field missing."),
    ({"cost": "cheap"}, "Invalid input for field/attribute cost. Value: "
                        "'cheap'. Expected a decimal number."),
    ({"cost": "1e20"}, "Invalid value for field 'cost': at most 12 digits "
                       "before the decimal point."),
    ({"start": "soon"}, "Invalid value for field 'start': 'soon' is not an "
                        "ISO 8601 date or date and time."),
    ({"start": "2099-01-02", "end": "2099-01-01T00:00:00"},
     "The end of a rule cannot be before its start (start: "
     "2099-01-02T00:00:00, end: 2099-01-01T00:00:00)."),
    ({"field_id": "F"}, "You can only specify one parent."),
    ({"service_id": None}, "You must specify one parent."),
    ({"value": "v"}, "You can't specify a value when using a service "
                     "mapping."),
    ({"service_id": None, "field_id": "F"},
     "You must specify a value for a field mapping."),
    ({"service_id": "nope"}, "No such service: None (UUID: nope)"),
    ({"service_id": None, "field_id": "nope", "value": "v"},
     "No such field: nope"),
    ({"group_id": "nope"}, "No such group: None (UUID: nope)"),
    ({"name": "n" * 33}, "Invalid value for field 'name': at most 32 "
                         "characters."),
    ({"tenant_id": "t" * 256}, "Invalid value for field 'tenant_id': at "
                               "most 255 characters."),
    ({"description": "d" * 16384}, "Invalid value for field 'description': "
                                   "at most 16383 characters."),
    ({"colour": "red"}, "Unknown attribute for argument mapping: colour"),
])
def test_create_invalid_is_400(hm: HashMapAPI,  # noqa: F811
                               parents: dict[str, str],
                               body: dict[str, Any], message: str) -> None:
    full = {"cost": "1", "service_id": parents["service_id"]}
    full.update({k: parents["field_id"] if v == "F" else v
                 for k, v in body.items()})
    response = hm.post("mappings/", full, status=400).json
    if message.endswith("one of: "):
        assert response["faultstring"] in (message + "flat, rate",
                                           message + "rate, flat")
    else:
        assert response == fault(message)


def test_create_checks_run_in_upstream_order(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    # The window is checked before the parents, the parents before
    # their existence.
    both = {"cost": "1", "service_id": parents["service_id"],
            "field_id": parents["field_id"], "start": PAST}
    assert hm.post("mappings/", both, status=400).json[
        "faultstring"].startswith("Cannot create a rule with start")
    unknown = {"cost": "1", "service_id": "nope", "value": "v"}
    assert hm.post("mappings/", unknown, status=400).json[
        "faultstring"].startswith("You can't specify a value")


def test_conflict_same_key_overlapping_window(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    field_id = parents["field_id"]
    hm.mapping(field_id=field_id, value="m1", tenant_id="p1")
    response = hm.post("mappings/", {"cost": "2", "field_id": field_id,
                                     "value": "m1", "tenant_id": "p1"},
                       status=409)
    assert response.json == fault(
        f"Mapping 'm1' already exists for field '{field_id}', "
        f"tenant: 'p1'")
    service_id = parents["service_id"]
    hm.mapping(service_id=service_id)
    response = hm.post("mappings/", {"cost": "2", "service_id": service_id,
                                     "start": FUTURE}, status=409)
    assert response.json == fault(
        f"Mapping 'None' already exists for service '{service_id}', "
        f"tenant: 'None'")


def test_conflict_same_name_whatever_the_key(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    hm.mapping(service_id=parents["service_id"], name="rule")
    hm.post("mappings/", {"cost": "1", "field_id": parents["field_id"],
                          "value": "x", "name": "rule"}, status=409)


def test_no_conflict_when_the_key_or_window_differs(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    field_id = parents["field_id"]
    hm.mapping(field_id=field_id, value="m1", end="2099-01-01T00:00:00")
    hm.mapping(field_id=field_id, value="m2")
    hm.mapping(field_id=field_id, value="m1", tenant_id="p1")
    hm.mapping(field_id=field_id, value="m1", group_id=parents["group_id"])
    # The next window starts where the first ends: no overlap.
    hm.mapping(field_id=field_id, value="m1", start="2099-01-01T00:00:00")
    # A deleted mapping does not count.
    deleted = hm.mapping(service_id=parents["service_id"])
    hm.delete(f"mappings/{deleted['mapping_id']}")
    hm.mapping(service_id=parents["service_id"])


def test_conflict_with_a_future_window(hm: HashMapAPI,  # noqa: F811
                                       parents: dict[str, str]) -> None:
    service_id = parents["service_id"]
    hm.mapping(service_id=service_id, start="2099-06-01", end="2099-07-01")
    hm.post("mappings/", {"cost": "1", "service_id": service_id,
                          "start": "2099-05-01"}, status=409)
    hm.post("mappings/", {"cost": "1", "service_id": service_id,
                          "start": "2099-05-01", "end": "2099-06-15"},
            status=409)
    hm.mapping(service_id=service_id, start="2099-05-01", end="2099-05-31")


# -- read --------------------------------------------------------------------

def test_get_unknown_is_404(hm: HashMapAPI) -> None:  # noqa: F811
    assert hm.get("mappings/nope", status=404).json == fault(
        "No such mapping: nope")


def test_mapping_group(hm: HashMapAPI,  # noqa: F811
                       parents: dict[str, str]) -> None:
    grouped = hm.mapping(service_id=parents["service_id"],
                         group_id=parents["group_id"])
    group = hm.get(f"groups/{parents['group_id']}").json
    for path in ("mappings/group", "mappings/group/"):
        assert hm.get(path, mapping_id=grouped["mapping_id"]).json == group
    alone = hm.mapping(field_id=parents["field_id"], value="v")
    assert hm.get("mappings/group", status=404,
                  mapping_id=alone["mapping_id"]).json == fault(
        f"Mapping has no group (UUID: {alone['mapping_id']})")
    assert hm.get("mappings/group", status=404, mapping_id="nope").json == \
        fault("No such mapping: nope")


@pytest.fixture
def listed(hm: HashMapAPI,  # noqa: F811
           parents: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A set of mappings covering every listing filter."""
    service_id, field_id = parents["service_id"], parents["field_id"]
    other = hm.service("volume")["service_id"]
    made = {
        "service": hm.mapping(service_id=service_id,
                              description="Instance Uptime"),
        "grouped": hm.mapping(field_id=field_id, value="a",
                              group_id=parents["group_id"]),
        "tenant": hm.mapping(field_id=field_id, value="b", tenant_id="p1"),
        "old": hm.mapping(force=True, field_id=field_id, value="c",
                          start="2020-01-01", end="2020-06-01"),
        "future": hm.mapping(field_id=field_id, value="d", start=FUTURE,
                             description="next YEAR"),
        "other": hm.mapping(service_id=other),
        "deleted": hm.mapping(field_id=field_id, value="e"),
    }
    hm.app.delete_json(f"{BASE}/mappings/",
                       {"mapping_id": made["deleted"]["mapping_id"]},
                       headers={"X-User-Id": "bob"})
    return made


def _names(hm: HashMapAPI, listed: dict[str, dict[str, Any]],  # noqa: F811
           **params: Any) -> set[str]:
    ids = {m["mapping_id"]: name for name, m in listed.items()}
    return {ids[m["mapping_id"]]
            for m in hm.get("mappings/", **params).json["mappings"]}


@pytest.mark.parametrize(("params", "expected"), [
    ({}, {"service", "grouped", "tenant", "old", "future", "other"}),
    ({"deleted": "true"}, {"service", "grouped", "tenant", "old", "future",
                           "other", "deleted"}),
    ({"service_id": "S"}, {"service"}),
    ({"field_id": "F"}, {"grouped", "tenant", "old", "future"}),
    ({"group_id": "G"}, {"grouped"}),
    ({"field_id": "F", "no_group": "true"}, {"tenant", "old", "future"}),
    ({"field_id": "F", "tenant_id": "p1"},
     {"grouped", "tenant", "old", "future"}),
    ({"field_id": "F", "tenant_id": "p1", "filter_tenant": "true"},
     {"tenant"}),
    ({"field_id": "F", "filter_tenant": "true"},
     {"grouped", "old", "future"}),
    ({"start": "2098-01-01"}, {"future"}),
    ({"end": "2021-01-01"}, {"old"}),
    ({"created_by": "unknown", "service_id": "S"}, {"service"}),
    ({"deleted_by": "bob", "deleted": "true"}, {"deleted"}),
    ({"updated_by": "nobody"}, set()),
    ({"description": "UPTIME"}, {"service"}),
    ({"description": "year"}, {"future"}),
    ({"is_active": "true"}, {"service", "grouped", "tenant", "other"}),
    ({"service_id": "nope"}, set()),
    ({"all": "false", "group_id": "G"}, {"grouped"}),
])
def test_list_filters(hm: HashMapAPI,  # noqa: F811
                      parents: dict[str, str],
                      listed: dict[str, dict[str, Any]],
                      params: dict[str, str], expected: set[str]) -> None:
    ids = {"S": parents["service_id"], "F": parents["field_id"],
           "G": parents["group_id"]}
    params = {k: ids.get(v, v) for k, v in params.items()}
    assert _names(hm, listed, **params) == expected


def test_list_filters_from_a_json_body(
        hm: HashMapAPI, parents: dict[str, str],  # noqa: F811
        listed: dict[str, dict[str, Any]]) -> None:
    response = hm.get("mappings", body={"group_id": parents["group_id"]})
    assert [m["mapping_id"] for m in response.json["mappings"]] == \
        [listed["grouped"]["mapping_id"]]


def test_list_without_parent_and_all_false_is_400(
        hm: HashMapAPI) -> None:  # noqa: F811
    response = hm.get("mappings/", status=400, all="false")
    assert response.json == fault(
        "You must specify either service_id, field_id or group_id.")


def test_list_bad_filter_value_is_400(hm: HashMapAPI) -> None:  # noqa: F811
    assert "start" in hm.get("mappings/", status=400,
                             start="yesterday").json["faultstring"]
    assert "deleted" in hm.get("mappings/", status=400,
                               deleted="maybe").json["faultstring"]


# -- update -------------------------------------------------------------------

def test_update_future_mapping(hm: HashMapAPI,  # noqa: F811
                               parents: dict[str, str]) -> None:
    mapping = hm.mapping(service_id=parents["service_id"], start=FUTURE)
    body = dict(mapping, cost="2.5", start="2098-01-01",
                end="2098-12-31", description="changed")
    response = hm.put("mappings/", body)
    assert response.body == b""
    assert response.headers["Location"] == f"http://localhost{BASE}/mappings/"
    stored = hm.get(f"mappings/{mapping['mapping_id']}").json
    assert stored == dict(mapping, cost="2.5" + "0" * 27,
                          start="2098-01-01T00:00:00",
                          end="2098-12-31T23:59:59",
                          description="changed", updated_by="unknown")


def test_update_id_from_path(hm: HashMapAPI,  # noqa: F811
                             parents: dict[str, str]) -> None:
    mapping = hm.mapping(service_id=parents["service_id"], start=FUTURE)
    path = f"mappings/{mapping['mapping_id']}"
    response = hm.put(path, {"cost": "3"})
    assert response.headers["Location"].endswith(f"{BASE}/{path}")
    assert hm.get(path).json["cost"].startswith("3.000")
    assert hm.put(path, dict(mapping, mapping_id="other"),
                  status=400).json["faultstring"].startswith(
        "'mapping_id' of the body (other) differs")
    assert hm.put("mappings/", {"cost": "3"}, status=400).json == fault(
        'Missing argument: "mapping_id"')
    assert hm.put("mappings/nope", {"cost": "3"}, status=404).json == \
        fault("No such mapping: nope")
    assert "Mandatory field missing" in hm.put(
        path, {"description": "x"}, status=400).json["faultstring"]


def test_update_future_mapping_key_cannot_change(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    mapping = hm.mapping(field_id=parents["field_id"], value="a",
                         start=FUTURE)
    for key, value in (("value", "b"), ("type", "rate"),
                       ("group_id", parents["group_id"]),
                       ("tenant_id", "p1")):
        response = hm.put("mappings/", dict(mapping, **{key: value}),
                          status=400)
        assert f"[{key}]" in response.json["faultstring"]


def test_update_future_mapping_window_checks(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    service_id = parents["service_id"]
    mapping = hm.mapping(service_id=service_id, start=FUTURE)
    hm.mapping(service_id=service_id, start="2098-01-01",
               end="2098-06-01")
    assert "start" in hm.put("mappings/", dict(mapping, start=PAST),
                             status=400).json["faultstring"]
    assert "end" in hm.put("mappings/", dict(mapping, end="2098-01-01"),
                           status=400).json["faultstring"]
    # Moving the window onto the other rule's is a conflict.
    hm.put("mappings/", dict(mapping, start="2098-03-01"), status=409)


def test_update_started_mapping_sets_end_once(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    mapping = hm.mapping(force=True, service_id=parents["service_id"],
                         start=PAST)
    # The client sends back the whole object: unchanged values are fine.
    hm.put("mappings/", dict(mapping, end="2099-12-31"))
    stored = hm.get(f"mappings/{mapping['mapping_id']}").json
    assert stored == dict(mapping, end="2099-12-31T23:59:59",
                          updated_by="unknown")
    response = hm.put("mappings/", dict(stored, end="2100-01-01"),
                      status=400)
    assert response.json == fault(
        "Cannot update a rule that was already processed and has a "
        "defined end date.")


def test_update_started_mapping_only_end(hm: HashMapAPI,  # noqa: F811
                                         parents: dict[str, str]) -> None:
    mapping = hm.mapping(force=True, field_id=parents["field_id"],
                         value="a", start=PAST)
    response = hm.put("mappings/", dict(mapping, cost="9", end=FUTURE),
                      status=400)
    assert response.json["faultstring"].startswith(
        "You are allowed to update only the attribute [end]")
    response = hm.put("mappings/", dict(mapping, end="2021-01-01"),
                      status=400)
    assert "end" in response.json["faultstring"]
    # Nothing changed.
    assert hm.get(f"mappings/{mapping['mapping_id']}").json == mapping


def test_update_without_type_keeps_it(hm: HashMapAPI,  # noqa: F811
                                      parents: dict[str, str]) -> None:
    mapping = hm.mapping(service_id=parents["service_id"], type="rate",
                         start=FUTURE)
    hm.put(f"mappings/{mapping['mapping_id']}", {"cost": "2"})
    stored = hm.get(f"mappings/{mapping['mapping_id']}").json
    assert stored["type"] == "rate" and stored["cost"].startswith("2.000")


def test_update_records_the_caller(hm: HashMapAPI,  # noqa: F811
                                   parents: dict[str, str]) -> None:
    mapping = hm.mapping(service_id=parents["service_id"], start=FUTURE)
    hm.app.put_json(f"{BASE}/mappings/{mapping['mapping_id']}",
                    {"cost": "2"}, headers={"X-User-Id": "carol"},
                    status=302)
    assert hm.get(f"mappings/{mapping['mapping_id']}").json[
        "updated_by"] == "carol"


def test_update_deleted_mapping_is_404(hm: HashMapAPI,  # noqa: F811
                                       parents: dict[str, str]) -> None:
    mapping = hm.mapping(service_id=parents["service_id"], start=FUTURE)
    hm.delete(f"mappings/{mapping['mapping_id']}")
    hm.put("mappings/", dict(mapping, cost="2"), status=404)


# -- delete -------------------------------------------------------------------

@pytest.mark.parametrize("how", ["path", "body", "query"])
def test_delete_is_soft(hm: HashMapAPI, parents: dict[str, str],  # noqa: F811
                        how: str) -> None:
    mapping = hm.mapping(service_id=parents["service_id"])
    mapping_id = mapping["mapping_id"]
    if how == "path":
        hm.delete(f"mappings/{mapping_id}/")
    elif how == "body":
        hm.delete("mappings/", {"mapping_id": mapping_id})
    else:
        hm.delete("mappings", mapping_id=mapping_id)
    stored = hm.get(f"mappings/{mapping_id}").json
    assert _iso(stored["deleted"]) <= _now()
    assert stored["deleted_by"] == "unknown"
    assert hm.get("mappings/").json == {"mappings": []}
    hm.delete(f"mappings/{mapping_id}", status=404)


def test_delete_unknown_is_404(hm: HashMapAPI) -> None:  # noqa: F811
    assert hm.delete("mappings/", {"mapping_id": "nope"},
                     status=404).json == fault("No such mapping: nope")
