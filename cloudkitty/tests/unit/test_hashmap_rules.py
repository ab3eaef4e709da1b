"""HashMap rule loading and the HashMap module on a real database.

Runs on SQLite here; ``tests/functional/test_hashmap_rules.py`` re-runs
every test of this module on PostgreSQL and MariaDB, where costs are exact
NUMERIC(40, 28) values.
"""
from __future__ import annotations

import datetime
import itertools
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.db.models.hashmap import (
    HashMapField,
    HashMapGroup,
    HashMapMapping,
    HashMapService,
    HashMapThreshold,
)
from cloudkitty.rating.hash import HashMap
from cloudkitty.rating.hash.pricing import DEFAULT_GROUP, Cost
from cloudkitty.rating.hash.rules import load_rules, naive_utc
from cloudkitty.tests import storage_factory as f

D = Decimal
UTC = datetime.timezone.utc
#: Processing time of most tests (naive UTC, as the tables store it).
TS = datetime.datetime(2026, 3, 1, 12, 0)
LONG_AGO = datetime.datetime(2020, 1, 1)
HOUR = datetime.timedelta(hours=1)
_names = itertools.count()


class Rules:
    """Writes hashmap rows the way the configuration API stores them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _insert(self, model: Any, **values: Any) -> int:
        with self.engine.begin() as connection:
            return connection.execute(
                sa.insert(model).values(**values).returning(model.id)
            ).scalar_one()

    def service(self, name: str = "compute") -> int:
        return self._insert(HashMapService, service_id=str(uuid.uuid4()),
                            name=name)

    def field(self, service_id: int, name: str) -> int:
        return self._insert(HashMapField, field_id=str(uuid.uuid4()),
                            name=name, service_id=service_id)

    def group(self, name: str) -> int:
        return self._insert(HashMapGroup, group_id=str(uuid.uuid4()),
                            name=name)

    def mapping(self, cost: str, map_type: str = "flat", *,
                service_id: int | None = None, field_id: int | None = None,
                value: str | None = None, group_id: int | None = None,
                tenant_id: str | None = None,
                start: datetime.datetime = LONG_AGO,
                end: datetime.datetime | None = None,
                deleted: datetime.datetime | None = None) -> int:
        return self._insert(
            HashMapMapping, mapping_id=str(uuid.uuid4()), value=value,
            cost=D(cost), map_type=map_type, service_id=service_id,
            field_id=field_id, group_id=group_id, tenant_id=tenant_id,
            name=f"m{next(_names)}", created_at=LONG_AGO, start=start,
            end=end, deleted=deleted, created_by="tests")

    def threshold(self, level: str, cost: str, map_type: str = "flat", *,
                  service_id: int | None = None,
                  field_id: int | None = None, group_id: int | None = None,
                  tenant_id: str | None = None) -> int:
        return self._insert(
            HashMapThreshold, threshold_id=str(uuid.uuid4()), level=D(level),
            cost=D(cost), map_type=map_type, service_id=service_id,
            field_id=field_id, group_id=group_id, tenant_id=tenant_id)


@pytest.fixture
def conf(make_conf, db_url):
    f.migrate(db_url)
    yield make_conf({"database": {"connection": db_url}})
    db_api.dispose_engines()


@pytest.fixture
def engine(conf) -> sa.Engine:
    return db_api.get_engine(conf)


@pytest.fixture
def rules(engine) -> Rules:
    return Rules(engine)


TS_AWARE = TS.replace(tzinfo=UTC)


def frame(*points: DataPoint, service: str = "compute",
          start: datetime.datetime = TS_AWARE) -> DataFrame:
    return DataFrame(start, start + HOUR, {service: list(points)})


def pt(qty: str = "1", price: str = "0", **groupby: Any) -> DataPoint:
    return DataPoint("instance", qty, price,
                     {"project_id": "p1", **groupby}, {})


def rate(conf, scope_id: str | None, *points: DataPoint,
         at: datetime.datetime = TS) -> list[Decimal]:
    module = HashMap(conf, scope_id=scope_id)
    module.reload_config(at)
    rated = module.process(frame(*points))
    return [p.price for _t, p in rated.iterpoints()]


class TestLoading:
    def test_rules_are_bucketed_by_group_name(self, engine, rules):
        svc = rules.service()
        flavor = rules.field(svc, "flavor")
        group = rules.group("instance")
        rules.mapping("1", service_id=svc)
        rules.mapping("2", "rate", field_id=flavor, value="m1",
                      group_id=group)
        rules.threshold("10", "0.5", "rate", service_id=svc)
        rules.threshold("64", "0.2", field_id=flavor, group_id=group)
        loaded = load_rules(engine, None, TS)["compute"]
        assert loaded.mappings == {DEFAULT_GROUP: Cost("flat", D(1))}
        assert loaded.thresholds == {
            DEFAULT_GROUP: {D(10): Cost("rate", D("0.5"))}}
        assert loaded.fields["flavor"].mappings == {
            "instance": {"m1": Cost("rate", D(2))}}
        assert loaded.fields["flavor"].thresholds == {
            "instance": {D(64): Cost("flat", D("0.2"))}}

    def test_costs_keep_28_decimal_places(self, engine, rules):
        svc = rules.service()
        rules.mapping("0.1234567890123456789012345678", service_id=svc)
        cost = load_rules(engine, None, TS)["compute"].mappings[
            DEFAULT_GROUP].cost
        assert cost == D("0.1234567890123456789012345678")

    def test_fields_are_declared_in_creation_order(self, engine, rules):
        svc = rules.service()
        for name in ("zeta", "alpha", "mid"):
            rules.field(svc, name)
        assert list(load_rules(engine, None, TS)["compute"].fields) == [
            "zeta", "alpha", "mid"]

    def test_empty_database(self, engine):
        assert load_rules(engine, "p1", TS) == {}


class TestActiveWindow:
    """Mappings count when start <= ts, end NULL or > ts, not deleted."""

    @pytest.mark.parametrize(("start", "end", "deleted", "expected"), [
        (LONG_AGO, None, None, "2"),
        (TS, None, None, "2"),                      # start == ts counts
        (TS + HOUR, None, None, "0"),               # future start
        (LONG_AGO, TS + HOUR, None, "2"),           # ends later
        (LONG_AGO, TS, None, "0"),                  # end == ts: over
        (LONG_AGO, TS - HOUR, None, "0"),           # ended
        (LONG_AGO, None, TS - HOUR, "0"),           # soft-deleted
        (LONG_AGO, None, TS + HOUR, "0"),           # deleted is deleted
    ], ids=["started", "starts-at-ts", "future-start", "ends-later",
            "ends-at-ts", "ended", "deleted", "deleted-later"])
    def test_window(self, conf, rules, start, end, deleted, expected):
        svc = rules.service()
        rules.mapping("1", service_id=svc, start=start, end=end,
                      deleted=deleted)
        assert rate(conf, "p1", pt("2")) == [D(expected)]

    def test_processing_time_not_wall_clock(self, conf, rules):
        svc = rules.service()
        rules.mapping("1", service_id=svc, end=TS)
        rules.mapping("5", service_id=svc, start=TS)
        # Before TS the first rule prices; from TS the second.
        assert rate(conf, "p1", pt("1"), at=TS - HOUR) == [D(1)]
        assert rate(conf, "p1", pt("1"), at=TS) == [D(5)]

    def test_aware_times_are_converted_to_utc(self, conf, rules):
        svc = rules.service()
        rules.mapping("1", service_id=svc, start=TS)
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        # 13:00+02:00 is 11:00 UTC: before the start.
        assert rate(conf, "p1", pt("1"),
                    at=datetime.datetime(2026, 3, 1, 13, tzinfo=plus2)
                    ) == [D(0)]
        assert rate(conf, "p1", pt("1"),
                    at=datetime.datetime(2026, 3, 1, 14, tzinfo=plus2)
                    ) == [D(1)]

    def test_thresholds_have_no_window(self, conf, rules):
        svc = rules.service()
        rules.threshold("1", "3", service_id=svc)
        assert rate(conf, "p1", pt("1"), at=LONG_AGO) == [D(3)]

    def test_naive_utc(self):
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        assert naive_utc(datetime.datetime(2026, 1, 1, 2, tzinfo=plus2)
                         ) == datetime.datetime(2026, 1, 1)
        assert naive_utc(TS) is TS


class TestScopes:
    def test_scope_rule_overrides_global_rule(self, conf, rules):
        svc = rules.service()
        flavor = rules.field(svc, "flavor")
        rules.mapping("1", field_id=flavor, value="m1")
        rules.mapping("3", field_id=flavor, value="m1", tenant_id="T1")
        point = pt("1", flavor="m1")
        assert rate(conf, "T1", point) == [D(3)]   # its own rule
        assert rate(conf, "T2", point) == [D(1)]   # global rule
        assert rate(conf, None, point) == [D(1)]   # quote: global only

    def test_override_is_per_group(self, conf, rules):
        svc = rules.service()
        flavor = rules.field(svc, "flavor")
        group = rules.group("g")
        rules.mapping("1", field_id=flavor, value="m1")
        rules.mapping("3", field_id=flavor, value="m1", tenant_id="T1",
                      group_id=group)
        # _DEFAULT_ 1 + g 3 for T1
        assert rate(conf, "T1", pt("1", flavor="m1")) == [D(4)]

    def test_scope_rule_loaded_after_global_even_if_older(self, conf,
                                                          rules):
        svc = rules.service()
        rules.mapping("3", service_id=svc, tenant_id="T1")
        rules.mapping("1", service_id=svc)
        assert rate(conf, "T1", pt("1")) == [D(3)]
        assert rate(conf, "T2", pt("1")) == [D(1)]

    def test_last_loaded_service_mapping_of_a_group_wins(self, conf, rules):
        svc = rules.service()
        rules.mapping("5", service_id=svc)
        rules.mapping("2", service_id=svc)   # higher id: loaded last
        assert rate(conf, "p1", pt("1")) == [D(2)]

    def test_scope_threshold_overrides_same_level(self, conf, rules):
        svc = rules.service()
        rules.mapping("1", service_id=svc)
        rules.threshold("10", "100", service_id=svc)
        rules.threshold("10.00000000", "7", service_id=svc,
                        tenant_id="T1")
        assert rate(conf, "T1", pt("10")) == [D(17)]
        assert rate(conf, "T2", pt("10")) == [D(110)]

    def test_group_named_default_shares_the_implicit_group(self, conf,
                                                           rules):
        svc = rules.service()
        group = rules.group(DEFAULT_GROUP)
        rules.mapping("1", service_id=svc)
        rules.mapping("4", service_id=svc, group_id=group)
        assert rate(conf, "p1", pt("1")) == [D(4)]


class TestProbes:
    """COMPAT.md §8.3 probe results, end to end from the database."""

    def test_service_flat_and_field_rate(self, conf, rules):
        svc = rules.service()
        flavor = rules.field(svc, "flavor")
        rules.mapping("1", service_id=svc)
        rules.mapping("2", "rate", field_id=flavor, value="m1")
        # 2 × 1 × 3 = 6; non-matching: 1 × 3 = 3
        assert rate(conf, "p1", pt("3", flavor="m1"),
                    pt("3", flavor="m2")) == [D(6), D(3)]

    def test_two_flats(self, conf, rules):
        svc = rules.service()
        flavor = rules.field(svc, "flavor")
        rules.mapping("5", service_id=svc)
        rules.mapping("7", field_id=flavor, value="m1")
        assert rate(conf, "p1", pt("2", flavor="m1")) == [D(14)]  # 7 × 2

    def test_service_thresholds(self, conf, rules):
        svc = rules.service()
        rules.mapping("1", service_id=svc)
        rules.threshold("10", "100", service_id=svc)
        rules.threshold("20", "0.5", "rate", service_id=svc)
        # 5; 10 + 100; 25 × 0.5
        assert rate(conf, "p1", pt("5"), pt("10"), pt("25")) == [
            D(5), D(110), D("12.5")]

    def test_future_mapping_prices_zero(self, conf, rules):
        svc = rules.service()
        rules.mapping("1", service_id=svc, start=TS + HOUR)
        assert rate(conf, "p1", pt("3", price="0")) == [D(0)]

    def test_composite_34_4(self, conf, rules):
        svc = rules.service()
        vcpus = rules.field(svc, "vcpus")
        memory = rules.field(svc, "memory")
        flavor_group = rules.group("instance_uptime_flavor")
        memory_group = rules.group("memory")
        rules.mapping("1", service_id=svc)
        rules.mapping("16", field_id=vcpus, value="8",
                      group_id=flavor_group)
        rules.threshold("64", "0.15", field_id=memory, group_id=memory_group)
        rules.threshold("128", "0.2", field_id=memory, group_id=memory_group)
        # 16 × 2 + 1 × 2 + (0 + 0.2) × 2 = 34.4
        assert rate(conf, "p1", pt("2", vcpus="8", memory="512")) == [
            D("34.4")]

    def test_unknown_service_keeps_incoming_price(self, conf, rules):
        svc = rules.service("volume")
        rules.mapping("1", service_id=svc)
        assert rate(conf, "p1", pt("3", price="1.5")) == [D("1.5")]


class TestModule:
    def test_identity(self):
        assert HashMap.module_name == "hashmap"
        assert HashMap.hot_config is True

    def test_process_before_reload_loads_at_frame_start(self, conf, rules):
        svc = rules.service()
        rules.mapping("1", service_id=svc, start=TS)
        module = HashMap(conf, scope_id="p1")
        early = frame(pt("2"), start=(TS - HOUR).replace(tzinfo=UTC))
        assert [p.price for _t, p in module.process(early).iterpoints()
                ] == [D(0)]
        assert module.loaded_at == TS - HOUR

    def test_reload_picks_up_new_rules(self, conf, rules):
        svc = rules.service()
        module = HashMap(conf, scope_id="p1")
        module.reload_config(TS)
        rules.mapping("1", service_id=svc)
        assert module.process(frame(pt("2"))).usage["compute"][0].price == 0
        module.reload_config(TS)
        assert module.process(frame(pt("2"))).usage["compute"][0].price == 2

    def test_explicit_engine(self, conf, engine, rules):
        svc = rules.service()
        rules.mapping("1", service_id=svc)
        module = HashMap(conf, scope_id="p1", engine=engine)
        module.reload_config(TS)
        assert module.quote(frame(pt("2"))).usage["compute"][0].price == 2

    def test_missing_tables_raise_database_error(self, make_conf, tmp_path):
        conf = make_conf({"database": {
            "connection": f"sqlite:///{tmp_path}/empty.sqlite"}})
        try:
            with pytest.raises(exceptions.DatabaseError) as err:
                HashMap(conf, scope_id="p1").reload_config(TS)
            assert "hashmap" in err.value.message
        finally:
            db_api.dispose_engines()

    def test_non_numeric_threshold_value_is_a_rating_error(self, conf,
                                                           rules):
        svc = rules.service()
        memory = rules.field(svc, "memory")
        rules.threshold("64", "1", field_id=memory)
        with pytest.raises(exceptions.RatingError) as err:
            rate(conf, "p1", pt("1", memory="lots"))
        assert "memory" in err.value.message and "lots" in err.value.message
