"""Contract: deleting, and the processor's units of work."""
from __future__ import annotations

from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.dataframe import DataPoint
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2.base import ScopePeriod
from cloudkitty.tests.storage_contract._data import (
    count,
    qtys,
    rated,
    scope_state,
)
from cloudkitty.tests.storage_factory import at, frame, point

__all__ = ["TestDelete", "TestReplaceScopePeriod", "TestReplaceScopePeriods",
           "TestResetScope"]


class TestDelete:
    def test_window(self, sample):
        sample.delete(begin=at(1), end=at(2))
        assert qtys(sample.retrieve()) == [1, 2, 4]

    def test_open_end(self, sample):
        sample.delete(begin=at(0))
        assert sample.retrieve()["total"] == 0

    def test_open_begin(self, sample):
        sample.delete(end=at(1))
        assert qtys(sample.retrieve()) == [8]

    def test_everything(self, sample):
        sample.delete()
        assert sample.retrieve()["total"] == 0
        assert sample.total()["results"] == []

    def test_filters(self, sample):
        sample.delete(filters={"project_id": "a", "type": "cpu"})
        assert qtys(sample.retrieve()) == [2, 4]

    def test_list_filters_in_a_window(self, sample):
        sample.delete(begin=at(0), end=at(1),
                      filters={"project_id": ["a", "b"], "type": ["cpu"]})
        assert qtys(sample.retrieve()) == [4, 8]

    def test_groupby_and_metadata_filters(self, sample):
        sample.delete(filters={"flavor": "big"})
        assert qtys(sample.retrieve()) == [1, 4, 8]
        sample.delete(filters={"zone": "z1"})
        assert qtys(sample.retrieve()) == [1, 8]

    def test_then_push_again(self, sample):
        sample.delete(begin=at(1), filters={"project_id": "a"})
        sample.push([rated(1, "16", "a")])
        assert qtys(sample.retrieve(begin=at(1))) == [16]


class TestReplaceScopePeriod:
    def test_twice_stores_once_and_advances_state(self, sample, conf):
        new = [frame(at(1), {"cpu": [point("100", "1", project_id="a")]})]
        sample.replace_scope_period("a", at(1), at(2), new)
        sample.replace_scope_period("a", at(1), at(2), new)
        assert qtys(sample.retrieve()) == [1, 2, 4, 100]
        assert scope_state(conf, "a") == at(1)

    def test_only_the_scope_and_window_change(self, sample):
        sample.replace_scope_period("b", at(0), at(1), [])
        assert qtys(sample.retrieve()) == [1, 4, 8]

    def test_failure_leaves_the_state_and_a_retry_stores_once(self, sample,
                                                              conf):
        StateManager(conf).set_last_processed_timestamp("a", at(0))

        def frames():
            yield rated(1, "100", "a")
            raise RuntimeError("rating failed mid-way")

        with pytest.raises(RuntimeError):
            sample.replace_scope_period("a", at(1), at(2), frames())
        assert scope_state(conf, "a") == at(0)
        assert count(sample, begin=at(0), end=at(1)) == 3
        sample.replace_scope_period("a", at(1), at(2),
                                    [rated(1, "100", "a")], expected=at(0))
        assert qtys(sample.retrieve()) == [1, 2, 4, 100]
        assert scope_state(conf, "a") == at(1)

    def test_points_without_the_scope_key_belong_to_the_scope(self,
                                                               storage):
        unscoped = [frame(at(0), {"cpu": [
            DataPoint("instance", "3", "1", {"flavor": "tiny"}, {})]})]
        for _ in range(2):
            storage.replace_scope_period("a", at(0), at(1), unscoped)
        assert count(storage) == 1
        assert count(storage, filters={"project_id": "a"}) == 1
        rows = storage.total(groupby=["project_id", "flavor"])["results"]
        assert [(r["project_id"], r["flavor"], r["qty"]) for r in rows] == [
            ("a", "tiny", 3)]
        storage.reset_scope("a", at(0))
        assert count(storage) == 0

    def test_reprocessing_moves_the_schedule_not_the_state(self, sample,
                                                           conf):
        schedules = ReprocessingSchedules(conf)
        [task] = schedules.create("a", at(0), at(1), "fix prices")
        sample.replace_scope_period("a", at(0), at(1), [], schedule_id=task.id)
        [task] = schedules.list_schedules()
        assert task.current_reprocess_time == at(0)
        assert scope_state(conf, "a") is None
        assert qtys(sample.retrieve()) == [2, 8]

    def test_expected_progress(self, storage, conf):
        storage.replace_scope_period("a", at(0), at(1), [rated(0, "1", "a")],
                                     expected=None)
        storage.replace_scope_period("a", at(1), at(2), [rated(1, "2", "a")],
                                     expected=at(0))
        assert scope_state(conf, "a") == at(1)
        assert qtys(storage.retrieve()) == [1, 2]

    @pytest.mark.parametrize("expected", [None, at(0), at(2)])
    def test_stale_progress_writes_nothing(self, sample, conf, expected):
        sample.replace_scope_period("a", at(1), at(2), [rated(1, "8", "a")])
        with pytest.raises(exceptions.StaleProgress) as err:
            sample.replace_scope_period("a", at(1), at(2),
                                        [rated(1, "99", "a")],
                                        expected=expected)
        assert "'a'" in err.value.message
        assert qtys(sample.retrieve()) == [1, 2, 4, 8]
        assert scope_state(conf, "a") == at(1)

    def test_stale_schedule_writes_nothing(self, sample, conf):
        schedules = ReprocessingSchedules(conf)
        [task] = schedules.create("a", at(0), at(2), "fix prices")
        with pytest.raises(exceptions.StaleProgress):
            sample.replace_scope_period("a", at(1), at(2), [],
                                        schedule_id=task.id, expected=at(0))
        assert qtys(sample.retrieve()) == [1, 2, 4, 8]
        [task] = schedules.list_schedules()
        assert task.current_reprocess_time is None

    def test_checked_schedule_moves_the_schedule_only(self, storage, conf):
        StateManager(conf).set_last_processed_timestamp("a", at(5))
        schedules = ReprocessingSchedules(conf)
        [task] = schedules.create("a", at(0), at(2), "fix prices")
        storage.replace_scope_period("a", at(0), at(1), [rated(0, "7", "a")],
                                     schedule_id=task.id, expected=None)
        # The schedule has moved: a second first period is stale.
        with pytest.raises(exceptions.StaleProgress):
            storage.replace_scope_period(
                "a", at(0), at(1), [rated(0, "8", "a")],
                schedule_id=task.id, expected=None)
        storage.replace_scope_period("a", at(1), at(2), [rated(1, "9", "a")],
                                     schedule_id=task.id, expected=at(0))
        assert schedules.get_current_time(task.id) == at(1)
        assert scope_state(conf, "a") == at(5)
        assert qtys(storage.retrieve()) == [7, 9]


class TestReplaceScopePeriods:
    def items(self, hour: int, price: str,
              expected: dict[str, Any]) -> list[ScopePeriod]:
        return [ScopePeriod(scope, [rated(hour, qty, scope, price)],
                            expected[scope])
                for scope, qty in (("a", "1"), ("b", "2"), ("c", "3"))]

    def test_every_scope_stored_and_its_state_advanced(self, storage, conf):
        none = dict.fromkeys("abc")
        assert storage.replace_scope_periods(
            at(0), at(1), self.items(0, "1", none)) == []
        assert storage.replace_scope_periods(
            at(1), at(2), self.items(1, "1", dict.fromkeys("abc",
                                                           at(0)))) == []
        rows = storage.total(groupby=["project_id"])["results"]
        assert [(r["project_id"], r["qty"]) for r in rows] == [
            ("a", 2), ("b", 4), ("c", 6)]
        assert [scope_state(conf, s) for s in "abc"] == [at(1)] * 3

    def test_twice_stores_once(self, storage, conf):
        for _ in range(2):
            storage.replace_scope_periods(
                at(0), at(1), self.items(0, "1", dict.fromkeys("abc",
                                                               base.UNCHECKED)))
        assert count(storage) == 3
        assert qtys(storage.retrieve()) == [1, 2, 3]

    def test_a_stale_scope_is_skipped_and_the_others_stored(self, storage,
                                                             conf):
        storage.replace_scope_periods(at(0), at(1),
                                      self.items(0, "1", dict.fromkeys("abc")))
        # b moved on meanwhile (another worker, or a reset).
        storage.replace_scope_period("b", at(1), at(2), [rated(1, "7", "b")])
        stale = storage.replace_scope_periods(at(1), at(2), self.items(
            1, "5", {"a": at(0), "b": at(0), "c": at(0)}))
        assert stale == ["b"]
        rows = storage.total(groupby=["time", "project_id"])["results"]
        assert [(r["begin"], r["project_id"], r["qty"], r["rate"])
                for r in rows] == [
            (at(0), "a", 1, 1), (at(0), "b", 2, 1), (at(0), "c", 3, 1),
            (at(1), "a", 1, 5), (at(1), "b", 7, 1), (at(1), "c", 3, 5)]
        assert [scope_state(conf, s) for s in "abc"] == [at(1)] * 3

    def test_empty_frames_clear_the_scope_period(self, sample, conf):
        stale = sample.replace_scope_periods(at(0), at(1), [
            ScopePeriod("a", []), ScopePeriod("b", [], None)])
        assert stale == []
        assert qtys(sample.retrieve()) == [8]
        assert scope_state(conf, "a") == scope_state(conf, "b") == at(0)


class TestResetScope:
    def test_reset_scope(self, sample, conf):
        sample.reset_scope("a", at(1))
        assert qtys(sample.retrieve()) == [1, 2, 4]
        # Rating resumes with the period starting at the reset point.
        assert scope_state(conf, "a") == at(0)

    def test_only_the_scope_from_the_timestamp_on(self, storage, conf):
        for hour in range(4):
            for scope in ("a", "b"):
                storage.replace_scope_period(
                    scope, at(hour), at(hour + 1),
                    [rated(hour, str(hour + 1), scope)])
        storage.reset_scope("a", at(2))
        rows = storage.total(groupby=["project_id"])["results"]
        assert [(r["project_id"], r["qty"]) for r in rows] == [
            ("a", 3), ("b", 10)]
        assert scope_state(conf, "a") == at(1)
        assert scope_state(conf, "b") == at(3)
        # A frame collected before the reset is now stale.
        with pytest.raises(exceptions.StaleProgress):
            storage.replace_scope_period("a", at(4), at(5),
                                         [rated(4, "5", "a")],
                                         expected=at(3))
        storage.replace_scope_period("a", at(2), at(3), [rated(2, "3", "a")],
                                     expected=at(1))
        assert count(storage, filters={"project_id": "a"}) == 3
