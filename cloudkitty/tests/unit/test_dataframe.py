"""DataPoint and DataFrame: immutability, Decimal money, dict forms."""
from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from cloudkitty import exceptions
from cloudkitty.dataframe import (
    DataFrame,
    DataFrameBuilder,
    DataPoint,
    parse_datetime,
)
from cloudkitty.tests.storage_factory import HOUR, T0, UTC, point


def v2_point(**overrides):
    data = {"vol": {"unit": "GiB", "qty": 1.2}, "rating": {"price": 0.04},
            "groupby": {"project_id": "p", "id": "i"},
            "metadata": {"flavor_name": "m1.tiny"}}
    data.update(overrides)
    return data


class TestDataPoint:
    def test_float_money_goes_through_str(self):
        p = DataPoint("GiB", 0.1, 0.2, {}, {})
        assert p.qty == Decimal("0.1")
        assert p.price == Decimal("0.2")
        assert p.qty + p.price == Decimal("0.3")

    @pytest.mark.parametrize("unit", ["", None])
    def test_empty_unit_is_undefined(self, unit):
        assert DataPoint(unit, 1, 0, {}, {}).unit == "undefined"

    def test_is_immutable(self):
        p = point()
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.qty = Decimal(2)  # type: ignore[misc]
        with pytest.raises(TypeError):
            p.groupby["project_id"] = "other"  # type: ignore[index]

    def test_mappings_are_copied(self):
        groupby = {"project_id": "a"}
        p = DataPoint("u", 1, 0, groupby, {})
        groupby["project_id"] = "b"
        assert p.groupby["project_id"] == "a"

    def test_desc_merges_and_groupby_wins(self):
        p = DataPoint("u", 1, 0, {"k": "g", "a": "1"}, {"k": "m", "b": "2"})
        assert dict(p.desc) == {"k": "g", "a": "1", "b": "2"}

    def test_set_price_returns_a_copy(self):
        p = point(price="1")
        q = p.set_price("2.5")
        assert p.price == Decimal("1")
        assert q.price == Decimal("2.5")
        assert q.groupby == p.groupby

    def test_stamp_adds_groupby_and_description_like_replace(self):
        p = DataPoint("u", "2.5", "1", {"id": "x", "month": 1}, {"m": "v"})
        stamped = p.stamp({"month": 7, "year": 2026}, "a metric")
        assert stamped == p.replace(
            groupby={"id": "x", "month": 7, "year": 2026},
            description="a metric")
        assert dict(p.groupby) == {"id": "x", "month": 1}
        with pytest.raises(TypeError):
            stamped.groupby["id"] = "y"  # type: ignore[index]

    @pytest.mark.parametrize("groupby,description,field", [
        ({1: "x"}, None, "groupby"), ({}, 3, "description"),
        ("month", None, "groupby")])
    def test_stamp_checks_what_it_adds(self, groupby, description, field):
        with pytest.raises(exceptions.DataFrameError) as caught:
            point().stamp(groupby, description)
        assert caught.value.field == field

    def test_equal_points_hash_equal(self):
        assert point() == point()
        assert len({point(), point()}) == 1

    @pytest.mark.parametrize("qty", ["abc", "NaN", "Infinity", True, [1]])
    def test_bad_qty_names_the_field(self, qty):
        with pytest.raises(exceptions.DataFrameError) as err:
            DataPoint("u", qty, 0, {}, {})
        assert err.value.field == "qty"

    def test_v2_dict_round_trip(self):
        p = DataPoint.from_dict(v2_point())
        assert p.qty == Decimal("1.2") and p.price == Decimal("0.04")
        out = p.as_dict(mutable=True)
        assert out == {"vol": {"unit": "GiB", "qty": Decimal("1.2")},
                       "rating": {"price": Decimal("0.04")},
                       "groupby": {"project_id": "p", "id": "i"},
                       "metadata": {"flavor_name": "m1.tiny"}}
        assert DataPoint.from_dict(out) == p

    def test_legacy_dict_form_both_ways(self):
        p = DataPoint("u", 1, 2, {"project_id": "p"}, {"flavor": "f"})
        legacy = p.as_dict(legacy=True, mutable=True)
        assert legacy["desc"] == {"project_id": "p", "flavor": "f"}
        assert "groupby" not in legacy and "metadata" not in legacy
        back = DataPoint.from_dict(legacy, legacy=True)
        assert dict(back.groupby) == {"project_id": "p", "flavor": "f"}
        assert dict(back.metadata) == {}

    def test_price_defaults_to_zero(self):
        data = v2_point()
        del data["rating"]
        assert DataPoint.from_dict(data).price == Decimal(0)

    @pytest.mark.parametrize("data, field", [
        ({"rating": {"price": 1}, "groupby": {}, "metadata": {}}, "vol"),
        (v2_point(vol={"qty": 1}), "vol.unit"),
        (v2_point(vol={"unit": "u"}), "vol.qty"),
        (v2_point(vol={"unit": "u", "qty": "x"}), "vol.qty"),
        (v2_point(rating={"price": "x"}), "rating.price"),
        ({"vol": {"unit": "u", "qty": 1}, "metadata": {}}, "groupby"),
        (v2_point(metadata=[1]), "metadata"),
    ])
    def test_from_dict_errors_name_the_field(self, data, field):
        with pytest.raises(exceptions.DataFrameError) as err:
            DataPoint.from_dict(data)
        assert err.value.field == field
        assert field in str(err.value)


    def test_collected_is_the_point_the_constructor_builds(self):
        groupby, metadata = {"id": "r1", "project_id": "p"}, {"flavor": "f"}
        fast = DataPoint.collected("", Decimal("2.50"), dict(groupby),
                                   dict(metadata))
        full = DataPoint("", Decimal("2.50"), 0, groupby, metadata)
        assert fast == full and hash(fast) == hash(full)
        assert (fast.unit, fast.price, fast.description) == (
            "undefined", Decimal(0), None)
        with pytest.raises(TypeError):
            fast.groupby["id"] = "other"  # type: ignore[index]

    @pytest.mark.parametrize("qty", [Decimal("NaN"), Decimal("-Infinity")])
    def test_collected_checks_the_quantity_like_the_constructor(self, qty):
        with pytest.raises(exceptions.DataFrameError) as err:
            DataPoint.collected("u", qty, {}, {})
        assert err.value.field == "qty"


class TestDataFrame:
    def frame_dict(self, **period):
        return {"period": period or {"begin": "2019-07-23T12:28:10+00:00",
                                     "end": "2019-07-23T13:28:10+00:00"},
                "usage": {"zz": [v2_point()], "aa": [v2_point(), v2_point()]}}

    def test_from_dict_sorts_types_and_parses_period(self):
        frame = DataFrame.from_dict(self.frame_dict())
        assert list(frame.usage) == ["aa", "zz"]
        assert frame.start == datetime.datetime(2019, 7, 23, 12, 28, 10,
                                                tzinfo=UTC)
        assert len(frame) == 3

    def test_basic_iso_format_is_accepted(self):
        frame = DataFrame.from_dict(self.frame_dict(
            begin="20190723T122810Z", end="20190723T132810Z"))
        assert frame.start == datetime.datetime(2019, 7, 23, 12, 28, 10,
                                                tzinfo=UTC)
        assert frame.end - frame.start == HOUR

    def test_datetimes_are_accepted(self):
        frame = DataFrame.from_dict(self.frame_dict(begin=T0, end=T0 + HOUR))
        assert (frame.start, frame.end) == (T0, T0 + HOUR)

    def test_as_dict_round_trip(self):
        frame = DataFrame.from_dict(self.frame_dict())
        assert DataFrame.from_dict(frame.as_dict(mutable=True)) == frame
        legacy = frame.as_dict(legacy=True, mutable=True)
        assert "desc" in legacy["usage"]["aa"][0]
        assert len(DataFrame.from_dict(legacy, legacy=True)) == 3

    def test_point_error_names_the_path(self):
        data = self.frame_dict()
        data["usage"]["cpu"] = [v2_point(vol={"unit": "u", "qty": "x"})]
        with pytest.raises(exceptions.DataFrameError) as err:
            DataFrame.from_dict(data)
        assert err.value.field == "usage.cpu[0].vol.qty"

    @pytest.mark.parametrize("period, field", [
        ({"begin": "not a date", "end": "2019-01-01"}, "period.begin"),
        ({"begin": "2019-01-01"}, "period.end"),
        ({"begin": "2019-01-02", "end": "2019-01-01"}, "period.end"),
    ])
    def test_bad_period_names_the_field(self, period, field):
        with pytest.raises(exceptions.DataFrameError) as err:
            DataFrame.from_dict({"period": period, "usage": {}})
        assert err.value.field == field

    def test_start_must_be_a_datetime(self):
        with pytest.raises(exceptions.DataFrameError) as err:
            DataFrame("2019-01-01", T0)  # type: ignore[arg-type]
        assert err.value.field == "start"

    def test_iterpoints_and_itertypes(self):
        a, b, c = point("1"), point("2"), point("3")
        frame = DataFrame(T0, T0 + HOUR, {"x": [a, b], "y": [c]})
        assert list(frame.iterpoints()) == [("x", a), ("x", b), ("y", c)]
        assert list(frame.itertypes()) == [("x", (a, b)), ("y", (c,))]

    def test_add_points_returns_a_new_frame(self):
        frame = DataFrame(T0, T0 + HOUR)
        grown = frame.add_points([point()], "cpu").add_point(point(), "cpu")
        assert len(frame) == 0
        assert len(grown) == 2
        with pytest.raises(TypeError):
            grown.usage["cpu"] = ()  # type: ignore[index]

    def test_map_points_drops_none_and_empty_types(self):
        frame = DataFrame(T0, T0 + HOUR, {"x": [point("0")],
                                          "y": [point("1"), point("0")]})
        priced = frame.map_points(
            lambda _t, p: None if p.qty == 0 else p.set_price("5"))
        assert list(priced.usage) == ["y"]
        assert [p.price for p in priced.usage["y"]] == [Decimal("5")]

    def test_builder_accumulates_then_freezes(self):
        builder = DataFrameBuilder(T0, T0 + HOUR)
        builder.add_point(point(), "cpu")
        builder.add_points([point(), point()], "ram")
        frame = builder.build()
        assert {t: len(p) for t, p in frame.itertypes()} == {"cpu": 1,
                                                            "ram": 2}


@pytest.mark.parametrize("text, expected", [
    ("2019-07-23T12:28:10Z", datetime.datetime(2019, 7, 23, 12, 28, 10,
                                               tzinfo=UTC)),
    ("20190723T122810+0200", datetime.datetime(
        2019, 7, 23, 10, 28, 10, tzinfo=UTC)),
    ("2019-07-23T12:28:10", datetime.datetime(2019, 7, 23, 12, 28, 10)),
])
def test_parse_datetime(text, expected):
    assert parse_datetime(text, "f") == expected
