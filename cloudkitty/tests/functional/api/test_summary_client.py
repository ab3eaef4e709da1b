"""The official ``cloudkitty`` client (rating API v2) against a running
``cloudkitty-api`` (noauth) on SQLite and PostgreSQL: ``dataframes add``,
``dataframes get`` and ``summary get``; plus the ``custom_fields`` and
``response_format`` parameters the client has no option for, over plain
HTTP. Every expected value is computed here from the frames the test
added."""
from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from cloudkitty.db import api as db_api
from cloudkitty.tests import storage_factory
from cloudkitty.tests.functional.api.conftest import (
    CLIENT_DB_KINDS,
    api_on_fresh_database,
)
from cloudkitty.tests.functional.api.test_client_cli import (
    as_json,
    cloudkitty,
)

UTC = datetime.timezone.utc
T0 = datetime.datetime(2019, 7, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
JULY = ("2019-07-01T00:00:00+00:00", "2019-08-01T00:00:00+00:00")


def wire_point(qty: str, price: str, project: str, resource: str,
               unit: str = "instance", **metadata: str) -> dict[str, Any]:
    """A point as JSON carries it; numbers as strings so the expected
    sums below are exact."""
    return {"vol": {"unit": unit, "qty": qty}, "rating": {"price": price},
            "groupby": {"project_id": project, "id": resource},
            "metadata": metadata}


def wire_frame(begin: datetime.datetime,
               usage: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A frame of one hour; its points get two of the time keys the
    collector stamps."""
    for points_ in usage.values():
        for p in points_:
            p["groupby"]["day_of_the_year"] = str(
                begin.timetuple().tm_yday)
            p["groupby"]["month"] = str(begin.month)
    return {"period": {"begin": begin.isoformat(),
                       "end": (begin + HOUR).isoformat()},
            "usage": usage}


def sample() -> list[dict[str, Any]]:
    return [
        wire_frame(T0, {
            "cpu": [wire_point("1", "0.5", "a", "i1", flavor="m1"),
                    wire_point("2", "1.25", "b", "i2", flavor="m2")],
            "ram": [wire_point("4.5", "0.1", "a", "r1", unit="MiB",
                               zone="z1")]}),
        wire_frame(T0 + HOUR, {
            "cpu": [wire_point("8", "4", "a", "i1", flavor="m1")],
            "ram": [wire_point("16", "0.2", "b", "r2", unit="MiB",
                               zone="z2")]}),
        wire_frame(T0 + 24 * HOUR, {
            "cpu": [wire_point("3", "1.5", "a", "i1", flavor="m1")]}),
        # June: outside the July window.
        wire_frame(T0 - HOUR, {
            "cpu": [wire_point("100", "100", "a", "i1", flavor="m1")]}),
    ]


Point = tuple[datetime.datetime, str, dict[str, Any]]


def points(frames: list[dict[str, Any]]) -> list[Point]:
    return [(datetime.datetime.fromisoformat(d["period"]["begin"]),
             metric_type, p)
            for d in frames for metric_type, ps in d["usage"].items()
            for p in ps]


def in_july(begin: datetime.datetime) -> bool:
    return T0 <= begin < datetime.datetime(2019, 8, 1, tzinfo=UTC)


def sums(frames: list[dict[str, Any]], key: Callable[[Point], Any],
         keep: Callable[[Point], bool] = lambda _: True
         ) -> dict[Any, tuple[float, float, int]]:
    """``{key: (qty, rate, count)}`` of the July points ``keep`` takes,
    with qty and rate as the floats v2 renders."""
    totals: dict[Any, list[Any]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), 0])
    for point in points(frames):
        if in_july(point[0]) and keep(point):
            total = totals[key(point)]
            total[0] += Decimal(point[2]["vol"]["qty"])
            total[1] += Decimal(point[2]["rating"]["price"])
            total[2] += 1
    return {k: (float(q), float(r), n) for k, (q, r, n) in totals.items()}


def words(text: str) -> list[str]:
    """The ``key="value"`` words the client makes of a mapping, in any
    order (PostgreSQL's JSONB does not keep the order keys came in)."""
    return sorted(text.split(" ")) if text else []


def cli_rows(frames: list[dict[str, Any]],
             keep: Callable[[Point], bool] = lambda _: True
             ) -> list[dict[str, Any]]:
    """What ``dataframes get -f json`` shows of the July points (see
    :func:`comparable`)."""
    result = []
    for begin, metric_type, p in points(frames):
        if in_july(begin) and keep((begin, metric_type, p)):
            result.append({
                "Begin": begin.isoformat(),
                "End": (begin + HOUR).isoformat(),
                "Metric Type": metric_type, "Unit": p["vol"]["unit"],
                "Quantity": float(p["vol"]["qty"]),
                "Price": float(p["rating"]["price"]),
                "Group By": sorted(f'{k}="{v}"'
                                   for k, v in p["groupby"].items()),
                "Metadata": sorted(f'{k}="{v}"'
                                   for k, v in p["metadata"].items())})
    return sorted(result, key=json.dumps)


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CLI rows with their groupby and metadata words sorted."""
    return sorted(({**row, "Group By": words(row["Group By"]),
                    "Metadata": words(row["Metadata"])} for row in rows),
                  key=json.dumps)


class Api:
    def __init__(self, url: str, db_url: str, tmp: Path) -> None:
        self.url = url
        self.db_url = db_url
        self.tmp = tmp

    def cli(self, *args: str, check: bool = True) -> Any:
        return cloudkitty(self.url, "--os-rating-api-version", "2", *args,
                          check=check)

    def json(self, *args: str) -> Any:
        return as_json(self.cli(*args, "-f", "json"))

    def add(self, frames: list[dict[str, Any]]) -> None:
        path = self.tmp / "frames.json"
        path.write_text(json.dumps({"dataframes": frames}))
        result = self.cli("dataframes", "add", str(path))
        assert result.stdout == ""

    def http(self, path: str, params: list[tuple[str, str]]
             ) -> tuple[int, Any]:
        url = f"{self.url}{path}?{urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)


@pytest.fixture(scope="module", params=CLIENT_DB_KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_on_fresh_database(request.param, tmp_path_factory,
                               collect={"scope_key": "project_id"}) \
            as (url, db_url):
        yield Api(url, db_url, tmp_path_factory.mktemp("frames"))


@pytest.fixture(autouse=True)
def empty(api: Api) -> Iterator[None]:
    """Every test starts with no rated data."""
    engine = sa.create_engine(api.db_url)
    try:
        with engine.begin() as connection:
            storage_factory.clear_rated(connection)
    finally:
        engine.dispose()
    yield
    db_api.dispose_engines()


@pytest.fixture
def frames(api: Api) -> list[dict[str, Any]]:
    data = sample()
    api.add(data)
    return data


def july(*args: str) -> list[str]:
    return ["-b", JULY[0], "-e", JULY[1], *args]


class TestDataframes:
    def test_add_then_get(self, api: Api, frames) -> None:
        rows = api.json("dataframes", "get", *july())
        assert comparable(rows) == cli_rows(frames)

    def test_get_with_filters(self, api: Api, frames) -> None:
        rows = api.json("dataframes", "get", *july(
            "--filter", "project_id:a", "--filter", "type:cpu"))
        assert comparable(rows) == cli_rows(
            frames, lambda p: p[1] == "cpu"
            and p[2]["groupby"]["project_id"] == "a")

    def test_get_pages(self, api: Api, frames) -> None:
        pages = [api.json("dataframes", "get", *july(
            "--offset", str(offset), "--limit", "2"))
            for offset in (0, 2, 4)]
        assert [len(page) for page in pages] == [2, 2, 2]
        assert comparable([r for page in pages for r in page]) == \
            cli_rows(frames)

    def test_get_without_data_fails_with_404(self, api: Api) -> None:
        result = api.cli("dataframes", "get", *july(), check=False)
        assert result.returncode != 0
        assert "(HTTP 404)" in result.stdout + result.stderr

    def test_add_invalid_frame_fails_with_400_naming_the_path(
            self, api: Api) -> None:
        bad = sample()
        bad[1]["usage"]["cpu"][0]["vol"]["qty"] = "lots"
        path = api.tmp / "bad.json"
        path.write_text(json.dumps({"dataframes": bad}))
        result = api.cli("dataframes", "add", str(path), check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "(HTTP 400)" in output
        assert "dataframes[1].usage.cpu[0].vol.qty" in output
        assert api.http("/v2/dataframes", [("begin", JULY[0]),
                                           ("end", JULY[1])])[0] == 404


class TestSummary:
    def test_grouped_by_project_and_type(self, api: Api, frames) -> None:
        rows = api.json("summary", "get", *july(
            "-g", "project_id", "-g", "type"))
        expected = sums(frames, lambda p: (p[2]["groupby"]["project_id"],
                                           p[1]))
        assert {(r["Project id"], r["Type"]): (r["Qty"], r["Rate"])
                for r in rows} == {k: v[:2] for k, v in expected.items()}
        assert {(r["Begin"], r["End"]) for r in rows} == {JULY}
        assert list(rows[0]) == ["Begin", "End", "Qty", "Rate",
                                 "Project id", "Type"]

    def test_total_without_groupby(self, api: Api, frames) -> None:
        [(qty, rate, _)] = sums(frames, lambda _: None).values()
        assert api.json("summary", "get", *july()) == [
            {"Begin": JULY[0], "End": JULY[1], "Qty": qty, "Rate": rate}]

    def test_filters_and_time_shorthand(self, api: Api, frames) -> None:
        rows = api.json("summary", "get", *july(
            "-g", "time-d", "--filter", "type:cpu",
            "--filter", "flavor:m1"))
        expected = sums(frames,
                        lambda p: p[2]["groupby"]["day_of_the_year"],
                        lambda p: p[1] == "cpu"
                        and p[2]["metadata"].get("flavor") == "m1")
        assert {r["Day of the year"]: (r["Qty"], r["Rate"])
                for r in rows} == {k: v[:2] for k, v in expected.items()}

    def test_offset_and_limit(self, api: Api, frames) -> None:
        everything = api.json("summary", "get", *july("-g", "id"))
        page = api.json("summary", "get", *july(
            "-g", "id", "--offset", "1", "--limit", "2"))
        assert page == everything[1:3]
        assert len(everything) == len(sums(frames,
                                           lambda p: p[2]["groupby"]["id"]))

    def test_default_window_is_the_current_month(self, api: Api) -> None:
        month = datetime.datetime.now(UTC).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0)
        next_month = (month + datetime.timedelta(days=32)).replace(day=1)
        api.add([wire_frame(month - HOUR, {"cpu": [
                     wire_point("7", "7", "a", "i1")]}),
                 wire_frame(month, {"cpu": [
                     wire_point("2", "0.75", "a", "i1")]})])
        assert api.json("summary", "get") == [
            {"Begin": month.isoformat(), "End": next_month.isoformat(),
             "Qty": 2.0, "Rate": 0.75}]

    def test_no_data_is_an_empty_list(self, api: Api) -> None:
        assert api.json("summary", "get", *july("-g", "type")) == []

    def test_unknown_time_option_fails_with_400(self, api: Api) -> None:
        result = api.cli("summary", "get", *july("-g", "time-x"),
                         check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "(HTTP 400)" in output
        assert "time-x" in output


class TestOverHttp:
    def test_custom_fields_and_object_format(self, api: Api,
                                             frames) -> None:
        status, body = api.http("/v2/summary", [
            ("begin", JULY[0]), ("end", JULY[1]), ("groupby", "type"),
            ("custom_fields", "SUM(price) AS rate, COUNT(qty) AS n, "
                              "SUM(qty) AS qty"),
            ("response_format", "object")])
        assert status == 200
        expected = sums(frames, lambda p: p[1])
        assert body["format"] == "object"
        assert body["total"] == len(expected)
        assert {r["type"]: (r["qty"], r["rate"], r["n"])
                for r in body["results"]} == expected
        assert list(body["results"][0]) == ["begin", "end", "rate", "n",
                                            "qty", "type"]

    @pytest.mark.parametrize(("params", "word"), [
        ([("custom_fields", "SUM(qty); DROP TABLE x")], "custom_fields"),
        ([("custom_fields", "MAX(qty)")], "custom_fields"),
        ([("response_format", "csv")], "response_format"),
        ([("begin", "2019-02-30")], "begin"),
        ([("limit", "0")], "limit"),
        ([("groupby", "time-h")], "time-h"),
        ([("filters", "nocolon")], "filters"),
    ])
    def test_malformed_requests_are_a_400(self, api: Api, params,
                                          word) -> None:
        status, body = api.http("/v2/summary", params)
        assert status == 400
        assert word in body["message"]

    def test_a_huge_limit_is_served(self, api: Api, frames) -> None:
        status, body = api.http("/v2/summary", [
            ("begin", JULY[0]), ("end", JULY[1]), ("groupby", "time"),
            ("limit", str(10 ** 40)), ("offset", str(10 ** 40))])
        assert status == 200
        assert (body["total"], body["results"]) == (
            len(sums(frames, lambda p: p[0])), [])
