"""/v1/storage/dataframes (COMPAT.md §2.9) on the real app and a migrated
SQLite database; expected frames are built here from the points the tests
push."""
from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
import webtest

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.storage import get_storage
from cloudkitty.tests.storage_factory import HOUR, at
from cloudkitty.tests.unit.api.test_v1_report import (  # noqa: F401
    ADMIN,
    client_fixture,
    conf_fixture,
    deployment_fixture,
    fault,
    keystone_fixture,
    reader,
)

D = decimal.Decimal
PATH = "/v1/storage/dataframes"


def naive(value: datetime.datetime) -> str:
    return value.replace(tzinfo=None).isoformat()


def vm(project_id: str | None, qty: str, price: str,
       **metadata: Any) -> DataPoint:
    groupby = {"id": f"vm-{qty}-{price}"}
    if project_id is not None:
        groupby["project_id"] = project_id
    return DataPoint("instance", qty, price, groupby,
                     {"flavor_name": "m1.small", **metadata})


#: Hour 0: two projects' instances and one volume; hour 1: project a only.
FRAMES = [
    DataFrame(at(0), at(0) + HOUR, {
        "instance": [vm("a", "1", "0.5"), vm("b", "2", "1.25"),
                     vm("a", "3", "1.5")],
        "volume.size": [DataPoint("GiB", "10", "0.0001",
                                  {"project_id": "a", "id": "vol-1"},
                                  {"volume_type": "ssd"})],
    }),
    DataFrame(at(1), at(1) + HOUR, {
        "instance": [vm("a", "1", "0.5")],
    }),
]


def resource(metric_type: str, point: DataPoint) -> dict[str, Any]:
    """What v1 shows of ``point``: desc = metadata then groupby."""
    return {"service": metric_type,
            "desc": {**point.metadata, **point.groupby},
            "volume": str(point.qty), "rating": str(point.price)}


def expected(frames: list[DataFrame], project: str | None = None,
             metric_type: str | None = None) -> list[dict[str, Any]]:
    """v1 frames of ``frames``: one per period, service and project."""
    result: list[dict[str, Any]] = []
    for frame in frames:
        for name in sorted(frame.usage):
            if metric_type is not None and name != metric_type:
                continue
            projects: dict[str, list[dict[str, Any]]] = {}
            for point in frame.usage[name]:
                owner = point.groupby.get("project_id", "__UNDEF__")
                if project is not None and owner != project:
                    continue
                projects.setdefault(owner, []).append(
                    resource(name, point))
            result.extend({"begin": naive(frame.start),
                           "end": naive(frame.end), "tenant_id": owner,
                           "resources": resources}
                          for owner, resources in projects.items())
    return result


@pytest.fixture
def stored(conf) -> list[DataFrame]:
    get_storage(conf).push(FRAMES)
    return FRAMES


def frames_of(response: webtest.TestResponse) -> list[dict[str, Any]]:
    return list(response.json["dataframes"])


def test_every_frame_split_by_service_and_project(client, stored) -> None:
    response = client.get(PATH)
    assert frames_of(response) == expected(stored)
    assert [(f["begin"], f["tenant_id"], f["resources"][0]["service"])
            for f in frames_of(response)] == [
        ("2019-07-01T00:00:00", "a", "instance"),
        ("2019-07-01T00:00:00", "b", "instance"),
        ("2019-07-01T00:00:00", "a", "volume.size"),
        ("2019-07-01T01:00:00", "a", "instance"),
    ]


def test_numbers_are_decimal_strings(client, stored) -> None:
    resources = frames_of(client.get(PATH, params={
        "resource_type": "volume.size"}))[0]["resources"]
    assert (resources[0]["volume"], resources[0]["rating"]) == (
        "10", "0.0001")


def test_project_filter(client, stored) -> None:
    response = client.get(PATH, params={"tenant_id": "b"})
    assert frames_of(response) == expected(stored, project="b")


def test_resource_type_filter(client, stored) -> None:
    response = client.get(PATH, params={"resource_type": "instance",
                                        "tenant_id": "a"})
    assert frames_of(response) == expected(stored, project="a",
                                           metric_type="instance")


def test_window(client, stored) -> None:
    response = client.get(PATH, params={"begin": "2019-07-01T01:00:00",
                                        "end": "2019-07-01T02:00:00"})
    assert frames_of(response) == expected(stored[1:])
    response = client.get(PATH, params={"end": "2019-07-01T01:00:00"})
    assert frames_of(response) == expected(stored[:1])


def test_point_without_scope_is_undef(client, conf) -> None:
    frame = DataFrame(at(5), at(6), {"instance": [vm(None, "1", "2")]})
    get_storage(conf).push([frame])
    assert frames_of(client.get(PATH)) == expected([frame])
    assert frames_of(client.get(PATH))[0]["tenant_id"] == "__UNDEF__"


def test_nothing_is_an_empty_list(client) -> None:
    assert client.get(PATH).json == {"dataframes": []}


def test_arguments_from_a_json_body(client, stored) -> None:
    response = client.request(PATH, method="GET",
                              body=b'{"tenant_id": "b"}',
                              content_type="application/json")
    assert frames_of(response) == expected(stored, project="b")


@pytest.mark.parametrize(("params", "field"), [
    ({"begin": "07/01/2019"}, "begin"),
    ({"end": "2019-07-01T25:00:00"}, "end"),
    ({"tenant_id": "\x00"}, "tenant_id"),
    ({"begin": "2019-07-02", "end": "2019-07-01"}, "end"),
    ({"project_id": "a"}, "project_id"),
])
def test_bad_argument_is_a_400_naming_it(client, params, field) -> None:
    response = client.get(PATH, params=params, status=400)
    assert field in fault(response)


def test_no_single_frame_resource(client) -> None:
    client.get(PATH + "/something", status=405)


class TestKeystone:
    def test_reader_sees_its_own_project_whatever_it_asks(
            self, keystone, stored) -> None:
        for params in ({}, {"tenant_id": "a"}):
            response = keystone.get(PATH, params=params,
                                    headers=reader("b"))
            assert frames_of(response) == expected(stored, project="b")

    def test_unscoped_reader_sees_nothing(self, keystone, stored) -> None:
        assert keystone.get(PATH, headers=reader(None)).json == {
            "dataframes": []}

    def test_admin_sees_every_project_or_the_one_asked(
            self, keystone, stored) -> None:
        assert frames_of(keystone.get(PATH, headers=ADMIN)) == \
            expected(stored)
        assert frames_of(keystone.get(PATH, params={"tenant_id": "a"},
                                      headers=ADMIN)) == \
            expected(stored, project="a")

    def test_role_without_reader_is_denied(self, keystone) -> None:
        keystone.get(PATH, headers={"X-Roles": "member",
                                    "X-Project-Id": "a"}, status=403)
