"""GET and POST /v2/dataframes (COMPAT.md §3.2) on SQLite. What GET
returns is compared with the frames the test posted."""
from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import webtest
from oslo_config import cfg

from cloudkitty.api import app
from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.tests import storage_factory as f

UTC = datetime.timezone.utc
JULY = [("begin", "2019-07-01T00:00:00+00:00"),
        ("end", "2019-08-01T00:00:00+00:00")]

ADMIN = {"X-Roles": "admin", "X-Project-Id": "admin-project",
         "X-User-Id": "u0"}
READER_A = {"X-Roles": "reader", "X-Project-Id": "a", "X-User-Id": "u1"}
MEMBER_B = {"X-Roles": "member,reader", "X-Project-Id": "b",
            "X-User-Id": "u2"}
UNSCOPED_READER = {"X-Roles": "reader", "X-User-Id": "u4"}


def wire_point(qty: Any, price: Any, project: str, metric_id: str,
               **metadata: Any) -> dict[str, Any]:
    return {"vol": {"unit": "instance", "qty": qty},
            "rating": {"price": price},
            "groupby": {"project_id": project, "id": metric_id},
            "metadata": metadata}


def wire_frame(hour: int, usage: dict[str, list[dict[str, Any]]]
               ) -> dict[str, Any]:
    begin = f.at(hour)
    return {"period": {"begin": begin.isoformat(),
                       "end": (begin + f.HOUR).isoformat()},
            "usage": usage}


#: Two periods of July, two projects, two metric types.
FRAMES = [
    wire_frame(0, {
        "cpu": [wire_point(1, 0.5, "a", "i1", flavor="m1"),
                wire_point(2, 1.25, "b", "i2", flavor="m2")],
        "ram": [wire_point(4.5, 0.1, "a", "r1", zone="z1")]}),
    wire_frame(1, {
        "cpu": [wire_point(8, 4, "a", "i1", flavor="m1")]}),
]


def rows(frames: list[dict[str, Any]],
         keep: Callable[[str, dict[str, Any]], bool] = lambda *_: True
         ) -> list[tuple[Any, ...]]:
    """One comparable tuple per point of ``frames`` (wire form), with
    numbers as the floats v2 renders."""
    result = []
    for data in frames:
        period = data["period"]
        for metric_type, points in data["usage"].items():
            for p in points:
                if keep(metric_type, p):
                    result.append((
                        period["begin"], period["end"], metric_type,
                        p["vol"]["unit"], float(p["vol"]["qty"]),
                        float(p.get("rating", {}).get("price", 0)),
                        json.dumps(p["groupby"], sort_keys=True),
                        json.dumps(p["metadata"], sort_keys=True)))
    return sorted(result)


@pytest.fixture(name="make_api_conf")
def make_api_conf_fixture(api_conf, tmp_path: Path
                          ) -> Iterator[Callable[..., cfg.ConfigOpts]]:
    url = f"sqlite:///{tmp_path}/dataframes.sqlite"
    f.migrate(url)

    def _make(auth_strategy: str = "noauth") -> cfg.ConfigOpts:
        return api_conf(auth_strategy, database={"connection": url},
                        collect={"scope_key": "project_id"})
    yield _make
    db_api.dispose_engines()


@pytest.fixture
def client(make_api_conf) -> webtest.TestApp:
    return webtest.TestApp(app.build_wsgi_app(make_api_conf()))


@pytest.fixture
def keystone(make_api_conf) -> webtest.TestApp:
    return webtest.TestApp(app.setup_app(make_api_conf("keystone")))


@pytest.fixture
def posted(client) -> list[dict[str, Any]]:
    client.post_json("/v2/dataframes", {"dataframes": FRAMES}, status=204)
    return FRAMES


def get(app_: webtest.TestApp, params: list[tuple[str, str]],
        **kwargs: Any) -> Any:
    return app_.get("/v2/dataframes?" + urlencode(params), **kwargs).json


def got_rows(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return rows(body["dataframes"])


class TestPost:
    def test_posted_frames_read_back(self, client, posted) -> None:
        body = get(client, JULY)
        assert body["total"] == len(rows(posted))
        assert got_rows(body) == rows(posted)
        # One frame per stored period, aware UTC dates, float numbers.
        assert [d["period"] for d in body["dataframes"]] == [
            d["period"] for d in posted]
        point = body["dataframes"][0]["usage"]["cpu"][0]
        assert isinstance(point["vol"]["qty"], float)

    def test_posting_twice_stores_twice(self, client, posted) -> None:
        client.post_json("/v2/dataframes", {"dataframes": FRAMES},
                         status=204)
        assert get(client, JULY)["total"] == 2 * len(rows(FRAMES))

    def test_dates_with_offsets_or_naive_are_stored_in_utc(
            self, client) -> None:
        data = wire_frame(0, {"cpu": [wire_point(1, 1, "a", "i")]})
        data["period"] = {"begin": "2019-07-01T02:00:00+02:00",
                          "end": "2019-07-01T01:00:00"}
        client.post_json("/v2/dataframes", {"dataframes": [data]},
                         status=204)
        [stored] = get(client, JULY)["dataframes"]
        assert stored["period"] == {"begin": "2019-07-01T00:00:00+00:00",
                                    "end": "2019-07-01T01:00:00+00:00"}

    def test_price_defaults_to_zero(self, client) -> None:
        point = wire_point("1.5", 0, "a", "i")
        del point["rating"]
        client.post_json("/v2/dataframes", {"dataframes": [
            wire_frame(0, {"cpu": [point]})]}, status=204)
        [stored] = get(client, JULY)["dataframes"]
        assert stored["usage"]["cpu"][0]["rating"] == {"price": 0.0}
        assert stored["usage"]["cpu"][0]["vol"]["qty"] == 1.5

    def test_empty_list_is_a_400(self, client) -> None:
        body = client.post_json("/v2/dataframes", {"dataframes": []},
                                status=400).json
        assert body == {"message": "Parameter dataframes must not be "
                                   "empty."}

    @pytest.mark.parametrize(("change", "path"), [
        (lambda d: d.pop("period"), "dataframes[1].period"),
        (lambda d: d.update(extra=1), "dataframes[1].extra"),
        (lambda d: d["period"].update(begin="soon"),
         "dataframes[1].period.begin"),
        (lambda d: d["period"].pop("end"), "dataframes[1].period.end"),
        (lambda d: d["period"].update(end="2019-06-01T00:00:00"),
         "dataframes[1].period.end"),
        (lambda d: d["period"].update(begin="9999-12-31T23:00:00-05:00"),
         "dataframes[1].period.begin"),
        (lambda d: d.update(usage=[]), "dataframes[1].usage"),
        (lambda d: d["usage"].update(cpu={}), "dataframes[1].usage.cpu"),
        (lambda d: d["usage"].update({"": []}), "dataframes[1].usage."),
        (lambda d: d["usage"].update({"t" * 256: []}),
         "dataframes[1].usage." + "t" * 256),
        (lambda d: d["usage"]["cpu"].append(3),
         "dataframes[1].usage.cpu[1]"),
        (lambda d: d["usage"]["cpu"][0].pop("vol"),
         "dataframes[1].usage.cpu[0].vol"),
        (lambda d: d["usage"]["cpu"][0]["vol"].pop("unit"),
         "dataframes[1].usage.cpu[0].vol.unit"),
        (lambda d: d["usage"]["cpu"][0]["vol"].update(unit=5),
         "dataframes[1].usage.cpu[0].vol.unit"),
        (lambda d: d["usage"]["cpu"][0]["vol"].update(unit="u" * 256),
         "dataframes[1].usage.cpu[0].vol.unit"),
        (lambda d: d["usage"]["cpu"][0]["vol"].update(qty="lots"),
         "dataframes[1].usage.cpu[0].vol.qty"),
        (lambda d: d["usage"]["cpu"][0]["vol"].update(qty=True),
         "dataframes[1].usage.cpu[0].vol.qty"),
        (lambda d: d["usage"]["cpu"][0]["vol"].update(qty=1e300),
         "dataframes[1].usage.cpu[0].vol.qty"),
        (lambda d: d["usage"]["cpu"][0]["vol"].update(extra=1),
         "dataframes[1].usage.cpu[0].vol.extra"),
        (lambda d: d["usage"]["cpu"][0]["rating"].update(price="-inf"),
         "dataframes[1].usage.cpu[0].rating.price"),
        (lambda d: d["usage"]["cpu"][0]["rating"].update(cost=1),
         "dataframes[1].usage.cpu[0].rating.cost"),
        (lambda d: d["usage"]["cpu"][0].pop("groupby"),
         "dataframes[1].usage.cpu[0].groupby"),
        (lambda d: d["usage"]["cpu"][0].update(metadata=[]),
         "dataframes[1].usage.cpu[0].metadata"),
        (lambda d: d["usage"]["cpu"][0].update(desc={}),
         "dataframes[1].usage.cpu[0].desc"),
        (lambda d: d["usage"]["cpu"][0]["metadata"].update(n="a\x00b"),
         "dataframes[1].usage.cpu[0].metadata.n"),
        (lambda d: d["usage"]["cpu"][0]["groupby"].update(
            project_id="p" * 257),
         "dataframes[1].usage.cpu[0].groupby.project_id"),
    ])
    def test_invalid_frames_are_a_400_naming_the_path_and_store_nothing(
            self, client, change, path) -> None:
        bad = copy.deepcopy(FRAMES[1])
        change(bad)
        body = client.post_json("/v2/dataframes",
                                {"dataframes": [FRAMES[0], bad]},
                                status=400).json
        assert f"'{path}'" in body["message"]
        client.get("/v2/dataframes?" + urlencode(JULY), status=404)

    @pytest.mark.parametrize("body", [
        b"{not json", b"[]", b'{"dataframes": "x"}', b'{"frames": []}',
        b'{"dataframes": [], "more": 1}', b"", b'{"dataframes": [null]}',
        b'{"dataframes": [{"period": {"begin": "2019-07-01", '
        b'"end": "2019-07-02"}, "usage": {"cpu": [{"vol": {"unit": "u", '
        b'"qty": NaN}, "groupby": {}, "metadata": {}}]}}]}',
    ])
    def test_malformed_bodies_are_a_400(self, client, body) -> None:
        response = client.post("/v2/dataframes", body,
                               content_type="application/json",
                               status=400)
        assert response.json["message"]


class TestGet:
    def test_nothing_is_404(self, client) -> None:
        assert get(client, JULY, status=404) == {
            "message": "No resource found for provided filters."}

    def test_filters_and_type(self, client, posted) -> None:
        body = get(client, [*JULY, ("filters", "project_id:a,type:cpu")])
        assert got_rows(body) == rows(posted, lambda t, p: (
            t == "cpu" and p["groupby"]["project_id"] == "a"))
        assert body["total"] == len(got_rows(body))
        body = get(client, [*JULY, ("filters", "flavor:m2")])
        assert got_rows(body) == rows(posted, lambda t, p: (
            p["metadata"].get("flavor") == "m2"))

    def test_pages_count_points_and_total_is_before_paging(
            self, client, posted) -> None:
        everything = rows(posted)
        pages = [get(client, [*JULY, ("offset", str(o)), ("limit", "2")])
                 for o in range(0, len(everything), 2)]
        assert {p["total"] for p in pages} == {len(everything)}
        assert sorted(r for p in pages for r in got_rows(p)) == everything
        huge = get(client, [*JULY, ("limit", str(10 ** 40))])
        assert got_rows(huge) == everything

    def test_default_window_is_the_current_month(self, client) -> None:
        month = datetime.datetime.now(UTC).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0)
        earlier = wire_frame(0, {"cpu": [wire_point(1, 1, "a", "old")]})
        earlier["period"] = {"begin": (month - f.HOUR).isoformat(),
                             "end": month.isoformat()}
        current = wire_frame(0, {"cpu": [wire_point(2, 2, "a", "new")]})
        current["period"] = {"begin": month.isoformat(),
                             "end": (month + f.HOUR).isoformat()}
        client.post_json("/v2/dataframes",
                         {"dataframes": [earlier, current]}, status=204)
        assert got_rows(get(client, [])) == rows([current])

    def test_frames_pushed_by_storage_are_listed(self, client,
                                                 make_api_conf) -> None:
        get_storage(make_api_conf()).push([f.frame(f.at(2), {
            "cpu": [f.point("3", "6", project_id="z")]})])
        [frame] = get(client, JULY)["dataframes"]
        assert frame["usage"]["cpu"][0]["groupby"]["project_id"] == "z"

    @pytest.mark.parametrize(("params", "field"), [
        ([("filters", "a:1,a:2")], "filters"),
        ([("filters", "novalue")], "filters"),
        ([("begin", "nope")], "begin"),
        ([("limit", "0")], "limit"),
        ([("groupby", "type")], "groupby"),
    ])
    def test_bad_queries_are_a_400(self, client, params, field) -> None:
        message = get(client, params, status=400)["message"]
        assert f"(path: '['{field}']')" in message


class TestPolicy:
    def test_only_admins_post(self, keystone) -> None:
        body = {"dataframes": FRAMES}
        keystone.post_json("/v2/dataframes", body, headers=MEMBER_B,
                           status=403)
        keystone.post_json("/v2/dataframes", body, headers=ADMIN,
                           status=204)

    def test_admin_reads_every_project(self, keystone, posted) -> None:
        assert got_rows(get(keystone, JULY, headers=ADMIN)) == rows(posted)

    @pytest.mark.parametrize(("headers", "project"), [
        (READER_A, "a"), (MEMBER_B, "b")])
    def test_non_admins_read_only_their_project(self, keystone, posted,
                                                headers, project) -> None:
        expected = rows(posted,
                        lambda _t, p: p["groupby"]["project_id"] == project)
        for filters in ([], [("filters", "project_id:a")],
                        [("filters", "project_id:b")]):
            body = get(keystone, [*JULY, *filters], headers=headers)
            assert got_rows(body) == expected

    def test_unscoped_non_admin_gets_nothing(self, keystone,
                                             posted) -> None:
        assert get(keystone, JULY, headers=UNSCOPED_READER) == {
            "total": 0, "dataframes": []}
