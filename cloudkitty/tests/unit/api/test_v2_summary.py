"""GET /v2/summary (COMPAT.md §3.1-3.3) on SQLite, and the custom_fields
language. Expected values are summed here from the points pushed."""
from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import voluptuous as vol
import webtest
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.api import app
from cloudkitty.api.v2 import summary as summary_api
from cloudkitty.api.v2 import validation
from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.storage.v2 import custom_fields
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.storage_factory import HOUR, at, frame, point

UTC = datetime.timezone.utc
JULY = ("2019-07-01T00:00:00+00:00", "2019-08-01T00:00:00+00:00")

ADMIN = {"X-Roles": "admin", "X-Project-Id": "admin-project",
         "X-User-Id": "u0"}
READER_A = {"X-Roles": "reader", "X-Project-Id": "a", "X-User-Id": "u1"}
MEMBER_B = {"X-Roles": "member,reader", "X-Project-Id": "b",
            "X-User-Id": "u2"}
NO_ROLE = {"X-Roles": "other", "X-Project-Id": "a", "X-User-Id": "u3"}
UNSCOPED_READER = {"X-Roles": "reader", "X-User-Id": "u4"}


class Pushed:
    """The points pushed, as ``(period start, type, point)``, and what a
    summary of them should say."""

    def __init__(self) -> None:
        self.points: list[tuple[datetime.datetime, str, Any]] = []

    def add(self, start: datetime.datetime, metric_type: str,
            *points: Any) -> None:
        self.points += [(start, metric_type, f.collected(p, start))
                        for p in points]

    def frames(self) -> list[Any]:
        by_start: dict[datetime.datetime, dict[str, list[Any]]] = \
            defaultdict(lambda: defaultdict(list))
        for start, metric_type, p in self.points:
            by_start[start][metric_type].append(p)
        return [f.frame(start, {t: list(ps) for t, ps in usage.items()})
                for start, usage in sorted(by_start.items())]

    def sums(self, key: Callable[[datetime.datetime, str, Any], Any],
             keep: Callable[[datetime.datetime, str, Any], bool]
             = lambda *_: True) -> dict[Any, tuple[float, float, int]]:
        """``{key(point): (sum qty, sum price, count)}`` over the points
        of July 2019 that ``keep`` accepts."""
        totals: dict[Any, list[Any]] = defaultdict(
            lambda: [Decimal(0), Decimal(0), 0])
        for start, metric_type, p in self.points:
            if not at(0) <= start < datetime.datetime(2019, 8, 1,
                                                      tzinfo=UTC):
                continue
            if not keep(start, metric_type, p):
                continue
            total = totals[key(start, metric_type, p)]
            total[0] += p.qty
            total[1] += p.price
            total[2] += 1
        return {k: (float(q), float(r), n) for k, (q, r, n) in
                totals.items()}


def sample() -> Pushed:
    pushed = Pushed()
    pushed.add(at(0), "cpu",
               point("1", "0.5", project_id="a", id="i1",
                     metadata={"flavor": "m1"}),
               point("2", "1.25", project_id="b", id="i2",
                     metadata={"flavor": "m2"}))
    pushed.add(at(0), "ram",
               point("4", "0.1", project_id="a", unit="MiB",
                     metadata={"zone": "z1"}))
    pushed.add(at(1), "cpu",
               point("8", "4", project_id="a", id="i1",
                     metadata={"flavor": "m1"}))
    pushed.add(at(1), "ram",
               point("16", "0.2", project_id="b", unit="MiB",
                     metadata={"zone": "z2"}))
    pushed.add(at(24), "cpu",
               point("3", "1.5", project_id="a", id="i1",
                     metadata={"flavor": "m1"}))
    pushed.add(at(24 * 9), "cpu",
               point("0.5", "0.3", project_id="c", id="i3",
                     metadata={"flavor": "m1"}))
    # The last hour of June: outside every July window.
    pushed.add(at(-1), "cpu",
               point("100", "100", project_id="a", id="i1",
                     metadata={"flavor": "m1"}))
    return pushed


@pytest.fixture(name="make_api_conf")
def make_api_conf_fixture(api_conf, tmp_path: Path
                          ) -> Iterator[Callable[..., cfg.ConfigOpts]]:
    url = f"sqlite:///{tmp_path}/summary.sqlite"
    f.migrate(url)

    def _make(auth_strategy: str = "noauth") -> cfg.ConfigOpts:
        return api_conf(auth_strategy, database={"connection": url},
                        collect={"scope_key": "project_id"})
    yield _make
    db_api.dispose_engines()


@pytest.fixture(name="pushed")
def pushed_fixture(make_api_conf) -> Pushed:
    data = sample()
    get_storage(make_api_conf()).push(data.frames())
    return data


@pytest.fixture
def client(make_api_conf) -> webtest.TestApp:
    return webtest.TestApp(app.build_wsgi_app(make_api_conf()))


@pytest.fixture
def keystone(make_api_conf) -> webtest.TestApp:
    """The Pecan app with auth_strategy keystone; the test sets the
    identity headers keystonemiddleware would."""
    return webtest.TestApp(app.setup_app(make_api_conf("keystone")))


def query(params: Iterable[tuple[str, str]] | dict[str, str]) -> str:
    items = list(params.items()) if isinstance(params, dict) else \
        list(params)
    return "/v2/summary?" + urlencode(items)


def july(**params: str) -> list[tuple[str, str]]:
    return [("begin", JULY[0]), ("end", JULY[1]), *params.items()]


def get(client: webtest.TestApp, params: Any, **kwargs: Any) -> Any:
    return client.get(query(params), **kwargs).json


def objects(client: webtest.TestApp, params: list[tuple[str, str]],
            **kwargs: Any) -> list[dict[str, Any]]:
    body = get(client, [*params, ("response_format", "object")], **kwargs)
    assert body["format"] == "object"
    rows: list[dict[str, Any]] = body["results"]
    return rows


def by_group(rows: list[dict[str, Any]], *keys: str
             ) -> dict[Any, tuple[float, float]]:
    def group(row: dict[str, Any]) -> Any:
        values = tuple(row[k] for k in keys)
        return values[0] if len(values) == 1 else values
    return {group(row): (row["qty"], row["rate"]) for row in rows}


def qty_rate(sums: dict[Any, tuple[float, float, int]]
             ) -> dict[Any, tuple[float, float]]:
    return {k: (q, r) for k, (q, r, _) in sums.items()}


class TestShapes:
    def test_table_without_groupby_is_one_row_over_the_window(
            self, client, pushed) -> None:
        body = get(client, july())
        [(qty, rate, _)] = pushed.sums(lambda *_: None).values()
        assert body == {
            "total": 1, "format": "table",
            "columns": ["begin", "end", "qty", "rate"],
            "results": [[JULY[0], JULY[1], qty, rate]]}
        # v2 renders money as JSON numbers.
        assert isinstance(body["results"][0][3], float)

    def test_table_columns_follow_the_groupby_order(self, client,
                                                    pushed) -> None:
        body = get(client, july(groupby="type,project_id"))
        assert body["columns"] == ["begin", "end", "qty", "rate", "type",
                                   "project_id"]
        rows = [dict(zip(body["columns"], r, strict=True))
                for r in body["results"]]
        assert by_group(rows, "type", "project_id") == qty_rate(
            pushed.sums(lambda _s, t, p: (t, p.groupby["project_id"])))
        assert all((r["begin"], r["end"]) == JULY for r in rows)

    def test_object_rows_equal_table_rows(self, client, pushed) -> None:
        params = july(groupby="type")
        table = get(client, params)
        assert objects(client, params) == [
            dict(zip(table["columns"], r, strict=True))
            for r in table["results"]]

    def test_no_match_is_an_empty_result(self, client, pushed) -> None:
        params = july(filters="project_id:nobody")
        assert get(client, params) == {"total": 0, "columns": [],
                                       "results": [], "format": "table"}
        assert get(client, [*params, ("response_format", "object")]) == {
            "total": 0, "results": [], "format": "object"}


class TestGroupby:
    def test_repeated_and_comma_separated_are_the_same(self, client,
                                                       pushed) -> None:
        repeated = get(client, [*july(), ("groupby", "type"),
                                ("groupby", "project_id")])
        assert repeated == get(client, july(groupby="type,project_id"))

    def test_time_gives_one_row_per_stored_period(self, client,
                                                  pushed) -> None:
        rows = objects(client, july(groupby="time"))
        expected = pushed.sums(lambda start, *_: (
            start.isoformat(), (start + HOUR).isoformat()))
        assert by_group(rows, "begin", "end") == qty_rate(expected)
        assert "time" not in rows[0]

    @pytest.mark.parametrize(("option", "column", "value"), [
        ("time-d", "day_of_the_year",
         lambda start: str(start.timetuple().tm_yday)),
        ("time-w", "week_of_the_year", lambda start: start.strftime("%U")),
        ("time-m", "month", lambda start: str(start.month)),
        ("time-y", "year", lambda start: str(start.year)),
    ])
    def test_time_shorthands_group_by_the_collector_keys(
            self, client, pushed, option, column, value) -> None:
        rows = objects(client, july(groupby=option))
        assert by_group(rows, column) == qty_rate(
            pushed.sums(lambda start, *_: value(start)))

    def test_any_other_time_option_is_a_400(self, client, pushed) -> None:
        message = get(client, july(groupby="type,time-x"),
                      status=400)["message"]
        assert "Invalid groupby time option 'time-x'" in message

    @pytest.mark.parametrize("groupby", [
        "begin", "end", "qty", "rate", 'a"b', "a\\b", "type,", "x" * 256])
    def test_impossible_keys_are_a_400(self, client, groupby) -> None:
        message = get(client, july(groupby=groupby), status=400)["message"]
        assert "groupby" in message

    def test_a_key_no_point_has_groups_everything_under_null(
            self, client, pushed) -> None:
        rows = objects(client, july(groupby="nothing_has_this"))
        [(qty, rate, _)] = pushed.sums(lambda *_: None).values()
        assert rows == [{"begin": JULY[0], "end": JULY[1], "qty": qty,
                         "rate": rate, "nothing_has_this": None}]


class TestFilters:
    def test_type_is_the_metric_type(self, client, pushed) -> None:
        rows = objects(client, july(groupby="project_id",
                                    filters="type:ram"))
        assert by_group(rows, "project_id") == qty_rate(pushed.sums(
            lambda _s, _t, p: p.groupby["project_id"],
            lambda _s, t, _p: t == "ram"))

    def test_repeated_keys_match_any_value_and_keys_are_anded(
            self, client, pushed) -> None:
        expected = qty_rate(pushed.sums(
            lambda _s, t, p: (t, p.groupby["project_id"]),
            lambda _s, t, p: t == "cpu" and p.groupby["project_id"] in
            ("a", "c")))
        comma = objects(client, july(
            groupby="type,project_id",
            filters="project_id:a,project_id:c,type:cpu"))
        repeated = objects(client, [*july(groupby="type,project_id"),
                                    ("filters", "project_id:a"),
                                    ("filters", "type:cpu,project_id:c")])
        assert by_group(comma, "type", "project_id") == expected
        assert by_group(repeated, "type", "project_id") == expected

    def test_metadata_keys_filter_too(self, client, pushed) -> None:
        rows = objects(client, july(groupby="project_id",
                                    filters="flavor:m1"))
        assert by_group(rows, "project_id") == qty_rate(pushed.sums(
            lambda _s, _t, p: p.groupby["project_id"],
            lambda _s, _t, p: p.metadata.get("flavor") == "m1"))

    @pytest.mark.parametrize("filters", [
        "novalue", ":v", "a:\x00", 'k"ey:v'])
    def test_malformed_filters_are_a_400(self, client, filters) -> None:
        message = get(client, july(filters=filters), status=400)["message"]
        assert "filters" in message


class TestWindow:
    def test_default_is_the_current_month_in_utc(self, client,
                                                 make_api_conf) -> None:
        now = datetime.datetime.now(UTC)
        month = now.replace(day=1, hour=0, minute=0, second=0,
                            microsecond=0)
        previous = month - HOUR
        get_storage(make_api_conf()).push([
            frame(month, {"cpu": [point("2", "3")]}),
            frame(previous, {"cpu": [point("50", "70")]})])
        next_month = (month + datetime.timedelta(days=32)).replace(day=1)
        body = get(client, {})
        assert body["results"] == [[month.isoformat(),
                                    next_month.isoformat(), 2.0, 3.0]]

    def test_offsets_are_converted_and_naive_dates_are_utc(
            self, client, pushed) -> None:
        rows = objects(client, [("begin", "2019-07-01T02:00:00+02:00"),
                                ("end", "2019-07-01T01:00:00"),
                                ("groupby", "time")])
        assert [r["begin"] for r in rows] == [at(0).isoformat()]

    @pytest.mark.parametrize(("params", "field"), [
        ({"begin": "yesterday"}, "begin"),
        ({"end": "2019-13-01"}, "end"),
        ({"begin": "9999-12-31T23:00:00-05:00"}, "begin"),
        ({"begin": "2019-07-01", "end": "2019-06-01"}, "end"),
        ({"begin": "2200-01-01"}, "end"),
        ([("begin", "2019-07-01"), ("begin", "2019-07-02")], "begin"),
    ])
    def test_bad_dates_are_a_400_naming_the_field(self, client, params,
                                                  field) -> None:
        message = get(client, params, status=400)["message"]
        assert f"'{field}'" in message


class TestCustomFields:
    def test_sums_and_counts_with_names(self, client, pushed) -> None:
        rows = objects(client, july(
            groupby="type",
            custom_fields="SUM(qty) AS qty, SUM(price) AS rate, "
                          "COUNT(qty) AS n"))
        expected = pushed.sums(lambda _s, t, _p: t)
        assert {r["type"]: (r["qty"], r["rate"], r["n"]) for r in rows} \
            == expected
        assert all(isinstance(r["n"], int) for r in rows)
        assert list(rows[0]) == ["begin", "end", "qty", "rate", "n",
                                 "type"]

    def test_fields_replace_qty_and_rate(self, client, pushed) -> None:
        body = get(client, july(custom_fields='count(price), '
                                              'Sum("price") as "cost"'))
        [(_, rate, count)] = pushed.sums(lambda *_: None).values()
        assert body["columns"] == ["begin", "end", "count", "cost"]
        assert body["results"] == [[JULY[0], JULY[1], count, rate]]

    @pytest.mark.parametrize("fields", [
        "", "SUM(qty) AS qty; DROP TABLE cloudkitty_dataframes",
        "MEAN(qty)", "SUM(unit)", "SUM(qty) AS begin", "SUM(qty), SUM(price)",
        "SUM(qty) AS type", "SELECT * FROM dataframes", "SUM(qty) AS 1x",
        "SUM(qty", "x" * 3000])
    def test_anything_else_is_a_400_naming_custom_fields(
            self, client, pushed, fields) -> None:
        message = get(client, july(custom_fields=fields, groupby="type"),
                      status=400)["message"]
        assert "custom_fields" in message

    def test_parse_names_fields_like_influxdb(self) -> None:
        assert custom_fields.parse("SUM(qty), count(PRICE) as Items") == (
            custom_fields.Aggregate("sum", "qty", "sum"),
            custom_fields.Aggregate("count", "price", "Items"))
        assert custom_fields.parse(None) == custom_fields.parse(
            custom_fields.DEFAULT)

    def test_parse_reports_the_position(self) -> None:
        text = "SUM(qty) AS a, SUM(price) AS"
        with pytest.raises(exceptions.InvalidInput) as err:
            custom_fields.parse(text)
        assert err.value.field == "custom_fields"
        assert f"expected a name (letters, digits and '_', not starting " \
               f"with a digit) at position {len(text)}, found the end" in \
            err.value.message

    def test_a_groupby_key_named_like_a_default_field_is_a_400(
            self) -> None:
        fields = custom_fields.parse(None)
        with pytest.raises(exceptions.InvalidInput) as err:
            custom_fields.check_names(fields, ["rate"], given=False)
        assert err.value.field == "groupby"


class TestPagination:
    def test_total_is_counted_before_paging(self, client, pushed) -> None:
        everything = get(client, july(groupby="time,type"))
        page = get(client, july(groupby="time,type", offset="1",
                                limit="2"))
        assert page["total"] == everything["total"] == len(
            pushed.sums(lambda s, t, _p: (s, t)))
        assert page["results"] == everything["results"][1:3]

    def test_default_limit_is_100(self, client, make_api_conf) -> None:
        get_storage(make_api_conf()).push([frame(at(0), {"cpu": [
            point("1", "1", id=str(i)) for i in range(105)]})])
        body = get(client, july(groupby="id"))
        assert (body["total"], len(body["results"])) == (105, 100)

    def test_a_huge_limit_or_offset_is_capped(self, client,
                                              pushed) -> None:
        everything = get(client, july(groupby="time"))
        assert get(client, july(groupby="time",
                                limit=str(10 ** 30))) == everything
        beyond = get(client, july(groupby="time", offset=str(10 ** 30)))
        assert (beyond["total"], beyond["results"]) == (
            everything["total"], [])

    def test_the_cap(self) -> None:
        schema = vol.Schema(validation.CAPPED_PAGINATION)
        assert schema({"limit": [str(10 ** 30)]})["limit"] == \
            validation.MAX_LIMIT
        assert schema({"limit": ["7"]})["limit"] == 7

    @pytest.mark.parametrize(("params", "field"), [
        ({"limit": "0"}, "limit"), ({"limit": "-5"}, "limit"),
        ({"limit": "1.5"}, "limit"), ({"offset": "-1"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"response_format": "xml"}, "response_format"),
        ({"response_format": "TABLE"}, "response_format"),
        ({"colour": "red"}, "colour")])
    def test_bad_parameters_are_a_400_naming_them(self, client, params,
                                                  field) -> None:
        message = get(client, params, status=400)["message"]
        assert f"(path: '['{field}']')" in message


class TestPolicy:
    def test_admin_sees_every_project(self, keystone, pushed) -> None:
        rows = objects(keystone, july(groupby="project_id"), headers=ADMIN)
        assert set(by_group(rows, "project_id")) == {"a", "b", "c"}

    @pytest.mark.parametrize(("headers", "project"), [
        (READER_A, "a"), (MEMBER_B, "b")])
    def test_non_admins_see_only_their_project_whatever_they_filter(
            self, keystone, pushed, headers, project) -> None:
        expected = qty_rate(pushed.sums(
            lambda _s, t, p: (p.groupby["project_id"], t),
            lambda _s, _t, p: p.groupby["project_id"] == project))
        for filters in ([], [("filters", "project_id:c")],
                        [("filters", "project_id:a,project_id:b")]):
            rows = objects(keystone, [*july(groupby="project_id,type"),
                                      *filters], headers=headers)
            assert by_group(rows, "project_id", "type") == expected

    def test_unscoped_non_admin_gets_an_empty_result(self, keystone,
                                                     pushed) -> None:
        assert get(keystone, july(groupby="project_id"),
                   headers=UNSCOPED_READER) == {
            "total": 0, "columns": [], "results": [], "format": "table"}

    def test_without_a_reader_role_it_is_403(self, keystone,
                                             pushed) -> None:
        body = get(keystone, july(), headers=NO_ROLE, status=403)
        assert body == {
            "message": "You are not authorized to perform this action"}

    def test_noauth_callers_see_everything(self, client, pushed) -> None:
        rows = objects(client, july(groupby="project_id"),
                       headers=READER_A)
        assert set(by_group(rows, "project_id")) == {"a", "b", "c"}


def test_scoped_filters_replace_the_scope_key() -> None:
    class Context:
        is_admin = False
        project_id = "p"

    assert summary_api.scoped_filters(
        Context(), "tenant_id",  # type: ignore[arg-type]
        {"tenant_id": ["x"], "type": ["cpu"]}) == {
        "tenant_id": ["p"], "type": ["cpu"]}


# -- the examples of doc/source/user/summary.rst ------------------------------

DOC = Path(__file__).resolve().parents[4] / "doc" / "source" / "user" / \
    "summary.rst"


def doc_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, content)`` of every ``code-block`` of ``text``."""
    blocks: list[tuple[str, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith(".. code-block:: "):
            continue
        body: list[str] = []
        while index < len(lines) and (not lines[index].strip()
                                      or lines[index].startswith("    ")):
            body.append(lines[index][4:])
            index += 1
        blocks.append((line.split("::", 1)[1].strip(),
                       "\n".join(body).strip()))
    return blocks


def doc_examples() -> tuple[list[tuple[str, Any]],
                            list[tuple[str, Any]]]:
    """The POST examples ``(path, body)`` and the GET examples ``(path,
    expected JSON)`` of the page."""
    posts: list[tuple[str, Any]] = []
    gets: list[tuple[str, Any]] = []
    blocks = doc_blocks(DOC.read_text())
    for number, (language, content) in enumerate(blocks):
        if language != "http":
            continue
        request_line, _, rest = content.partition("\n")
        method, path, _version = request_line.split(" ")
        if method == "POST":
            posts.append((path, json.loads(rest.partition("\n\n")[2])))
        else:
            following = blocks[number + 1]
            assert following[0] == "json", request_line
            gets.append((path, json.loads(following[1])))
    return posts, gets


def test_the_documented_examples_are_what_the_api_answers(client) -> None:
    posts, gets = doc_examples()
    assert posts and gets
    for path, body in posts:
        client.post_json(path, body, status=204)
    for path, expected in gets:
        assert client.get(path, status="*").json == expected, path
