"""Hashmap configuration API: thresholds (COMPAT.md §2.6)."""
from __future__ import annotations

from typing import Any

import pytest

from cloudkitty.tests.unit.api.test_hashmap_services import (  # noqa: F401
    BASE,
    HashMapAPI,
    fault,
    hm,
)


@pytest.fixture
def parents(hm: HashMapAPI) -> dict[str, str]:  # noqa: F811
    service_id = hm.service()["service_id"]
    return {"service_id": service_id,
            "field_id": hm.field(service_id)["field_id"],
            "group_id": hm.group()["group_id"]}


def test_create_service_threshold(hm: HashMapAPI,  # noqa: F811
                                  parents: dict[str, str]) -> None:
    response = hm.post("thresholds/", {"level": "2", "cost": "0.5",
                                       "service_id": parents["service_id"]})
    threshold = response.json
    assert response.headers["Location"].endswith(
        f"{BASE}/thresholds/{threshold['threshold_id']}")
    assert threshold == {
        "threshold_id": threshold["threshold_id"], "level": "2.00000000",
        "type": "flat", "cost": "0.5" + "0" * 27,
        "service_id": parents["service_id"], "field_id": None,
        "group_id": None, "tenant_id": None}
    assert hm.get(f"thresholds/{threshold['threshold_id']}/").json == \
        threshold


def test_create_field_threshold_with_everything(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    threshold = hm.threshold(level=1.5, cost=3, type="rate",
                             field_id=parents["field_id"],
                             group_id=parents["group_id"], tenant_id="p1")
    assert threshold["level"] == "1.50000000"
    assert threshold["cost"] == "3." + "0" * 28
    assert threshold["type"] == "rate"
    assert threshold["field_id"] == parents["field_id"]
    assert threshold["service_id"] is None
    assert threshold["group_id"] == parents["group_id"]
    assert threshold["tenant_id"] == "p1"


@pytest.mark.parametrize(("body", "message"), [
    ({"field_id": "F"}, "You can only specify one parent."),
    ({"service_id": None}, "You must specify one parent."),
    ({"service_id": "nope"}, "No such service: None (UUID: nope)"),
    ({"service_id": None, "field_id": "nope"}, "No such field: nope"),
    ({"group_id": "nope"}, "No such group: None (UUID: nope)"),
    ({"level": None}, "Invalid input for field/attribute level. Value: "
                      "'None'. Mandatory field missing."),
    ({"level": "high"}, "Invalid input for field/attribute level. Value: "
                        "'high'. Expected a decimal number."),
    ({"level": "1e13"}, "Invalid value for field 'level': at most 12 "
                        "digits before the decimal point."),
    ({"cost": None}, "Invalid input for field/attribute cost. Value: "
                     "'None'. Mandatory field missing."),
    ({"cost": "NaN"}, "Invalid input for field/attribute cost. Value: "
                      "'NaN'. Expected a finite number."),
    ({"cost": True}, "Invalid input for field/attribute cost. Value: "
                     "'True'. Expected a decimal number."),
])
def test_create_invalid_is_400(hm: HashMapAPI,  # noqa: F811
                               parents: dict[str, str],
                               body: dict[str, Any], message: str) -> None:
    full = {"level": "1", "cost": "1", "service_id": parents["service_id"]}
    full.update({k: parents["field_id"] if v == "F" else v
                 for k, v in body.items()})
    assert hm.post("thresholds/", full, status=400).json == fault(message)


def test_create_invalid_type_is_400(hm: HashMapAPI,  # noqa: F811
                                    parents: dict[str, str]) -> None:
    response = hm.post("thresholds/", {"level": "1", "cost": "1",
                                       "type": "x",
                                       "service_id": parents["service_id"]},
                       status=400)
    assert response.json["faultstring"].startswith(
        "Invalid input for field/attribute type. Value: 'x'.")


def test_create_same_level_is_409(hm: HashMapAPI,  # noqa: F811
                                  parents: dict[str, str]) -> None:
    service_id = parents["service_id"]
    existing = hm.threshold(level="10", service_id=service_id,
                            tenant_id="p1")
    response = hm.post("thresholds/", {"level": "10.0", "cost": "2",
                                       "service_id": service_id,
                                       "tenant_id": "p1"}, status=409)
    assert response.json == fault(
        f"Threshold '10.00000000' already exists for service, tenant: "
        f"'p1' (UUID: {existing['threshold_id']})")
    # Global thresholds collide too (the database alone would not see it).
    hm.threshold(level="10", service_id=service_id)
    hm.post("thresholds/", {"level": "10", "cost": "2",
                            "service_id": service_id}, status=409)
    # Another tenant, level or parent is another threshold.
    hm.threshold(level="10", service_id=service_id, tenant_id="p2")
    hm.threshold(level="11", service_id=service_id)
    hm.threshold(level="10", field_id=parents["field_id"])


def test_list_without_filter_lists_everything(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    assert hm.get("thresholds").json == {"thresholds": []}
    made = [hm.threshold(service_id=parents["service_id"]),
            hm.threshold(field_id=parents["field_id"])]
    assert hm.get("thresholds/").json == {"thresholds": made}


@pytest.mark.parametrize(("params", "expected"), [
    ({"service_id": "S"}, {"service", "service-p1"}),
    ({"field_id": "F"}, {"field", "grouped"}),
    ({"group_id": "G"}, {"grouped"}),
    ({"field_id": "F", "no_group": "true"}, {"field"}),
    ({"no_group": "1"}, {"service", "service-p1", "field"}),
    ({"service_id": "S", "tenant_id": "p1"}, {"service", "service-p1"}),
    ({"service_id": "S", "tenant_id": "p1", "filter_tenant": "true"},
     {"service-p1"}),
    ({"filter_tenant": "true"}, {"service", "field", "grouped"}),
    ({"service_id": "nope"}, set()),
])
def test_list_filters(hm: HashMapAPI, parents: dict[str, str],  # noqa: F811
                      params: dict[str, str], expected: set[str]) -> None:
    made = {
        "service": hm.threshold(service_id=parents["service_id"]),
        "service-p1": hm.threshold(service_id=parents["service_id"],
                                   tenant_id="p1", level="20"),
        "field": hm.threshold(field_id=parents["field_id"]),
        "grouped": hm.threshold(field_id=parents["field_id"], level="5",
                                group_id=parents["group_id"]),
    }
    names = {t["threshold_id"]: name for name, t in made.items()}
    ids = {"S": parents["service_id"], "F": parents["field_id"],
           "G": parents["group_id"]}
    query: dict[str, Any] = {k: ids.get(v, v) for k, v in params.items()}
    listed = hm.get("thresholds/", **query).json["thresholds"]
    assert {names[t["threshold_id"]] for t in listed} == expected


def test_get_unknown_is_404(hm: HashMapAPI) -> None:  # noqa: F811
    assert hm.get("thresholds/nope", status=404).json == fault(
        "No such threshold: nope")


def test_threshold_group(hm: HashMapAPI,  # noqa: F811
                         parents: dict[str, str]) -> None:
    grouped = hm.threshold(service_id=parents["service_id"],
                           group_id=parents["group_id"])
    group = hm.get(f"groups/{parents['group_id']}").json
    for path in ("thresholds/group", "thresholds/group/"):
        assert hm.get(path, threshold_id=grouped["threshold_id"]).json == \
            group
    alone = hm.threshold(field_id=parents["field_id"])
    assert hm.get("thresholds/group", status=404,
                  threshold_id=alone["threshold_id"]).json == fault(
        f"Threshold has no group (UUID: {alone['threshold_id']})")
    hm.get("thresholds/group", status=404, threshold_id="nope")


def test_update_with_the_whole_object(hm: HashMapAPI,  # noqa: F811
                                      parents: dict[str, str]) -> None:
    threshold = hm.threshold(service_id=parents["service_id"])
    changed = dict(threshold, level="12", cost="4", type="rate",
                   group_id=parents["group_id"], tenant_id="p1")
    response = hm.put("thresholds/", changed)
    assert response.body == b""
    assert response.headers["Location"] == \
        f"http://localhost{BASE}/thresholds/"
    assert hm.get(f"thresholds/{threshold['threshold_id']}").json == dict(
        changed, level="12.00000000", cost="4." + "0" * 28)
    # null group and tenant: back to an ungrouped, global threshold.
    hm.put(f"thresholds/{threshold['threshold_id']}",
           dict(changed, group_id=None, tenant_id=None))
    stored = hm.get(f"thresholds/{threshold['threshold_id']}").json
    assert stored["group_id"] is None and stored["tenant_id"] is None


def test_update_leaves_unsent_group_and_tenant(
        hm: HashMapAPI, parents: dict[str, str]) -> None:  # noqa: F811
    threshold = hm.threshold(service_id=parents["service_id"], type="rate",
                             group_id=parents["group_id"], tenant_id="p1")
    path = f"thresholds/{threshold['threshold_id']}"
    hm.put(path, {"level": "10", "cost": "7"})
    assert hm.get(path).json == dict(threshold, cost="7." + "0" * 28)


def test_update_errors(hm: HashMapAPI,  # noqa: F811
                       parents: dict[str, str]) -> None:
    service_id = parents["service_id"]
    threshold = hm.threshold(service_id=service_id)
    hm.threshold(service_id=service_id, level="20")
    assert hm.put("thresholds/", dict(threshold, level="20"),
                  status=409).json["faultstring"].startswith(
        "Threshold '20.00000000' already exists for service")
    assert hm.put("thresholds/", dict(threshold, group_id="nope"),
                  status=400).json == fault(
        "No such group: None (UUID: nope)")
    assert hm.put("thresholds/", dict(threshold, threshold_id="nope"),
                  status=404).json == fault("No such threshold: nope")
    assert hm.put("thresholds/", {"level": "1", "cost": "1"},
                  status=400).json == fault(
        'Missing argument: "threshold_id"')
    assert "level" in hm.put("thresholds/", dict(threshold, level=None),
                             status=400).json["faultstring"]
    # Nothing changed.
    assert hm.get(f"thresholds/{threshold['threshold_id']}").json == \
        threshold


@pytest.mark.parametrize("how", ["path", "body"])
def test_delete_is_hard(hm: HashMapAPI, parents: dict[str, str],  # noqa: F811
                        how: str) -> None:
    threshold_id = hm.threshold(
        service_id=parents["service_id"])["threshold_id"]
    if how == "path":
        hm.delete(f"thresholds/{threshold_id}")
    else:
        hm.delete("thresholds/", {"threshold_id": threshold_id})
    hm.get(f"thresholds/{threshold_id}", status=404)
    assert hm.delete("thresholds/", {"threshold_id": threshold_id},
                     status=404).json == fault(
        f"No such threshold: {threshold_id}")
