"""Contract: reading what was pushed (``push``, ``retrieve``, ``total``)."""
from __future__ import annotations

import datetime
import decimal
from decimal import Decimal

import pytest

from cloudkitty import exceptions
from cloudkitty.dataframe import DataPoint
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.storage_contract._data import (
    assert_aware_utc,
    count,
    qtys,
    rated,
)
from cloudkitty.tests.storage_factory import HOUR, T0, at, frame, point

__all__ = ["TestPushRetrieve", "TestValues", "TestTotal", "TestCustomFields",
           "TestExactMoney", "TestTimes"]


class TestPushRetrieve:
    def test_round_trip_keeps_every_field(self, storage):
        p = point("1.5", "0.25", project_id="a", unit="GiB",
                  metadata={"zone": "z1"}, description="memory", id="x")
        storage.push([frame(at(0), {"ram": [p]})])
        result = storage.retrieve()
        assert result["total"] == 1
        [got] = result["dataframes"]
        assert (got.start, got.end) == (at(0), at(1))
        assert_aware_utc(got.start, got.end)
        [(metric_type, stored)] = list(got.iterpoints())
        assert metric_type == "ram"
        assert stored == f.collected(p, at(0))

    def test_push_twice_stores_two_rows(self, storage):
        data = [frame(at(0), {"cpu": [point()]})]
        storage.push(data)
        storage.push(data)
        assert storage.retrieve()["total"] == 2

    def test_scope_id_stands_for_a_missing_scope_key(self, storage):
        storage.push([frame(at(0), {"cpu": [
            DataPoint("instance", "3", "1", {"flavor": "tiny"}, {}),
            point("4", project_id="c")]})], scope_id="b")
        assert count(storage, filters={"project_id": "b"}) == 1
        rows = storage.total(groupby=["project_id"])["results"]
        assert [(r["project_id"], r["qty"]) for r in rows] == [
            ("b", 3), ("c", 4)]

    def test_identical_points_in_one_frame_are_all_kept(self, storage):
        storage.push([frame(at(0), {"cpu": [point("1", "0.01")] * 1001})])
        assert count(storage) == 1001
        first = storage.retrieve()
        assert (first["total"], len(first["dataframes"][0])) == (1001, 1000)
        assert count(storage, filters={"project_id": "proj-a"}) == 1001

    def test_frames_regrouped_by_period_and_sorted_types(self, sample):
        frames = sample.retrieve()["dataframes"]
        assert [fr.start for fr in frames] == [at(0), at(1)]
        assert [fr.end for fr in frames] == [at(1), at(2)]
        assert list(frames[0].usage) == ["cpu", "ram"]
        assert len(frames[0]) == 3

    def test_window_is_on_period_start(self, sample):
        assert qtys(sample.retrieve(begin=at(1))) == [Decimal(8)]
        assert qtys(sample.retrieve(end=at(1))) == [1, 2, 4]
        assert qtys(sample.retrieve(begin=at(0), end=at(1))) == [1, 2, 4]
        assert sample.retrieve(begin=at(2))["total"] == 0

    def test_aware_datetimes_in_any_zone(self, sample):
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        begin = at(1).astimezone(plus2)
        assert qtys(sample.retrieve(begin=begin)) == [Decimal(8)]

    def test_naive_datetimes_are_utc(self, sample):
        begin = at(1).replace(tzinfo=None)
        assert qtys(sample.retrieve(begin=begin)) == [Decimal(8)]
        [row] = sample.total(begin=begin)["results"]
        assert row["qty"] == Decimal(8)

    @pytest.mark.parametrize("filters, expected", [
        ({"project_id": "a"}, [1, 4, 8]),
        ({"project_id": ["a", "b"]}, [1, 2, 4, 8]),
        ({"flavor": "tiny"}, [1, 8]),
        ({"flavor": ["tiny", "big"], "project_id": "b"}, [2]),
        ({"zone": "z1"}, [4]),
        ({"zone": ["z1", "z9"], "project_id": "a"}, [4]),
        ({"type": "ram"}, [4]),
        ({"type": ["ram", "cpu"], "project_id": "b"}, [2]),
        ({"flavor": "nope"}, []),
        ({"project_id": []}, []),
    ])
    def test_filters(self, sample, filters, expected):
        assert qtys(sample.retrieve(filters=filters)) == expected

    def test_groupby_value_wins_over_metadata(self, storage):
        storage.push([frame(at(0), {"cpu": [
            point("1", zone="g1", metadata={"zone": "m1"}),
            point("2", metadata={"zone": "g1"})]})])
        assert qtys(storage.retrieve(filters={"zone": "g1"})) == [1, 2]
        assert qtys(storage.retrieve(filters={"zone": "m1"})) == []

    def test_metric_types(self, sample):
        assert qtys(sample.retrieve(metric_types="ram")) == [4]
        assert qtys(sample.retrieve(metric_types=["ram", "cpu"])) == \
            [1, 2, 4, 8]
        assert qtys(sample.retrieve(metric_types=["gpu"])) == []

    def test_numbers_in_groupby_match_as_text(self, storage):
        storage.push([frame(at(0), {"vol": [point(size=5)]})])
        assert storage.retrieve(filters={"size": "5"})["total"] == 1
        assert storage.retrieve(filters={"size": 5})["total"] == 1

    def test_pagination_counts_before_paginating(self, sample):
        page = sample.retrieve(offset=1, limit=2)
        assert page["total"] == 4
        assert sum(len(fr) for fr in page["dataframes"]) == 2
        rest = sample.retrieve(offset=3, limit=2)
        assert [fr.start for fr in rest["dataframes"]] == [at(1)]
        assert sum(len(fr) for fr in
                   sample.retrieve(paginate=False, limit=1)["dataframes"]) \
            == 4
        assert sample.retrieve(offset=9)["dataframes"] == []

    def test_pages_visit_every_point_once_in_period_order(self, storage):
        storage.push([rated(hour, str(hour * 10 + n), f"p{n}")
                      for hour in range(4) for n in range(3)])
        seen, starts = [], []
        for offset in range(0, 12, 5):
            page = storage.retrieve(offset=offset, limit=5)
            assert page["total"] == 12
            starts += [fr.start for fr in page["dataframes"]]
            seen += qtys(page)
        assert sorted(seen) == qtys(storage.retrieve())
        assert len(seen) == 12
        assert starts == sorted(starts)

    @pytest.mark.parametrize("limit", [1, 3, 7])
    @pytest.mark.parametrize("metric_types", [None, "ram"])
    def test_pages_cut_inside_periods_keep_the_whole_order(
            self, storage, limit, metric_types):
        # Several pushes per period, two types: page boundaries fall
        # inside periods and between points of one timestamp.
        for hour in range(4):
            for push in range(2):
                storage.push([frame(at(hour), {
                    "cpu": [point(str(hour * 100 + push * 10 + n),
                                  project_id=f"p{n}") for n in range(2)],
                    "ram": [point(str(hour * 100 + push * 10 + 5),
                                  project_id="p0")]})])
        whole = storage.retrieve(metric_types=metric_types, paginate=False)
        seen: list[tuple[datetime.datetime, Decimal]] = []
        offset = 0
        while True:
            page = storage.retrieve(metric_types=metric_types,
                                    offset=offset, limit=limit)
            assert page["total"] == whole["total"]
            if not page["dataframes"]:
                break
            got = [(fr.start, p.qty) for fr in page["dataframes"]
                   for _, p in fr.iterpoints()]
            assert len(got) == min(limit, whole["total"] - offset)
            seen += got
            offset += limit
        # Every point once (quantities are all different), period after
        # period.
        assert sorted(seen) == sorted(
            (fr.start, p.qty) for fr in whole["dataframes"]
            for _, p in fr.iterpoints())
        assert len(seen) == whole["total"] == (24 if metric_types is None
                                               else 8)
        assert [start for start, _ in seen] == sorted(
            start for start, _ in seen)

    @pytest.mark.parametrize("kwargs, field", [
        ({"offset": -1}, "offset"), ({"limit": 0}, "limit")])
    def test_bad_page_names_the_field(self, storage, kwargs, field):
        with pytest.raises(exceptions.InvalidInput) as err:
            storage.retrieve(**kwargs)
        assert err.value.field == field

    def test_init_twice_keeps_the_data(self, sample):
        sample.init()
        assert qtys(sample.retrieve()) == [1, 2, 4, 8]


class TestValues:
    ODD = 'a b,c=d"e\\f\'g é☃'

    def test_special_characters_round_trip_and_match(self, storage):
        p = point("1", "2", project_id="p 1,x=y", name=self.ODD,
                  metadata={"note": self.ODD, "name2": "x,y z"},
                  description=self.ODD, unit="Gi B")
        storage.push([frame(at(0), {"image.size": [p]})])
        [got] = storage.retrieve()["dataframes"]
        assert list(got.iterpoints()) == [("image.size",
                                           f.collected(p, at(0)))]
        for filters in ({"name": self.ODD}, {"note": self.ODD},
                        {"project_id": "p 1,x=y"}, {"type": "image.size"}):
            assert count(storage, filters=filters) == 1, filters
        rows = storage.total(groupby=["type", "name", "project_id"],
                             metric_types="image.size")["results"]
        assert [(r["type"], r["name"], r["project_id"]) for r in rows] == [
            ("image.size", self.ODD, "p 1,x=y")]
        storage.delete(filters={"name": self.ODD})
        assert count(storage) == 0

    def test_quotes_in_filter_values_match_literally(self, sample):
        for value in ("a' OR 'x'='x", 'a" OR "x"="x', "a\\", "a'"):
            assert count(sample, filters={"project_id": value}) == 0
            assert count(sample, filters={"flavor": value}) == 0
            assert sample.total(filters={"zone": value})["results"] == []
            sample.delete(filters={"project_id": value})
        assert qtys(sample.retrieve()) == [1, 2, 4, 8]

    def test_empty_string_values(self, storage):
        p = point("1", project_id="a", flavor="", metadata={"note": ""})
        storage.push([frame(at(0), {"cpu": [p]})])
        [got] = storage.retrieve()["dataframes"]
        assert list(got.iterpoints()) == [("cpu", f.collected(p, at(0)))]
        assert count(storage, filters={"flavor": ""}) == 1
        assert count(storage, filters={"note": ""}) == 1

    def test_metadata_keeps_its_json_types(self, storage):
        p = point("1", metadata={"size": 5, "ratio": 0.5, "on": True,
                                 "name": "5"})
        storage.push([frame(at(0), {"cpu": [p]})])
        [(_, got)] = list(storage.retrieve()["dataframes"][0].iterpoints())
        assert dict(got.metadata) == {"size": 5, "ratio": 0.5, "on": True,
                                      "name": "5"}
        assert [type(got.metadata[k]) for k in ("size", "ratio", "on")] == \
            [int, float, bool]
        assert count(storage, filters={"size": "5"}) == 1
        assert count(storage, filters={"size": 5}) == 1


class TestTotal:
    def test_no_groupby_is_one_row_over_the_window(self, sample):
        result = sample.total(begin=at(0), end=at(5))
        assert result == {"total": 1, "results": [{
            "begin": at(0), "end": at(5), "qty": Decimal(15),
            "rate": Decimal(150)}]}

    def test_no_data_is_no_row(self, sample):
        assert sample.total(begin=at(7)) == {"total": 0, "results": []}
        assert sample.total(groupby=["type"], begin=at(7)) == {
            "total": 0, "results": []}

    def test_groupby_type(self, sample):
        rows = sample.total(groupby=["type"])["results"]
        assert [(r["type"], r["qty"], r["rate"]) for r in rows] == [
            ("cpu", Decimal(11), Decimal(110)),
            ("ram", Decimal(4), Decimal(40))]

    def test_groupby_scope_key_and_groupby_key(self, sample):
        rows = sample.total(groupby=["project_id", "flavor"])["results"]
        assert [(r["project_id"], r["flavor"], r["qty"]) for r in rows] == [
            ("a", "tiny", Decimal(9)), ("a", None, Decimal(4)),
            ("b", "big", Decimal(2))]
        assert set(rows[0]) == {"begin", "end", "qty", "rate", "project_id",
                                "flavor"}

    def test_groupby_order_is_the_sort_order(self, sample):
        rows = sample.total(groupby=["flavor", "project_id"])["results"]
        assert [(r["flavor"], r["project_id"]) for r in rows] == [
            ("big", "b"), ("tiny", "a"), (None, "a")]

    def test_groupby_time_gives_stored_periods(self, sample):
        rows = sample.total(groupby=["time"], begin=at(0),
                            end=at(9))["results"]
        assert [(r["begin"], r["end"], r["qty"]) for r in rows] == [
            (at(0), at(1), Decimal(7)), (at(1), at(2), Decimal(8))]
        assert "time" not in rows[0]

    def test_groupby_time_and_type(self, sample):
        rows = sample.total(groupby=["time", "type"])["results"]
        assert [(r["begin"], r["type"], r["rate"]) for r in rows] == [
            (at(0), "cpu", Decimal(30)), (at(0), "ram", Decimal(40)),
            (at(1), "cpu", Decimal(80))]

    @pytest.mark.parametrize("shorthand, key, value", [
        ("time-d", "day_of_the_year", "182"),
        ("time-w", "week_of_the_year", "26"),
        ("time-m", "month", "7"),
        ("time-y", "year", "2019"),
    ])
    def test_time_shorthands(self, sample, shorthand, key, value):
        rows = sample.total(groupby=[shorthand, "type"])["results"]
        assert [(r[key], r["type"]) for r in rows] == [(value, "cpu"),
                                                       (value, "ram")]
        assert shorthand not in rows[0]

    @pytest.mark.parametrize("groupby", [["time-x"], ["time-"], [""]])
    def test_invalid_groupby_names_the_field(self, sample, groupby):
        with pytest.raises(exceptions.InvalidInput) as err:
            sample.total(groupby=groupby)
        assert err.value.field == "groupby"

    def test_filters_and_metric_types(self, sample):
        rows = sample.total(filters={"project_id": "a"},
                            metric_types=["cpu"])["results"]
        assert rows[0]["qty"] == Decimal(9)
        rows = sample.total(filters={"type": "ram"})["results"]
        assert rows[0]["qty"] == Decimal(4)
        rows = sample.total(metric_types="cpu",
                            filters={"flavor": ["tiny", "big"]})["results"]
        assert rows[0]["qty"] == Decimal(11)
        rows = sample.total(filters={"zone": "z1"})["results"]
        assert rows[0]["rate"] == Decimal(40)

    def test_pagination_counts_before_paginating(self, sample):
        result = sample.total(groupby=["time", "project_id"], offset=1,
                              limit=1)
        assert result["total"] == 3
        assert [(r["begin"], r["project_id"]) for r in result["results"]] \
            == [(at(0), "b")]
        every = sample.total(groupby=["time", "project_id"], limit=1,
                             paginate=False)
        assert [(r["begin"], r["project_id"]) for r in every["results"]] \
            == [(at(0), "a"), (at(0), "b"), (at(1), "a")]
        past = sample.total(groupby=["type"], offset=5)
        assert past == {"total": 2, "results": []}
        # The last page: the count comes with the rows.
        last = sample.total(groupby=["type", "project_id"], offset=2)
        assert last["total"] == 3
        assert [(r["type"], r["project_id"]) for r in last["results"]] == [
            ("ram", "a")]

    @pytest.mark.parametrize("kwargs, field", [
        ({"offset": -1}, "offset"), ({"limit": 0}, "limit")])
    def test_bad_page_names_the_field(self, storage, kwargs, field):
        with pytest.raises(exceptions.InvalidInput) as err:
            storage.total(**kwargs)
        assert err.value.field == field

    @pytest.mark.parametrize("method", ["total", "raw_total"])
    def test_errors_come_in_one_order(self, storage, method):
        # custom_fields, then the page, then groupby, then the field names
        # against groupby: whichever path (rollups or raw) answers.
        call = getattr(storage, method, None)
        if call is None:
            pytest.skip(f"{type(storage).__name__} has no {method}()")
        bad = {"custom_fields": "MEAN(qty)", "offset": -1,
               "groupby": ["time-x"]}
        for field in ("custom_fields", "offset", "groupby"):
            with pytest.raises(exceptions.InvalidInput) as err:
                call(**bad)
            assert err.value.field == field
            del bad[field]
        with pytest.raises(exceptions.InvalidInput) as err:
            call(groupby=["type"], custom_fields="SUM(qty) AS type",
                 filters={"": "x"})
        assert err.value.field == "custom_fields"
        with pytest.raises(exceptions.InvalidInput) as err:
            call(groupby=["type"], filters={"": "x"})
        assert err.value.field == "filters"


class TestCustomFields:
    def test_custom_fields_choose_the_columns(self, sample):
        [row] = sample.total(
            custom_fields="COUNT(qty) AS n, SUM(price) AS cost, SUM(qty)"
        )["results"]
        # Four points: prices 10 + 20 + 40 + 80, quantities 1 + 2 + 4 + 8.
        assert (row["n"], row["cost"], row["sum"]) == (4, 150, 15)
        assert list(row) == ["begin", "end", "n", "cost", "sum"]
        rows = sample.total(groupby=["project_id"],
                            custom_fields="SUM(qty) AS qty")["results"]
        assert sorted((r["project_id"], r["qty"]) for r in rows) == [
            ("a", 13), ("b", 2)]

    def test_types_case_and_quotes(self, sample):
        [row] = sample.total(
            custom_fields='sum("Qty") as q, count(PRICE)')["results"]
        assert row["q"] == Decimal(15)
        assert isinstance(row["q"], Decimal)
        assert row["count"] == 4
        assert isinstance(row["count"], int)
        assert "qty" not in row and "rate" not in row

    def test_with_groupby_time_and_filters(self, sample):
        rows = sample.total(groupby=["time"], filters={"project_id": "a"},
                            custom_fields="COUNT(qty) AS points")["results"]
        assert [(r["begin"], r["points"]) for r in rows] == [
            (at(0), 2), (at(1), 1)]

    @pytest.mark.parametrize("text", [
        "", "   ", "MEAN(qty)", "SUM(cost)", "SUM(qty) AS begin",
        "SUM(qty), SUM(price)", "SUM(qty) AS a b", "SUM(qty) AS 1x",
        'SUM(qty); DROP MEASUREMENT "dataframes"', "SUM(qty) AS x,",
        "*", "SUM(qty) AS " + "n" * 65,
    ])
    def test_invalid_names_the_field(self, sample, text):
        with pytest.raises(exceptions.InvalidInput) as err:
            sample.total(custom_fields=text)
        assert err.value.field == "custom_fields"
        assert count(sample) == 4

    def test_name_of_a_groupby_key_is_refused(self, sample):
        with pytest.raises(exceptions.InvalidInput) as err:
            sample.total(groupby=["project_id"],
                         custom_fields="SUM(qty) AS project_id")
        assert err.value.field == "custom_fields"

    def test_groupby_on_a_default_column_is_refused(self, sample):
        with pytest.raises(exceptions.InvalidInput) as err:
            sample.total(groupby=["qty"])
        assert err.value.field == "groupby"


class TestExactMoney:
    def test_tenths_sum_exactly(self, storage):
        storage.push([frame(at(0), {"cpu": [point("0.1", "0.1"),
                                            point("0.2", "0.2")]})])
        [row] = storage.total()["results"]
        assert row["qty"] == Decimal("0.3")
        assert str(row["rate"]) == "0.3"

    def test_28_decimal_prices(self, storage):
        prices = ["0.1234567890123456789012345678",
                  "12345.0000000000000000000000000001",
                  "0.0000000000000000000000000003"]
        storage.push([frame(at(0), {"cpu": [point("1", p) for p in prices]})])
        [row] = storage.total()["results"]
        with decimal.localcontext(prec=100):
            assert row["rate"] == sum(Decimal(p) for p in prices)
        assert str(row["rate"]) == "12345.1234567890123456789012345682"
        stored = [p.price for fr in storage.retrieve()["dataframes"]
                  for _, p in fr.iterpoints()]
        assert sorted(stored) == sorted(Decimal(p) for p in prices)

    def test_many_small_amounts(self, storage):
        storage.push([frame(at(0), {"cpu": [point("1", "0.01")] * 1000})])
        assert storage.total()["results"][0]["rate"] == Decimal("10")

    def test_grouped_sums_are_exact(self, storage):
        storage.push([frame(at(hour), {"cpu": [
            point("0.1", "0.07", project_id="a"),
            point("0.3", "0.0000001", project_id="b")]})
            for hour in range(10)])
        rows = storage.total(groupby=["time-d", "project_id"])["results"]
        assert [(r["project_id"], r["qty"], r["rate"]) for r in rows] == [
            ("a", Decimal(1), Decimal("0.7")),
            ("b", Decimal(3), Decimal("0.000001"))]


class TestTimes:
    def test_returned_times_are_aware_utc(self, sample):
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        for fr in sample.retrieve()["dataframes"]:
            assert_aware_utc(fr.start, fr.end)
        for groupby in (None, ["time"], ["time", "type"]):
            for row in sample.total(groupby=groupby,
                                    begin=at(0).astimezone(plus2),
                                    end=at(2).replace(tzinfo=None)
                                    )["results"]:
                assert_aware_utc(row["begin"], row["end"])
        for row in sample.total(groupby=["time"])["results"]:
            assert_aware_utc(row["begin"], row["end"])
        [row] = sample.total(begin=at(0).astimezone(plus2),
                             end=at(2))["results"]
        assert (row["begin"], row["end"]) == (at(0), at(2))
        assert T0.tzinfo is not None

    def test_periods_of_any_length(self, storage):
        day = datetime.timedelta(days=1)
        storage.push([frame(T0, {"cpu": [point("3")]}, period=day),
                      frame(T0 + day, {"cpu": [point("4")]},
                            period=5 * HOUR)])
        rows = storage.total(groupby=["time"])["results"]
        assert [(r["begin"], r["end"], r["qty"]) for r in rows] == [
            (T0, T0 + day, 3), (T0 + day, T0 + day + 5 * HOUR, 4)]
        assert [(fr.start, fr.end) for fr in
                storage.retrieve()["dataframes"]] == [
            (T0, T0 + day), (T0 + day, T0 + day + 5 * HOUR)]
