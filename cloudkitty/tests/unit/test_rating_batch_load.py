"""Loading the rating modules of many scopes at once
(``ModuleManager.load_enabled_many``) prices exactly as loading them scope
by scope, with fewer queries; ``RatingUnit.rate_and_store_many`` uses it.

Runs on SQLite here; ``tests/functional/test_rating_batch_load.py``
re-runs every test on PostgreSQL and MariaDB.
"""
from __future__ import annotations

import datetime
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.processor import skip as skip_mod
from cloudkitty.processor.unit import BatchItem, RatingUnit
from cloudkitty.rating import RatingProcessor, modules
from cloudkitty.rating.hash import HashMap
from cloudkitty.rating.hash import rules as hash_rules
from cloudkitty.rating.noop import Noop
from cloudkitty.rating.pyscripts import PyScripts
from cloudkitty.rating.pyscripts import db as scripts_db
from cloudkitty.storage import get_storage
from cloudkitty.tests.unit.test_hashmap_rules import Rules

D = Decimal
UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
#: Start of the rated period (naive UTC, as the rule tables store it).
BEGIN = datetime.datetime(2026, 3, 1, 12, 0)
BEGIN_AWARE = BEGIN.replace(tzinfo=UTC)
LONG_AGO = datetime.datetime(2020, 1, 1)

PROCESSORS: dict[str, type[RatingProcessor]] = {
    "hashmap": HashMap, "noop": Noop, "pyscripts": PyScripts}
SCOPES = ["own-mapping", "own-threshold", "no-rules", "starts-now",
          "ended-now", "other"]


@pytest.fixture
def conf(migrated_conf: Any) -> Any:
    return migrated_conf


@pytest.fixture
def engine(conf: Any) -> sa.Engine:
    return db_api.get_engine(conf)


@pytest.fixture
def manager(conf: Any) -> modules.ModuleManager:
    return modules.ModuleManager(conf, processors=PROCESSORS)


@pytest.fixture
def rules(engine: sa.Engine) -> Rules:
    return Rules(engine)


@pytest.fixture
def hashmap_rules(rules: Rules, manager: modules.ModuleManager) -> None:
    """Global rules plus scope rules of every kind, some of them starting
    or ending exactly at the period's start."""
    manager.update("hashmap", enabled=True, priority=2)
    compute = rules.service("compute")
    flavor = rules.field(compute, "flavor")
    cores = rules.field(compute, "cores")
    extra = rules.group("extra")
    rules.mapping("1", service_id=compute)
    rules.mapping("2", field_id=flavor, value="small")
    rules.mapping("5", field_id=flavor, value="large")
    rules.mapping("1.5", "rate", field_id=flavor, value="large",
                  group_id=extra)
    rules.threshold("4", "0.5", "rate", field_id=cores)
    rules.threshold("10", "3", service_id=compute, group_id=extra)
    # A scope's mapping overrides the global one with the same value.
    rules.mapping("20", field_id=flavor, value="small",
                  tenant_id="own-mapping")
    # A scope's threshold at a level the global rules do not have.
    rules.threshold("2", "0.1", "rate", field_id=cores,
                    tenant_id="own-threshold")
    # In force from the period's start exactly: counts.
    rules.mapping("7", field_id=flavor, value="large", start=BEGIN,
                  tenant_id="starts-now")
    rules.mapping("0.25", "rate", service_id=compute, group_id=extra,
                  start=BEGIN)
    # Ended at the period's start exactly, or starting after it: ignored.
    rules.mapping("150", field_id=flavor, value="small", end=BEGIN,
                  tenant_id="ended-now")
    rules.mapping("100", field_id=flavor, value="large",
                  start=BEGIN + HOUR, tenant_id="ended-now")
    rules.mapping("100", service_id=compute, end=BEGIN)
    # Deleted, and rules of a scope that is not rated.
    rules.mapping("100", field_id=flavor, value="small",
                  tenant_id="own-threshold", deleted=BEGIN - HOUR)
    rules.mapping("100", service_id=compute, tenant_id="not-in-batch")
    rules.threshold("1", "100", field_id=cores, tenant_id="not-in-batch")


def frame(scope_id: str) -> DataFrame:
    points = [
        DataPoint("instance", qty, "0",
                  {"project_id": scope_id, "id": f"vm{i}"},
                  {"flavor": flavor, "cores": cores})
        for i, (qty, flavor, cores) in enumerate([
            ("1", "small", "1"), ("2", "large", "4"), ("3", "tiny", "2"),
            ("12", "large", "8"), ("1", "small", "3")])]
    other = [DataPoint("GiB", "10", "0.5", {"project_id": scope_id}, {})]
    return DataFrame(BEGIN_AWARE, BEGIN_AWARE + HOUR,
                     {"compute": points, "volume": other})


def priced(processors: list[RatingProcessor], scope_id: str
           ) -> list[tuple[str, Decimal]]:
    rated = modules.rate(frame(scope_id), processors)
    return [(metric, point.price) for metric, point in rated.iterpoints()]


def names(processors: list[RatingProcessor]) -> list[str]:
    return [p.module_name for p in processors]


def assert_same_as_per_scope(manager: modules.ModuleManager,
                             scope_ids: list[str],
                             at: datetime.datetime = BEGIN_AWARE
                             ) -> dict[str, list[tuple[str, Decimal]]]:
    batch = manager.load_enabled_many(scope_ids, at)
    assert list(batch) == list(dict.fromkeys(scope_ids))
    prices = {}
    for scope_id in scope_ids:
        single = manager.load_enabled(scope_id, at)
        assert names(batch[scope_id]) == names(single)
        assert all(p.scope_id == scope_id for p in batch[scope_id])
        prices[scope_id] = priced(batch[scope_id], scope_id)
        assert prices[scope_id] == priced(single, scope_id), scope_id
    return prices


@pytest.mark.usefixtures("hashmap_rules")
class TestHashMap:
    def test_same_prices_as_per_scope_loading(self, manager) -> None:
        prices = assert_same_as_per_scope(manager, SCOPES)
        # The scopes' own rules did make a difference.
        assert prices["own-mapping"] != prices["no-rules"]
        assert prices["own-threshold"] != prices["no-rules"]
        assert prices["starts-now"] != prices["no-rules"]
        assert prices["ended-now"] == prices["no-rules"]
        assert prices["other"] == prices["no-rules"]

    def test_prices_by_hand(self, manager) -> None:
        batch = manager.load_enabled_many(["no-rules", "own-mapping"],
                                          BEGIN_AWARE)
        # Default group: flat 1 (service) raised to 2 by the small flavor
        # (20 for own-mapping); extra group: rate 0.25 (service) with no
        # flat, so only the point reaching the 10 service threshold gets
        # extra's flat 3.
        assert priced(batch["no-rules"], "no-rules") == [
            ("compute", D("2")), ("compute", D("5")), ("compute", D("3")),
            ("compute", D("33")), ("compute", D("2")),
            ("volume", D("0.5"))]
        assert priced(batch["own-mapping"], "own-mapping")[0] == (
            "compute", D("20"))

    def test_rules_at_the_period_boundary(self, manager) -> None:
        # One hour earlier the rules starting at BEGIN are not in force
        # and those ending at BEGIN still are.
        before = assert_same_as_per_scope(manager, SCOPES,
                                          BEGIN_AWARE - HOUR)
        now = assert_same_as_per_scope(manager, SCOPES)
        assert before["ended-now"] != before["no-rules"]
        assert before["starts-now"] == before["no-rules"]
        assert before["no-rules"] != now["no-rules"]

    def test_naive_processing_time(self, manager) -> None:
        batch = manager.load_enabled_many(SCOPES, BEGIN)
        aware = manager.load_enabled_many(SCOPES, BEGIN_AWARE)
        for scope_id in SCOPES:
            assert priced(batch[scope_id], scope_id) == priced(
                aware[scope_id], scope_id)

    def test_scopes_without_own_rules_share_one_pricer(self,
                                                       manager) -> None:
        batch = manager.load_enabled_many(SCOPES, BEGIN_AWARE)
        hashmaps = {s: batch[s][0] for s in SCOPES}
        assert all(isinstance(h, HashMap) for h in hashmaps.values())
        pricers = {s: h._pricer for s, h in hashmaps.items()}
        assert pricers["no-rules"] is pricers["other"]
        assert pricers["no-rules"] is pricers["ended-now"]
        assert pricers["own-mapping"] is not pricers["no-rules"]
        assert {h.loaded_at for h in hashmaps.values()} == {BEGIN}

    def test_many_chunks(self, manager, monkeypatch) -> None:
        monkeypatch.setattr(hash_rules, "_IN_CHUNK", 2)
        assert_same_as_per_scope(manager, SCOPES + ["own-mapping"])

    def test_disabled_module_is_not_loaded(self, manager) -> None:
        manager.set_enabled("hashmap", False)
        batch = manager.load_enabled_many(SCOPES, BEGIN_AWARE)
        assert {s: names(p) for s, p in batch.items()} == {
            s: ["noop"] for s in SCOPES}
        assert_same_as_per_scope(manager, SCOPES)

    def test_few_queries_whatever_the_number_of_scopes(
            self, manager, engine) -> None:
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            manager.load_enabled_many(
                SCOPES + [f"s{i}" for i in range(300)], BEGIN_AWARE)
            batch_count = len(statements)
            statements.clear()
            for scope_id in SCOPES:
                manager.load_enabled(scope_id, BEGIN_AWARE)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        # modules_state, then services, fields, groups, global and own
        # mappings and thresholds: the cost of loading one scope.
        assert batch_count == 8
        assert len(statements) == 6 * len(SCOPES)

    def test_empty_batch(self, manager) -> None:
        assert manager.load_enabled_many([], BEGIN_AWARE) == {}

    def test_database_error(self, manager, engine) -> None:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE hashmap_thresholds"))
        with pytest.raises(exceptions.DatabaseError, match="hashmap"):
            manager.load_enabled_many(SCOPES, BEGIN_AWARE)


DOUBLE = """\
for points in data['usage'].values():
    for point in points:
        point['rating']['price'] = point['rating']['price'] * 2 + 1
"""


def add_script(engine: sa.Engine, name: str, source: str, *,
               start: datetime.datetime = LONG_AGO,
               end: datetime.datetime | None = None) -> str:
    return scripts_db.create_script(
        engine, name=name, data=textwrap.dedent(source), now=LONG_AGO,
        start=start, end=end, force=True).script_id


class TestPyScripts:
    @pytest.fixture(autouse=True)
    def _enabled(self, manager) -> None:
        manager.update("pyscripts", enabled=True, priority=1)

    def test_same_prices_as_per_scope_loading(self, manager, engine,
                                              hashmap_rules) -> None:
        add_script(engine, "double", DOUBLE)
        add_script(engine, "plus-one", """\
            for point in data['usage']['compute']:
                point['rating']['price'] += 1
            """, start=BEGIN)
        add_script(engine, "ended", "raise ValueError('never runs')\n",
                   end=BEGIN)
        prices = assert_same_as_per_scope(manager, SCOPES)
        # hashmap (priority 2) then both scripts: (2 * 2 + 1) + 1.
        assert prices["no-rules"][0] == ("compute", D("6"))
        batch = manager.load_enabled_many(SCOPES, BEGIN_AWARE)
        scripts = {s: p[-1] for s, p in batch.items()}
        assert all(isinstance(p, PyScripts) for p in scripts.values())
        assert [s.name for s in scripts["other"].scripts] == [
            "double", "plus-one"]
        # Read and compiled once for the batch.
        assert scripts["other"].scripts is scripts["no-rules"].scripts

    def test_script_starting_after_the_period(self, manager,
                                              engine) -> None:
        add_script(engine, "later", DOUBLE, start=BEGIN + HOUR)
        prices = assert_same_as_per_scope(manager, ["a", "b"])
        assert prices["a"] == [("compute", D(0))] * 5 + [("volume",
                                                          D("0.5"))]

    def test_broken_script_fails_the_batch(self, manager, engine) -> None:
        add_script(engine, "broken", DOUBLE)
        with engine.begin() as connection:
            connection.execute(sa.text(
                "UPDATE pyscripts_scripts SET data = :d"),
                {"d": scripts_db.compress_source("def (:\n")})
        with pytest.raises(exceptions.RatingError):
            manager.load_enabled("a", BEGIN_AWARE)
        with pytest.raises(exceptions.RatingError):
            manager.load_enabled_many(["a", "b"], BEGIN_AWARE)


# -- the rating unit ------------------------------------------------------

@pytest.fixture
def unit(conf: Any, manager: modules.ModuleManager) -> Iterator[RatingUnit]:
    yield RatingUnit(conf, get_storage(conf),
                     skip_mod.load_skip_expressions(conf, {}),
                     manager=manager)


def stored_prices(conf: Any, scope_id: str) -> list[Decimal]:
    storage = get_storage(conf)
    found = storage.retrieve(begin=BEGIN_AWARE, end=BEGIN_AWARE + HOUR,
                             filters={"project_id": scope_id},
                             paginate=False)
    return sorted(point.price for frame in found["dataframes"]
                  for _, point in frame.iterpoints())


@pytest.mark.usefixtures("hashmap_rules")
def test_unit_stores_the_per_scope_prices(conf, unit, manager) -> None:
    reply = unit.rate_and_store_many(
        BEGIN_AWARE, BEGIN_AWARE + HOUR,
        [BatchItem(s, frame(s), None) for s in SCOPES])
    assert reply["failed"] == {} and reply["stale"] == {}
    assert reply["stored"] == dict.fromkeys(SCOPES, 6)
    for scope_id in SCOPES:
        expected = sorted(price for _, price in priced(
            manager.load_enabled(scope_id, BEGIN_AWARE), scope_id))
        assert stored_prices(conf, scope_id) == expected


def test_unit_reports_a_loading_error_for_every_scope(
        conf, unit, manager, engine) -> None:
    manager.update("pyscripts", enabled=True)
    add_script(engine, "broken", DOUBLE)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE pyscripts_scripts SET data = :d"),
                           {"d": scripts_db.compress_source("def (:\n")})
    reply = unit.rate_and_store_many(
        BEGIN_AWARE, BEGIN_AWARE + HOUR,
        [BatchItem(s, frame(s), None) for s in ("a", "b")])
    assert reply["stored"] == {}
    assert sorted(reply["failed"]) == ["a", "b"]
    assert all("broken" in message for message in reply["failed"].values())


@pytest.mark.usefixtures("hashmap_rules")
def test_unit_loads_the_batch_at_once(conf, unit, manager,
                                      monkeypatch) -> None:
    calls: list[tuple[list[str], datetime.datetime]] = []
    load_many = manager.load_enabled_many

    def recording(scope_ids: list[str], at: datetime.datetime) -> Any:
        calls.append((list(scope_ids), at))
        return load_many(scope_ids, at)

    def per_scope(*args: Any) -> Any:
        raise AssertionError("loaded scope by scope")

    monkeypatch.setattr(manager, "load_enabled_many", recording)
    monkeypatch.setattr(manager, "load_enabled", per_scope)
    late = DataFrame(BEGIN_AWARE + HOUR, BEGIN_AWARE + 2 * HOUR, {})
    reply = unit.rate_and_store_many(
        BEGIN_AWARE, BEGIN_AWARE + HOUR,
        [BatchItem(s, frame(s), None) for s in SCOPES]
        + [BatchItem("late", late, None)])
    assert calls == [(SCOPES, BEGIN_AWARE)]
    assert sorted(reply["stored"]) == sorted(SCOPES)
    assert list(reply["failed"]) == ["late"]
