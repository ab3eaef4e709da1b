"""The sqlalchemy v2 storage backend.

Runs on SQLite here; ``tests/functional/test_storage_sqlalchemy.py``
re-runs every test of this module on PostgreSQL and MariaDB too.
"""
from __future__ import annotations

import datetime
import decimal
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.storage.v2.sqlalchemy import SQLAlchemyStorage
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.storage_factory import T0, at, frame, point


@pytest.fixture
def conf(migrated_conf):
    return migrated_conf


@pytest.fixture
def storage(conf) -> SQLAlchemyStorage:
    backend = get_storage(conf)
    assert isinstance(backend, SQLAlchemyStorage)
    backend.init()
    return backend


def row_count(storage) -> int:
    with storage.engine.connect() as connection:
        return connection.scalar(sa.text(
            "SELECT COUNT(*) FROM cloudkitty_dataframes"))


def qtys(result) -> list[Decimal]:
    return sorted(p.qty for frame_ in result["dataframes"]
                  for _, p in frame_.iterpoints())


@pytest.fixture
def sample(storage):
    """Two projects, two metric types, two periods."""
    storage.push([
        frame(at(0), {
            "cpu": [point("1", "10", project_id="a", flavor="tiny"),
                    point("2", "20", project_id="b", flavor="big")],
            "ram": [point("4", "40", project_id="a",
                          metadata={"zone": "z1"})],
        }),
        frame(at(1), {
            "cpu": [point("8", "80", project_id="a", flavor="tiny")],
        }),
    ])
    return storage


class TestPushRetrieve:
    def test_round_trip_keeps_every_field(self, storage):
        p = point("1.5", "0.25", project_id="a", unit="GiB",
                  metadata={"zone": "z1"}, description="memory", id="x")
        storage.push([frame(at(0), {"ram": [p]})])
        result = storage.retrieve()
        assert result["total"] == 1
        [got] = result["dataframes"]
        assert (got.start, got.end) == (at(0), at(1))
        assert got.start.tzinfo is not None
        [(metric_type, stored)] = list(got.iterpoints())
        assert metric_type == "ram"
        assert stored == f.collected(p, at(0))

    def test_push_twice_stores_two_rows(self, storage):
        data = [frame(at(0), {"cpu": [point()]})]
        storage.push(data)
        storage.push(data)
        assert storage.retrieve()["total"] == 2

    def test_frames_regrouped_by_period_and_sorted_types(self, sample):
        frames = sample.retrieve()["dataframes"]
        assert [fr.start for fr in frames] == [at(0), at(1)]
        assert list(frames[0].usage) == ["cpu", "ram"]
        assert len(frames[0]) == 3

    def test_window_is_on_period_start(self, sample):
        assert qtys(sample.retrieve(begin=at(1))) == [Decimal(8)]
        assert qtys(sample.retrieve(end=at(1))) == [1, 2, 4]
        assert sample.retrieve(begin=at(2))["total"] == 0

    def test_aware_datetimes_in_any_zone(self, sample):
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        begin = at(1).astimezone(plus2)
        assert qtys(sample.retrieve(begin=begin)) == [Decimal(8)]

    @pytest.mark.parametrize("filters, expected", [
        ({"project_id": "a"}, [1, 4, 8]),
        ({"project_id": ["a", "b"]}, [1, 2, 4, 8]),
        ({"flavor": "tiny"}, [1, 8]),
        ({"flavor": ["tiny", "big"], "project_id": "b"}, [2]),
        ({"zone": "z1"}, [4]),
        ({"type": "ram"}, [4]),
        ({"type": ["ram", "cpu"], "project_id": "b"}, [2]),
        ({"flavor": "nope"}, []),
    ])
    def test_filters(self, sample, filters, expected):
        assert qtys(sample.retrieve(filters=filters)) == expected

    def test_metric_types(self, sample):
        assert qtys(sample.retrieve(metric_types="ram")) == [4]
        assert qtys(sample.retrieve(metric_types=["ram", "cpu"])) == \
            [1, 2, 4, 8]

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

    @pytest.mark.parametrize("kwargs, field", [
        ({"offset": -1}, "offset"), ({"limit": 0}, "limit")])
    def test_bad_page_names_the_field(self, storage, kwargs, field):
        with pytest.raises(exceptions.InvalidInput) as err:
            storage.retrieve(**kwargs)
        assert err.value.field == field


class TestTotal:
    def test_no_groupby_is_one_row_over_the_window(self, sample):
        result = sample.total(begin=at(0), end=at(5))
        assert result == {"total": 1, "results": [{
            "begin": at(0), "end": at(5), "qty": Decimal(15),
            "rate": Decimal(150)}]}

    def test_no_data_is_no_row(self, sample):
        assert sample.total(begin=at(7)) == {"total": 0, "results": []}

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

    def test_groupby_time_gives_stored_periods(self, sample):
        rows = sample.total(groupby=["time"], begin=at(0),
                            end=at(9))["results"]
        assert [(r["begin"], r["end"], r["qty"]) for r in rows] == [
            (at(0), at(1), Decimal(7)), (at(1), at(2), Decimal(8))]
        assert "time" not in rows[0]

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

    def test_invalid_time_option(self, sample):
        with pytest.raises(exceptions.InvalidInput) as err:
            sample.total(groupby=["time-x"])
        assert err.value.field == "groupby"

    def test_filters_and_metric_types(self, sample):
        rows = sample.total(filters={"project_id": "a"},
                            metric_types=["cpu"])["results"]
        assert rows[0]["qty"] == Decimal(9)
        rows = sample.total(filters={"type": "ram"})["results"]
        assert rows[0]["qty"] == Decimal(4)

    def test_pagination_counts_before_paginating(self, sample):
        result = sample.total(groupby=["time", "project_id"], offset=1,
                              limit=1)
        assert result["total"] == 3
        assert [(r["begin"], r["project_id"]) for r in result["results"]] \
            == [(at(0), "b")]

    def test_custom_fields_choose_the_columns(self, sample):
        [row] = sample.total(
            custom_fields="COUNT(qty) AS n, SUM(price) AS cost, SUM(qty)"
        )["results"]
        # Four points: prices 10 + 20 + 40 + 80, quantities 1 + 2 + 4 + 8.
        assert (row["n"], row["cost"], row["sum"]) == (4, 150, 15)
        rows = sample.total(groupby=["project_id"],
                            custom_fields="SUM(qty) AS qty")["results"]
        assert sorted((r["project_id"], r["qty"]) for r in rows) == [
            ("a", 13), ("b", 2)]


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


class TestDelete:
    def test_window(self, sample):
        sample.delete(begin=at(1), end=at(2))
        assert qtys(sample.retrieve()) == [1, 2, 4]

    def test_open_end(self, sample):
        sample.delete(begin=at(0))
        assert sample.retrieve()["total"] == 0

    def test_filters(self, sample):
        sample.delete(filters={"project_id": "a", "type": "cpu"})
        assert qtys(sample.retrieve()) == [2, 4]


class TestReplaceScopePeriod:
    def test_twice_stores_once_and_advances_state(self, sample, conf):
        new = [frame(at(1), {"cpu": [point("100", "1", project_id="a")]})]
        sample.replace_scope_period("a", at(1), at(2), new)
        sample.replace_scope_period("a", at(1), at(2), new)
        assert qtys(sample.retrieve()) == [1, 2, 4, 100]
        assert StateManager(conf).get_last_processed_timestamp("a") == at(1)

    def test_only_the_scope_and_window_change(self, sample):
        sample.replace_scope_period("b", at(0), at(1), [])
        assert qtys(sample.retrieve()) == [1, 4, 8]

    def test_failure_leaves_data_and_state_unchanged(self, sample, conf):
        StateManager(conf).set_last_processed_timestamp("a", at(0))

        def frames():
            yield frame(at(1), {"cpu": [point("100", project_id="a")]})
            raise RuntimeError("rating failed mid-way")

        with pytest.raises(RuntimeError):
            sample.replace_scope_period("a", at(1), at(2), frames())
        assert qtys(sample.retrieve()) == [1, 2, 4, 8]
        assert StateManager(conf).get_last_processed_timestamp("a") == at(0)

    def test_database_failure_rolls_back(self, sample, conf):
        before = qtys(sample.retrieve())
        with sample.engine.begin() as connection:
            connection.execute(sa.text(
                "ALTER TABLE cloudkitty_storage_states RENAME TO gone"))
        with pytest.raises(exceptions.StorageError):
            sample.replace_scope_period(
                "a", at(1), at(2), [frame(at(1), {"cpu": [point("100")]})])
        assert qtys(sample.retrieve()) == before

    def test_reprocessing_moves_the_schedule_not_the_state(self, sample,
                                                           conf):
        schedules = ReprocessingSchedules(conf)
        [task] = schedules.create("a", at(0), at(1), "fix prices")
        sample.replace_scope_period("a", at(0), at(1), [], schedule_id=task.id)
        [task] = schedules.list_schedules()
        assert task.current_reprocess_time == at(0)
        assert StateManager(conf).get_last_processed_timestamp("a") is None
        assert qtys(sample.retrieve()) == [2, 8]

    def test_reset_scope(self, sample, conf):
        sample.reset_scope("a", at(1))
        assert qtys(sample.retrieve()) == [1, 2, 4]
        # Rating resumes with the period starting at the reset point.
        assert StateManager(conf).get_last_processed_timestamp("a") == at(0)


def test_init_fails_without_the_table(storage):
    with storage.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE cloudkitty_dataframes"))
    with pytest.raises(exceptions.StorageError) as err:
        storage.init()
    assert "cloudkitty_dataframes" in str(err.value)


def test_returned_times_are_utc(sample):
    row = sample.total(groupby=["time"])["results"][0]
    assert row["begin"].utcoffset() == datetime.timedelta(0)
    assert T0.tzinfo is not None
