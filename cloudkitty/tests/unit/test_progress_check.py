"""``replace_scope_period(expected=...)``: a frame collected against a
progress that has since moved is refused and writes nothing.

Runs on SQLite here; ``tests/functional/test_progress_check.py`` re-runs
it on PostgreSQL and MariaDB.
"""
from __future__ import annotations

import pytest

from cloudkitty import exceptions
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.tests.storage_factory import at, frame, point


@pytest.fixture
def storage(migrated_conf):
    return get_storage(migrated_conf)


def stored_periods(storage, scope_id: str) -> list:
    rows = storage.total(groupby=["time"], filters={"project_id": scope_id},
                         paginate=False)["results"]
    return sorted((row["begin"], row["rate"]) for row in rows)


def rated(hour: int, price: str, scope_id: str = "proj-a"):
    return frame(at(hour), {"instance": [point("1", price,
                                              project_id=scope_id)]})


def test_first_period_expects_no_state(storage, migrated_conf) -> None:
    storage.replace_scope_period("proj-a", at(0), at(1), [rated(0, "2")],
                                 expected=None)
    assert StateManager(migrated_conf).get_last_processed_timestamp(
        "proj-a") == at(0)
    with pytest.raises(exceptions.StaleProgress):
        storage.replace_scope_period("proj-a", at(0), at(1),
                                     [rated(0, "5")], expected=None)
    assert [r for _, r in stored_periods(storage, "proj-a")] == [2]


def test_next_period_expects_the_previous_one(storage,
                                              migrated_conf) -> None:
    storage.replace_scope_period("proj-a", at(0), at(1), [rated(0, "2")],
                                 expected=None)
    storage.replace_scope_period("proj-a", at(1), at(2), [rated(1, "3")],
                                 expected=at(0))
    # A late duplicate of period 1, collected when the state was at 0,
    # after the scope moved on to 2: refused, state not moved back.
    storage.replace_scope_period("proj-a", at(2), at(3), [rated(2, "4")],
                                 expected=at(1))
    with pytest.raises(exceptions.StaleProgress) as info:
        storage.replace_scope_period("proj-a", at(1), at(2),
                                     [rated(1, "9")], expected=at(0))
    assert "proj-a" in info.value.message
    assert StateManager(migrated_conf).get_last_processed_timestamp(
        "proj-a") == at(2)
    assert stored_periods(storage, "proj-a") == [
        (at(0), 2), (at(1), 3), (at(2), 4)]


def test_reset_makes_frames_collected_before_it_stale(
        storage, migrated_conf) -> None:
    for hour in range(3):
        storage.replace_scope_period(
            "proj-a", at(hour), at(hour + 1), [rated(hour, "1")],
            expected=None if hour == 0 else at(hour - 1))
    storage.reset_scope("proj-a", at(1))
    # Collected for period 3 when the state was at 2: dropped, so the
    # periods after the reset point are rated again, none skipped.
    with pytest.raises(exceptions.StaleProgress):
        storage.replace_scope_period("proj-a", at(3), at(4),
                                     [rated(3, "1")], expected=at(2))
    # Rating resumes with the period starting at the reset point.
    assert StateManager(migrated_conf).get_last_processed_timestamp(
        "proj-a") == at(0)
    assert [b for b, _ in stored_periods(storage, "proj-a")] == [at(0)]


def test_schedule_progress_is_checked_and_state_untouched(
        storage, migrated_conf) -> None:
    StateManager(migrated_conf).set_last_processed_timestamp("proj-a",
                                                             at(5))
    schedules = ReprocessingSchedules(migrated_conf)
    (item,) = schedules.create("proj-a", at(0), at(1), "price change")
    storage.replace_scope_period("proj-a", at(0), at(1), [rated(0, "7")],
                                 schedule_id=item.id, expected=None)
    with pytest.raises(exceptions.StaleProgress):
        storage.replace_scope_period("proj-a", at(0), at(1),
                                     [rated(0, "8")], schedule_id=item.id,
                                     expected=None)
    storage.replace_scope_period("proj-a", at(1), at(2), [rated(1, "7")],
                                 schedule_id=item.id, expected=at(0))
    assert schedules.get_current_time(item.id) == at(1)
    assert StateManager(migrated_conf).get_last_processed_timestamp(
        "proj-a") == at(5)
    assert stored_periods(storage, "proj-a") == [(at(0), 7), (at(1), 7)]


def test_unchecked_replace_keeps_working(storage, migrated_conf) -> None:
    storage.replace_scope_period("proj-a", at(0), at(1), [rated(0, "1")])
    storage.replace_scope_period("proj-a", at(0), at(1), [rated(0, "2")])
    assert stored_periods(storage, "proj-a") == [(at(0), 2)]
