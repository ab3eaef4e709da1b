"""Scope state and reprocessing schedule access.

Runs on SQLite here; ``tests/functional/test_state.py`` re-runs every test
of this module on PostgreSQL and MariaDB too.
"""
from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.tests.storage_factory import UTC, at

PLUS2 = datetime.timezone(datetime.timedelta(hours=2))


@pytest.fixture
def conf(migrated_conf):
    return migrated_conf


@pytest.fixture
def states(conf) -> StateManager:
    return StateManager(conf)


@pytest.fixture
def schedules(conf) -> ReprocessingSchedules:
    return ReprocessingSchedules(conf)


def raw_states(conf) -> list[tuple]:
    engine = db_api.get_engine(conf)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT identifier, scope_key, fetcher, collector, "
            "last_processed_timestamp FROM cloudkitty_storage_states "
            "ORDER BY id"))]


def insert_legacy_row(conf, scope_id: str) -> None:
    """A row as old releases wrote it: no scope_key/fetcher/collector."""
    engine = db_api.get_engine(conf)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO cloudkitty_storage_states (identifier, "
            "last_processed_timestamp, scope_activation_toggle_date, active)"
            " VALUES (:i, :t, :t, :a)"),
            {"i": scope_id, "t": datetime.datetime(2019, 7, 1), "a": True})


class TestScopeState:
    def test_unknown_scope_has_no_timestamp(self, states):
        assert states.get_last_processed_timestamp("a") is None
        assert states.get_state("a") is None

    def test_set_then_get_in_utc(self, states, conf):
        states.set_last_processed_timestamp("a", at(3).astimezone(PLUS2))
        assert states.get_last_processed_timestamp("a") == at(3)
        assert states.get_last_processed_timestamp("a").tzinfo is not None
        # Stored naive UTC, keyed with the configured values.
        assert raw_states(conf)[0][:4] == ("a", "project_id", "source",
                                           "prometheus")
        assert str(raw_states(conf)[0][4]).startswith("2019-07-01 03:00:00")
        states.set_last_processed_timestamp("a", at(4))
        assert states.get_last_processed_timestamp("a") == at(4)
        assert len(raw_states(conf)) == 1

    def test_keys_separate_states(self, states):
        states.set_last_processed_timestamp("a", at(1))
        states.set_last_processed_timestamp("a", at(2), fetcher="keystone")
        assert states.get_last_processed_timestamp("a") == at(1)
        assert states.get_last_processed_timestamp(
            "a", fetcher="keystone") == at(2)

    def test_legacy_row_is_adopted_on_first_access(self, states, conf):
        insert_legacy_row(conf, "old")
        assert states.get_last_processed_timestamp("old") == \
            datetime.datetime(2019, 7, 1, tzinfo=UTC)
        assert raw_states(conf)[0][:4] == ("old", "project_id", "source",
                                           "prometheus")

    def test_listing_adopts_legacy_rows(self, states, conf):
        insert_legacy_row(conf, "old")
        [state] = states.list_states(collector="prometheus")
        assert (state.scope_id, state.fetcher) == ("old", "source")

    def test_legacy_row_kept_when_a_full_row_exists(self, states, conf):
        states.set_last_processed_timestamp("a", at(5))
        insert_legacy_row(conf, "a")
        assert states.get_last_processed_timestamp("a") == at(5)
        assert [row[1] for row in raw_states(conf)] == ["project_id", None]

    def test_list_filters_and_pages(self, states):
        for scope_id in ("c", "a", "b"):
            states.set_last_processed_timestamp(scope_id, at(1))
        states.set_last_processed_timestamp("d", at(1), collector="gnocchi")
        states.update_state("b", active=False)

        def ids(**kwargs):
            return [s.scope_id for s in states.list_states(**kwargs)]

        assert ids() == ["a", "b", "c", "d"]
        assert ids(scope_id=["a", "c"]) == ["a", "c"]
        assert ids(collector="gnocchi") == ["d"]
        assert ids(collector=["gnocchi", "prometheus"], active=True) == \
            ["a", "c", "d"]
        assert ids(active=[False]) == ["b"]
        assert ids(active=[0, 1]) == ["a", "b", "c", "d"]
        assert ids(scope_key="nope") == []
        assert ids(offset=1, limit=2) == ["b", "c"]

    def test_create_and_conflict(self, states):
        state = states.create_state("a", at(2), fetcher="keystone",
                                    active=False)
        assert (state.scope_id, state.scope_key, state.fetcher,
                state.collector, state.last_processed_timestamp,
                state.active) == ("a", "project_id", "keystone",
                                  "prometheus", at(2), False)
        with pytest.raises(exceptions.Conflict):
            states.create_state("a", at(2))

    def test_update_toggles_and_stamps(self, states):
        created = states.create_state("a", at(2))
        patched = states.update_state("a", active=False)
        assert patched.active is False
        assert patched.scope_activation_toggle_date >= \
            created.scope_activation_toggle_date
        assert states.is_active("a") is False
        again = states.update_state("a", active=False)
        assert again.scope_activation_toggle_date == \
            patched.scope_activation_toggle_date
        assert states.update_state("a", active=True).active is True

    def test_update_not_found_or_ambiguous(self, states):
        with pytest.raises(exceptions.NotFound):
            states.update_state("a", active=False)
        states.set_last_processed_timestamp("a", at(1))
        states.set_last_processed_timestamp("a", at(1), fetcher="keystone")
        with pytest.raises(exceptions.NotFound):
            states.update_state("a", active=False)

    def test_unknown_scope_is_active(self, states):
        assert states.is_active("never-seen") is True


class TestReprocessingSchedules:
    def test_create_one_per_scope(self, schedules):
        created = schedules.create(["a", "b"], at(0), at(4), "new prices")
        assert [(t.scope_id, t.start_reprocess_time, t.end_reprocess_time,
                 t.current_reprocess_time, t.reason) for t in created] == [
            ("a", at(0), at(4), None, "new prices"),
            ("b", at(0), at(4), None, "new prices")]

    def test_end_before_start(self, schedules):
        with pytest.raises(exceptions.InvalidInput) as err:
            schedules.create("a", at(4), at(0), "x")
        assert err.value.field == "end_reprocess_time"

    def test_list_orders_filters_and_pages(self, schedules):
        for scope_id in ("a", "b", "a"):
            schedules.create(scope_id, at(0), at(1), "r")

        def listed(**kwargs):
            return [(t.id, t.scope_id)
                    for t in schedules.list_schedules(**kwargs)]

        ids = [i for i, _ in listed(order="ASC")]
        assert ids == sorted(ids)
        assert [i for i, _ in listed()] == ids[::-1]
        assert [s for _, s in listed(scope_ids=["a"])] == ["a", "a"]
        assert listed(order="asc", offset=1, limit=1) == [(ids[1], "b")]
        with pytest.raises(exceptions.InvalidInput) as err:
            schedules.list_schedules(order="up")
        assert err.value.field == "order"

    def test_unfinished_and_progress(self, schedules):
        [task] = schedules.create("a", at(0), at(2), "r")
        [other] = schedules.create("b", at(0), at(2), "r")
        schedules.set_current_time(task.id, at(1).astimezone(PLUS2))
        [current] = schedules.get_unfinished(scope_ids="a")
        assert current.current_reprocess_time == at(1)
        assert current.finished is False
        schedules.set_current_time(task.id, at(2))
        assert [t.id for t in schedules.get_unfinished()] == [other.id]
        [done] = schedules.list_schedules(scope_ids="a")
        assert done.finished is True

    def test_progress_of_unknown_schedule(self, schedules):
        with pytest.raises(exceptions.NotFound):
            schedules.set_current_time(12345, at(0))
