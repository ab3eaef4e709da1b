"""Rollups: summaries from them equal summaries from the rated rows.

Runs on SQLite here; ``tests/functional/test_rollups.py`` re-runs every
test on PostgreSQL and MariaDB.
"""
from __future__ import annotations

import datetime
import decimal
import itertools
import threading
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.db import migration
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2.rollups import DAYS, LEDGER
from cloudkitty.storage.v2.sqlalchemy import SQLAlchemyStorage
from cloudkitty.storage.v2.sqlalchemy.models import EXACT, TABLE_NAME
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.storage_factory import T0, at, frame, point

DAY = datetime.timedelta(days=1)
SCOPES = ("a", "b", "c")
TYPES = ("cpu", "disk", "ram")

#: Every query shape rollups cover.
GROUPBYS: list[list[str] | None] = [
    None, ["type"], ["project_id"], ["type", "project_id"],
    ["project_id", "type"], ["time-d"], ["time-w"], ["time-m"],
    ["time-y"], ["project_id", "time-d"], ["type", "time-m", "time-y"],
]
FILTERS: list[dict[str, Any] | None] = [
    None, {"type": "cpu"}, {"project_id": ["a", "b"]},
    {"project_id": "c", "type": ["ram", "disk"]},
]
METRIC_TYPES: list[Any] = [None, "ram", ["cpu", "disk"]]
WINDOWS = [
    (None, None), (T0, T0 + DAY), (T0 + DAY, None), (None, T0 + 2 * DAY),
    (at(5), at(30)), (at(25), None), (None, at(30)), (at(5), at(50)),
    (at(3), at(4)),
]
FIELDS = [None, "SUM(price) AS p, COUNT(qty) AS n, SUM(qty)",
          "COUNT(price) AS c"]
PAGES = [dict(paginate=False), dict(offset=0, limit=1000),
         dict(offset=1, limit=2)]


@pytest.fixture
def storage(migrated_conf) -> SQLAlchemyStorage:
    backend = get_storage(migrated_conf)
    assert isinstance(backend, SQLAlchemyStorage)
    backend.init()
    return backend


def clear(storage: SQLAlchemyStorage) -> None:
    with storage.engine.begin() as connection:
        for table in (TABLE_NAME, "cloudkitty_rollup_periods",
                      "cloudkitty_rollup_days",
                      "cloudkitty_storage_states"):
            connection.execute(sa.text(f"DELETE FROM {table}"))


def shape(result: base.TotalResult) -> Any:
    """The answer with each value's type and exact spelling."""
    return (result["total"], [
        [(key, type(value).__name__, str(value))
         for key, value in row.items()] for row in result["results"]])


def check_same(storage: SQLAlchemyStorage, **query: Any) -> base.TotalResult:
    assert storage.rollups.covers(query.get("groupby"), query.get("filters"),
                                  query.get("metric_types"),
                                  query.get("begin"), query.get("end"))
    via_rollups = storage.total(**query)
    raw = storage.raw_total(**query)
    assert shape(via_rollups) == shape(raw), query
    return via_rollups


def check_days_match_ledger(storage: SQLAlchemyStorage) -> None:
    """Each day row is the sum of its day's ledger rows; none is empty."""
    keys = ("scope_id", "type", "day", "day_of_the_year",
            "week_of_the_year", "month", "year")
    with storage._session() as session, decimal.localcontext(EXACT):
        ledger: dict[Any, list[Any]] = {}
        for row in session.execute(sa.select(LEDGER)).mappings():
            entry = ledger.setdefault(tuple(row[k] for k in keys),
                                      [Decimal(0), Decimal(0), 0])
            entry[0] += row["qty"]
            entry[1] += row["price"]
            entry[2] += row["count"]
        days = {tuple(row[k] for k in keys): [row["qty"], row["price"],
                                               row["count"]]
                for row in session.execute(sa.select(DAYS)).mappings()}
    assert days == ledger


# -- data -------------------------------------------------------------------
money = st.one_of(
    st.decimals(min_value=-50, max_value=1000, places=2),
    st.decimals(min_value=0, max_value=10, places=6),
    st.sampled_from([Decimal("0.1"), Decimal("1E-31"),
                     Decimal("0.1234567890123456789012345678901234"),
                     Decimal("123456789012345678901234.5")]),
)


@st.composite
def points(draw: Any, scope: str | None) -> DataPoint:
    groupby: dict[str, Any] = {}
    if scope is not None:
        groupby["project_id"] = scope
    groupby["flavor"] = draw(st.sampled_from(["tiny", "big"]))
    return DataPoint("unit", draw(money), draw(money), groupby,
                     {"zone": draw(st.sampled_from(["z1", "z2"]))})


@st.composite
def frames(draw: Any, scope: str | None = None,
           start: datetime.datetime | None = None) -> list[DataFrame]:
    """Frames of one scope (or of random scopes, scope None) with the
    collector's time keys, none, or numeric ones."""
    result = []
    for _ in range(draw(st.integers(1, 3))):
        begin = start or at(draw(st.integers(0, 60)))
        hours = draw(st.sampled_from([1, 1, 6]))
        usage = {metric_type: [
            draw(points(scope or draw(st.sampled_from(SCOPES))))
            for _ in range(draw(st.integers(0, 3)))]
            for metric_type in draw(st.sets(st.sampled_from(TYPES),
                                            min_size=1))}
        stamp = draw(st.sampled_from(["collector", "none", "numbers"]))
        if stamp == "collector":
            result.append(frame(begin, usage, hours * f.HOUR))
            continue
        if stamp == "numbers":
            usage = {k: [p.replace(groupby={**p.groupby, "month": 7,
                                            "year": begin.year})
                         for p in v] for k, v in usage.items()}
        result.append(DataFrame(begin, begin + hours * f.HOUR, usage))
        if start is not None:
            break
    return result


@st.composite
def operations(draw: Any) -> list[tuple[Any, ...]]:
    ops: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["push", "push", "replace", "replace",
                                     "bulk", "reset", "delete",
                                     "delete_other"]))
        scope = draw(st.sampled_from(SCOPES))
        hour = draw(st.integers(0, 60))
        if kind == "push":
            ops.append((kind, draw(frames())))
        elif kind == "replace":
            ops.append((kind, scope, hour,
                        draw(frames(scope, at(hour)))))
        elif kind == "bulk":
            ops.append((kind, hour, [
                (s, draw(frames(s, at(hour))))
                for s in draw(st.sets(st.sampled_from(SCOPES),
                                      min_size=1))]))
        elif kind == "reset":
            ops.append((kind, scope, hour))
        elif kind == "delete":
            window = draw(st.sampled_from(WINDOWS))
            ops.append((kind, window, draw(st.sampled_from(FILTERS))))
        else:
            window = draw(st.sampled_from(WINDOWS))
            ops.append((kind, window, {"flavor": "tiny"}))
    return ops


def run(storage: SQLAlchemyStorage, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        if op[0] == "push":
            storage.push(op[1])
        elif op[0] == "replace":
            _, scope, hour, data = op
            storage.replace_scope_period(scope, at(hour), at(hour + 1), data)
        elif op[0] == "bulk":
            _, hour, items = op
            assert storage.replace_scope_periods(
                at(hour), at(hour + 1),
                [base.ScopePeriod(s, data) for s, data in items]) == []
        elif op[0] == "reset":
            storage.reset_scope(op[1], at(op[2]))
        else:
            (begin, end), filters = op[1], op[2]
            storage.delete(begin, end, filters)


queries = st.fixed_dictionaries({
    "groupby": st.sampled_from(GROUPBYS),
    "filters": st.sampled_from(FILTERS),
    "metric_types": st.sampled_from(METRIC_TYPES),
    "window": st.sampled_from(WINDOWS),
    "custom_fields": st.sampled_from(FIELDS),
    "page": st.sampled_from(PAGES),
})


def as_query(drawn: dict[str, Any]) -> dict[str, Any]:
    query = {key: value for key, value in drawn.items()
             if key not in ("window", "page")}
    query["begin"], query["end"] = drawn["window"]
    query.update(drawn["page"])
    return query


# -- tests ------------------------------------------------------------------
@hypothesis.settings(
    max_examples=25, deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture,
                           hypothesis.HealthCheck.too_slow,
                           hypothesis.HealthCheck.data_too_large])
@hypothesis.given(ops=operations(),
                  drawn=st.lists(queries, min_size=10, max_size=10))
def test_rollups_answer_as_the_raw_rows_after_any_writes(storage, ops,
                                                         drawn):
    clear(storage)
    run(storage, ops)
    check_days_match_ledger(storage)
    for query in drawn:
        check_same(storage, **as_query(query))


@pytest.fixture
def sample(storage) -> SQLAlchemyStorage:
    """Three scopes, three types, two days of hourly periods, with the
    collector's time keys, plus points without them."""
    data = []
    for hour in range(0, 48, 5):
        data.append(frame(at(hour), {
            metric_type: [point(str(hour + i), f"{hour}.{i}5", project_id=s,
                                flavor="tiny" if i % 2 else "big")
                          for i, s in enumerate(SCOPES)]
            for metric_type in TYPES}))
    data.append(DataFrame(at(3), at(4), {"cpu": [point("7", "0.7")]}))
    storage.push(data)
    return storage


def test_every_covered_shape_matches_the_raw_rows(sample):
    fields, types = itertools.cycle(FIELDS), itertools.cycle(METRIC_TYPES)
    for groupby, filters, (begin, end) in itertools.product(
            GROUPBYS, FILTERS, WINDOWS):
        check_same(sample, groupby=groupby, filters=filters,
                   metric_types=next(types), begin=begin, end=end,
                   custom_fields=next(fields))


def test_pages_match_the_raw_rows(sample):
    for offset, limit in [(0, 1), (1, 2), (5, 3), (200, 10)]:
        result = check_same(sample, groupby=["type", "project_id"],
                            offset=offset, limit=limit)
        # 3 types × 3 scopes, and cpu of the scope-less point.
        assert result["total"] == 10
        assert len(result["results"]) == max(0, min(limit, 10 - offset))


def test_uncovered_requests_are_not_covered(storage):
    rollups = storage.rollups
    assert not rollups.covers(["time"], None)
    assert not rollups.covers(["flavor"], None)
    assert not rollups.covers(["type", "time-d", "time"], None)
    assert not rollups.covers(None, {"flavor": "tiny"})
    assert rollups.covers(["time-d", "project_id"], {"project_id": "a"},
                          "cpu", at(1), at(5))


def test_uncovered_requests_still_answer_from_the_raw_rows(sample):
    result = sample.total(groupby=["flavor"], filters={"type": "cpu"})
    assert result == sample.raw_total(groupby=["flavor"],
                                      filters={"type": "cpu"})
    assert [row["flavor"] for row in result["results"]] == ["big", "tiny",
                                                            None]


def test_midnight_windows_read_the_day_rows(sample):
    with sample.engine.connect() as connection:
        days = connection.scalar(sa.text(
            "SELECT COUNT(*) FROM cloudkitty_rollup_days"))
        periods = connection.scalar(sa.text(
            "SELECT COUNT(*) FROM cloudkitty_rollup_periods"))
    # 2 days × 3 scopes × 3 types, + the scope-less point.
    assert days == 19
    assert periods == 10 * 9 + 1
    # Emptying the ledger does not change a midnight window's answer,
    # but does an unaligned one's: whole days come from the day rows,
    # partial days from the ledger.
    with sample.engine.begin() as connection:
        connection.execute(sa.text(
            "DELETE FROM cloudkitty_rollup_periods"))
    assert sample.total(begin=T0, end=T0 + DAY) == sample.raw_total(
        begin=T0, end=T0 + DAY)
    assert sample.total(begin=at(1), end=at(20))["results"] == []
    whole_day = sample.raw_total(begin=T0 + DAY, groupby=["type"])
    edges = sample.total(begin=at(5), end=at(60), groupby=["type"])
    assert [(r["type"], r["qty"]) for r in edges["results"]] == \
        [(r["type"], r["qty"]) for r in whole_day["results"]]


def test_reprocessing_a_period_keeps_the_sums_exact(storage):
    first = [frame(at(2), {"cpu": [point("1", "1.5", project_id="a"),
                                   point("2", "2.5", project_id="a")]})]
    again = [frame(at(2), {"cpu": [point("10", "0.25", project_id="a")],
                           "ram": [point("3", "3", project_id="a")]})]
    storage.replace_scope_period("a", at(2), at(3), first)
    storage.replace_scope_period("a", at(2), at(3), again)
    storage.replace_scope_period("a", at(2), at(3), again)
    result = check_same(storage, groupby=["type"])
    assert [(r["type"], r["qty"], r["rate"]) for r in result["results"]] \
        == [("cpu", Decimal(10), Decimal("0.25")), ("ram", 3, 3)]
    check_days_match_ledger(storage)
    storage.replace_scope_period("a", at(2), at(3), [])
    assert storage.total() == {"total": 0, "results": []}
    with storage.engine.connect() as connection:
        for table in ("cloudkitty_rollup_days", "cloudkitty_rollup_periods"):
            assert connection.scalar(sa.text(
                f"SELECT COUNT(*) FROM {table}")) == 0


def test_reset_scope_keeps_the_sums_exact(sample):
    sample.reset_scope("b", at(20))
    check_days_match_ledger(sample)
    result = check_same(sample, groupby=["project_id"])
    raw_b = sample.raw_total(filters={"project_id": "b"})["results"][0]
    assert [r for r in result["results"]
            if r["project_id"] == "b"][0]["qty"] == raw_b["qty"]
    assert sample.total(filters={"project_id": "b"}, begin=at(20)) == \
        {"total": 0, "results": []}


def test_reset_scope_under_another_scope_key(sample):
    sample.reset_scope("tiny", at(10), scope_key="flavor")
    check_days_match_ledger(sample)
    check_same(sample, groupby=["type", "project_id"])
    check_same(sample, groupby=["time-d"], begin=T0, end=T0 + 2 * DAY)


def test_deletes_keep_the_sums_exact(sample):
    sample.delete(at(10), at(30), {"project_id": "a", "type": "cpu"})
    sample.delete(None, at(8), {"flavor": "big"})
    sample.delete(T0 + DAY, None, {"type": ["ram"]})
    check_days_match_ledger(sample)
    for groupby in GROUPBYS:
        check_same(sample, groupby=groupby)
        check_same(sample, groupby=groupby, begin=T0, end=T0 + DAY)
    sample.delete()
    assert sample.total() == {"total": 0, "results": []}


def test_bulk_replace_leaves_a_stale_scope_alone(storage):
    manager = StateManager(storage.conf, storage.engine)
    old = [frame(at(1), {"cpu": [point("100", "100", project_id=s)]})
           for s in SCOPES]
    storage.push(old)
    for s in ("a", "b"):
        manager.set_last_processed_timestamp(s, at(0))
    manager.set_last_processed_timestamp("c", at(5))
    items = [base.ScopePeriod(s, [frame(at(1), {
        "cpu": [point("1", "2", project_id=s)],
        "ram": [point("3", "4", project_id=s)]})], expected=at(0))
        for s in SCOPES]
    items.append(base.ScopePeriod("d", [frame(at(1), {
        "cpu": [point("5", "6", project_id="d")]})], expected=None))
    stale = storage.replace_scope_periods(at(1), at(2), items)
    assert stale == ["c"]
    result = check_same(storage, groupby=["project_id", "type"])
    assert [(r["project_id"], r["type"], r["qty"])
            for r in result["results"]] == [
        ("a", "cpu", 1), ("a", "ram", 3), ("b", "cpu", 1), ("b", "ram", 3),
        ("c", "cpu", 100), ("d", "cpu", 5)]
    states = {s: manager.get_last_processed_timestamp(s)
              for s in ("a", "b", "c", "d")}
    assert states == {"a": at(1), "b": at(1), "c": at(5), "d": at(1)}
    check_days_match_ledger(storage)


def test_bulk_replace_unchecked_and_repeated(storage):
    items = [base.ScopePeriod(s, [frame(at(3), {
        "cpu": [point("2", "2", project_id=s)]})]) for s in SCOPES]
    assert storage.replace_scope_periods(at(3), at(4), items) == []
    assert storage.replace_scope_periods(at(3), at(4), items) == []
    result = check_same(storage, groupby=["project_id"])
    assert [r["qty"] for r in result["results"]] == [2, 2, 2]
    assert storage.retrieve()["total"] == 3


def test_bulk_replace_many_scopes_in_chunks(storage):
    scopes = [f"p{i:04d}" for i in range(1203)]
    items = [base.ScopePeriod(s, [frame(at(0), {
        "cpu": [point("1", "0.5", project_id=s)]})], expected=None)
        for s in scopes]
    assert storage.replace_scope_periods(at(0), at(1), items) == []
    result = check_same(storage)
    assert result["results"][0]["qty"] == 1203
    assert result["results"][0]["rate"] == Decimal("601.5")
    assert StateManager(storage.conf, storage.engine) \
        .get_last_processed_timestamp("p1202") == at(0)


def test_migration_backfills_existing_rows(make_conf, db_url):
    engine = db_api.create_engine(db_url)
    try:
        migration.upgrade(engine, "0002_dataframes")
        conf = f.storage_conf(make_conf, db_url)
        storage = SQLAlchemyStorage(conf, engine)
        data = [frame(at(h), {
            "cpu": [point(f"{h}.5", "0.1", project_id=s) for s in SCOPES],
            "ram": [point("1", "1E-31", project_id="a")]})
            for h in range(0, 50, 7)]
        data.append(DataFrame(at(4), at(5), {"cpu": [DataPoint(
            "u", "2", "3", {"month": 7}, {})]}))
        with storage._session() as session:
            storage._insert(session, data, None)
        migration.upgrade(engine)
        check_days_match_ledger(storage)
        for groupby, (begin, end) in itertools.product(GROUPBYS, WINDOWS):
            check_same(storage, groupby=groupby, begin=begin, end=end)
        hours = range(0, 50, 7)
        assert storage.total()["results"][0]["qty"] == \
            sum(3 * (Decimal(h) + Decimal("0.5")) + 1 for h in hours) + 2
    finally:
        engine.dispose()
        db_api.dispose_engines()


def test_concurrent_writers_keep_the_sums_exact(storage, db_kind):
    """Pushes and unchecked replaces of the same scopes and periods from
    several threads (deadlocks are retried): the day rows still add up to
    the ledger, and the rollups to the rated rows; each replaced period
    holds one writer's rows."""
    if db_kind == "sqlite":
        pytest.skip("SQLite runs one writer at a time")
    # Writers of a scope take turns on its state row, once there is one.
    StateManager(storage.conf, storage.engine) \
        .set_last_processed_timestamp("b", at(0))
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for hour in range(4):
                storage.push([frame(at(hour), {"cpu": [
                    point(str(worker + 1), "0.5", project_id="a")]})])
                storage.replace_scope_period("b", at(hour), at(hour + 1), [
                    frame(at(hour), {"ram": [
                        point(str(worker + 1), "1.25", project_id="b")]})])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check_days_match_ledger(storage)
    for groupby in (None, ["project_id", "type"], ["time-d"]):
        check_same(storage, groupby=groupby)
        check_same(storage, groupby=groupby, begin=T0, end=T0 + DAY)
    pushed = storage.total(filters={"project_id": "a"})["results"][0]
    assert pushed["qty"] == 4 * (1 + 2 + 3 + 4)
    replaced = storage.total(filters={"project_id": "b"})["results"][0]
    assert replaced["rate"] == 4 * Decimal("1.25")
