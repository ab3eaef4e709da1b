"""Every hashmap command of the official ``cloudkitty`` client CLI against a
real ``cloudkitty-api`` (noauth) on SQLite and on PostgreSQL, with rating
API version 1 and 2 (COMPAT.md §12)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cloudkitty.tests.functional.api.conftest import (
    CLIENT_DB_KINDS,
    api_on_fresh_database,
)
from cloudkitty.tests.functional.api.test_client_cli import as_json
from cloudkitty.tests.functional.api.test_client_cli import (
    cloudkitty as run_client,
)

CK = Callable[..., Any]
COST_1_5 = "1.5" + "0" * 27


@pytest.fixture(scope="module", params=CLIENT_DB_KINDS)
def hashmap_api(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a ``cloudkitty-api`` on a fresh, migrated database."""
    with api_on_fresh_database(request.param, tmp_path_factory) as (url, _):
        yield url


@pytest.fixture(params=["1", "2"])
def ck(hashmap_api: str, request: pytest.FixtureRequest) -> CK:
    """``ck("hashmap", "service", "list")``: the command's ``-f json``
    output (None when it prints nothing); ``fail=True`` expects a failure
    and returns what it printed."""
    version = ["--os-rating-api-version", request.param]

    def _run(*args: str, fail: bool = False, json: bool = True) -> Any:
        result = run_client(hashmap_api, *version, *args,
                            *(["-f", "json"] if json else []), check=False)
        if fail:
            assert result.returncode != 0, result.stdout
            return result.stdout + result.stderr
        assert result.returncode == 0, result.stdout + result.stderr
        return as_json(result) if result.stdout.strip() else None
    return _run


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _service(ck: CK) -> str:
    return str(ck("hashmap", "service", "create",
                  _name("svc"))[0]["Service ID"])


def _field(ck: CK, service_id: str) -> str:
    return str(ck("hashmap", "field", "create", service_id,
                  _name("field"))[0]["Field ID"])


def _group(ck: CK) -> str:
    return str(ck("hashmap", "group", "create",
                  _name("grp"))[0]["Group ID"])


def test_mapping_types_list(ck: CK) -> None:
    rows = ck("hashmap", "mapping-types", "list")
    assert sorted(r["Mapping types"] for r in rows) == ["flat", "rate"]


def test_service_commands(ck: CK) -> None:
    name = _name("svc")
    created = ck("hashmap", "service", "create", name)
    assert len(created) == 1 and created[0]["Name"] == name
    service_id = created[0]["Service ID"]
    row = {"Name": name, "Service ID": service_id}
    assert row in ck("hashmap", "service", "list")
    assert ck("hashmap", "service", "get", service_id) == [row]
    assert "(HTTP 409)" in ck("hashmap", "service", "create", name,
                              fail=True)
    assert ck("hashmap", "service", "delete", service_id, json=False) \
        is None
    assert row not in ck("hashmap", "service", "list")
    printed = ck("hashmap", "service", "get", service_id, fail=True)
    assert "(HTTP 404)" in printed
    assert f"No such service: None (UUID: {service_id})" in printed


def test_field_commands(ck: CK) -> None:
    service_id = _service(ck)
    name = _name("field")
    created = ck("hashmap", "field", "create", service_id, name)
    field_id = created[0]["Field ID"]
    row = {"Name": name, "Field ID": field_id, "Service ID": service_id}
    assert created == [row]
    assert ck("hashmap", "field", "list", service_id) == [row]
    assert ck("hashmap", "field", "get", field_id) == [row]
    ck("hashmap", "field", "delete", field_id, json=False)
    assert ck("hashmap", "field", "list", service_id) == []
    assert "No such field" in ck("hashmap", "field", "get", field_id,
                                 fail=True)


def _mapping_row(mapping_id: str, *, value: str | None = None,
                 cost: str = COST_1_5, type_: str = "flat",
                 field_id: str | None = None,
                 service_id: str | None = None,
                 group_id: str | None = None,
                 tenant_id: str | None = None) -> dict[str, Any]:
    return {"Mapping ID": mapping_id, "Value": value, "Cost": cost,
            "Type": type_, "Field ID": field_id, "Service ID": service_id,
            "Group ID": group_id, "Project ID": tenant_id}


def test_mapping_create_get_list(ck: CK) -> None:
    service_id = _service(ck)
    field_id = _field(ck, service_id)
    group_id = _group(ck)
    name = _name("small")
    created = ck("hashmap", "mapping", "create", "--field-id", field_id,
                 "--value", "m1.small", "-t", "rate", "-g", group_id,
                 "-p", "p1", "--name", name, "--start", "2099-01-01",
                 "--end", "2099-12-31", "--description", "small ones",
                 "1.5")
    mapping_id = created[0]["Mapping ID"]
    field_row = _mapping_row(mapping_id, value="m1.small", type_="rate",
                             field_id=field_id, group_id=group_id,
                             tenant_id="p1")
    # The client reads the description under a key the API never sends
    # ("Description"), so it always prints None there.
    assert created == [dict(field_row, **{
        "Mapping Name": name, "Mapping Start Date": "2099-01-01T00:00:00",
        "Mapping End Date": "2099-12-31T23:59:59",
        "Mapping Description": None})]
    assert ck("hashmap", "mapping", "get", mapping_id) == [field_row]
    service_mapping = ck("hashmap", "mapping", "create", "-s", service_id,
                         "1.5")[0]["Mapping ID"]
    service_row = _mapping_row(service_mapping, service_id=service_id)
    orphan = ck("hashmap", "mapping", "create", "--field-id", field_id,
                "--value", "m1.large", "1.5")[0]["Mapping ID"]
    orphan_row = _mapping_row(orphan, value="m1.large", field_id=field_id)

    def listed(*args: str) -> list[dict[str, Any]]:
        return list(ck("hashmap", "mapping", "list", *args))

    assert listed("-s", service_id) == [service_row]
    assert listed("--field-id", field_id) == [field_row, orphan_row]
    assert listed("-g", group_id) == [field_row]
    assert listed("--field-id", field_id, "--no-group") == [orphan_row]
    assert listed("--field-id", field_id, "-p", "p1",
                  "--filter-tenant") == [field_row]
    assert listed("--field-id", field_id, "--filter-tenant") == \
        [orphan_row]
    # Without --filter-tenant the project is not a filter (as upstream).
    assert listed("--field-id", field_id, "-p", "p1") == \
        [field_row, orphan_row]
    assert "(HTTP 409)" in ck("hashmap", "mapping", "create",
                              "--field-id", field_id, "--value",
                              "m1.large", "2", fail=True)


def test_mapping_update_and_delete(ck: CK) -> None:
    service_id = _service(ck)
    future = ck("hashmap", "mapping", "create", "-s", service_id,
                "--start", "2099-01-01", "1")[0]["Mapping ID"]
    updated = ck("hashmap", "mapping", "update", future, "--cost", "1.5",
                 "--end", "2099-06-30", "--description", "later")
    assert updated == [_mapping_row(future, service_id=service_id)]

    field_id = _field(ck, service_id)
    started = ck("hashmap", "mapping", "create", "--field-id", field_id,
                 "--value", "v", "1.5")[0]["Mapping ID"]
    # Created without --start, it starts now; a second later it has
    # started, and then only its end may be set, once.
    time.sleep(1.1)
    printed = ck("hashmap", "mapping", "update", started, "--cost", "3",
                 "--end", "2099-01-01", fail=True)
    assert "(HTTP 400)" in printed
    assert "You are allowed to update only the attribute [end]" in printed
    updated = ck("hashmap", "mapping", "update", started, "--end",
                 "2099-01-01")
    assert updated == [_mapping_row(started, value="v",
                                    field_id=field_id)]
    stored = ck("hashmap", "mapping", "get", started, "-c",
                "Mapping ID")
    assert stored == [{"Mapping ID": started}]
    printed = ck("hashmap", "mapping", "update", started, "--end",
                 "2099-02-01", fail=True)
    assert "Cannot update a rule that was already processed" in printed
    ck("hashmap", "mapping", "delete", started, json=False)
    assert ck("hashmap", "mapping", "list", "--field-id", field_id) == []
    # Soft-deleted: still readable by id.
    assert ck("hashmap", "mapping", "get", started)[0]["Mapping ID"] == \
        started
    assert "(HTTP 404)" in ck("hashmap", "mapping", "delete", started,
                              json=False, fail=True)


def _threshold_row(threshold_id: str, *, level: str = "10.00000000",
                   cost: str = COST_1_5, type_: str = "flat",
                   field_id: str | None = None,
                   service_id: str | None = None,
                   group_id: str | None = None,
                   tenant_id: str | None = None) -> dict[str, Any]:
    return {"Threshold ID": threshold_id, "Level": level, "Cost": cost,
            "Type": type_, "Field ID": field_id, "Service ID": service_id,
            "Group ID": group_id, "Project ID": tenant_id}


def test_threshold_commands(ck: CK) -> None:
    service_id = _service(ck)
    field_id = _field(ck, service_id)
    group_id = _group(ck)
    created = ck("hashmap", "threshold", "create", "-s", service_id,
                 "-g", group_id, "-p", "p1", "-t", "rate", "10", "1.5")
    threshold_id = created[0]["Threshold ID"]
    row = _threshold_row(threshold_id, type_="rate", service_id=service_id,
                         group_id=group_id, tenant_id="p1")
    assert created == [row]
    assert ck("hashmap", "threshold", "get", threshold_id) == [row]
    other = ck("hashmap", "threshold", "create", "--field-id", field_id,
               "5", "2")[0]["Threshold ID"]
    other_row = _threshold_row(other, level="5.00000000",
                               cost="2." + "0" * 28, field_id=field_id)
    assert ck("hashmap", "threshold", "list", "-s", service_id) == [row]
    assert ck("hashmap", "threshold", "list", "--field-id", field_id) == \
        [other_row]
    assert ck("hashmap", "threshold", "list", "-g", group_id) == [row]
    assert ck("hashmap", "threshold", "list", "-s", service_id,
              "--no-group") == []
    assert ck("hashmap", "threshold", "list", "-s", service_id, "-p", "p1",
              "--filter-tenant") == [row]
    assert ck("hashmap", "threshold", "list", "-s", service_id,
              "--filter-tenant") == []
    assert "(HTTP 409)" in ck("hashmap", "threshold", "create", "-s",
                              service_id, "-p", "p1", "10", "3",
                              fail=True)
    updated = ck("hashmap", "threshold", "update", threshold_id,
                 "-l", "12", "--cost", "4")
    row = dict(row, Level="12.00000000", Cost="4." + "0" * 28)
    assert updated == [row]
    ck("hashmap", "threshold", "delete", threshold_id, json=False)
    assert "No such threshold" in ck("hashmap", "threshold", "get",
                                     threshold_id, fail=True)


def test_group_commands(ck: CK) -> None:
    service_id = _service(ck)
    name = _name("grp")
    created = ck("hashmap", "group", "create", name)
    group_id = created[0]["Group ID"]
    assert created == [{"Name": name, "Group ID": group_id}]
    assert {"Name": name, "Group ID": group_id} in \
        ck("hashmap", "group", "list")
    mapping_id = ck("hashmap", "mapping", "create", "-s", service_id,
                    "-g", group_id, "1.5")[0]["Mapping ID"]
    threshold_id = ck("hashmap", "threshold", "create", "-s", service_id,
                      "-g", group_id, "10", "1.5")[0]["Threshold ID"]
    assert ck("hashmap", "group", "mappings", "get", group_id) == [
        _mapping_row(mapping_id, service_id=service_id, group_id=group_id)]
    assert ck("hashmap", "group", "thresholds", "get", group_id) == [
        _threshold_row(threshold_id, service_id=service_id,
                       group_id=group_id)]

    # Without --recursive the rules stay, without a group.
    ck("hashmap", "group", "delete", group_id, json=False)
    assert ck("hashmap", "mapping", "get", mapping_id)[0]["Group ID"] \
        is None
    assert ck("hashmap", "threshold", "get",
              threshold_id)[0]["Group ID"] is None

    group_id = _group(ck)
    mapping_id = ck("hashmap", "mapping", "create", "-s", service_id,
                    "-g", group_id, "-p", "p2", "1.5")[0]["Mapping ID"]
    threshold_id = ck("hashmap", "threshold", "create", "-s", service_id,
                      "-g", group_id, "20", "1.5")[0]["Threshold ID"]
    ck("hashmap", "group", "delete", "--recursive", group_id, json=False)
    assert all(g["Group ID"] != group_id
               for g in ck("hashmap", "group", "list"))
    assert "(HTTP 404)" in ck("hashmap", "mapping", "get", mapping_id,
                              fail=True)
    assert "(HTTP 404)" in ck("hashmap", "threshold", "get", threshold_id,
                              fail=True)


def test_service_delete_cascades(ck: CK) -> None:
    service_id = _service(ck)
    field_id = _field(ck, service_id)
    mapping_id = ck("hashmap", "mapping", "create", "--field-id", field_id,
                    "--value", "x", "1")[0]["Mapping ID"]
    ck("hashmap", "service", "delete", service_id, json=False)
    assert "(HTTP 404)" in ck("hashmap", "field", "get", field_id,
                              fail=True)
    assert "(HTTP 404)" in ck("hashmap", "mapping", "get", mapping_id,
                              fail=True)
