"""The validity window rules of hashmap mappings and pyscripts."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from cloudkitty import exceptions
from cloudkitty.rating import lifecycle

NOW = datetime.datetime(2026, 5, 10, 12, 0, 0)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


# -- parse_time -------------------------------------------------------------

@pytest.mark.parametrize(("text", "end_of_day", "expected"), [
    ("2026-05-10T08:30:00", False, datetime.datetime(2026, 5, 10, 8, 30)),
    ("2026-05-10T08:30:00Z", False, datetime.datetime(2026, 5, 10, 8, 30)),
    ("2026-05-10T10:30:00+02:00", False,
     datetime.datetime(2026, 5, 10, 8, 30)),
    ("2026-05-10 08:30", False, datetime.datetime(2026, 5, 10, 8, 30)),
    ("2026-05-10", False, datetime.datetime(2026, 5, 10)),
    ("2026-05-10", True, datetime.datetime(2026, 5, 10, 23, 59, 59)),
    # A time given with the date is kept, even for an end.
    ("2026-05-10T00:00:00", True, datetime.datetime(2026, 5, 10)),
])
def test_parse_time_reads_iso_8601_as_naive_utc(text, end_of_day, expected):
    assert lifecycle.parse_time(text, "end", end_of_day=end_of_day) \
        == expected


def test_parse_time_accepts_date_and_datetime_objects():
    aware = datetime.datetime(2026, 5, 10, 10, tzinfo=datetime.timezone(
        datetime.timedelta(hours=2)))
    assert lifecycle.parse_time(aware, "start") == \
        datetime.datetime(2026, 5, 10, 8)
    assert lifecycle.parse_time(datetime.date(2026, 5, 10), "end",
                                end_of_day=True) == \
        datetime.datetime(2026, 5, 10, 23, 59, 59)


@pytest.mark.parametrize("empty", [None, ""])
def test_parse_time_of_nothing_is_none(empty):
    assert lifecycle.parse_time(empty, "start") is None


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "2026-05-10T25",
                                 12])
def test_parse_time_rejects_garbage_naming_the_field(bad):
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.parse_time(bad, "start")
    assert err.value.field == "start"
    assert "start" in err.value.message


def test_expand_bare_date_end():
    midnight = datetime.datetime(2026, 5, 10)
    assert lifecycle.expand_bare_date_end(midnight, True) == \
        datetime.datetime(2026, 5, 10, 23, 59, 59)
    assert lifecycle.expand_bare_date_end(midnight, False) == midnight


# -- validate_new_window ----------------------------------------------------

def test_new_window_start_defaults_to_now():
    assert lifecycle.validate_new_window(None, None, NOW) == \
        lifecycle.Window(NOW, None)


def test_new_window_future_start_and_end_kept():
    window = lifecycle.validate_new_window(NOW + HOUR, NOW + DAY, NOW)
    assert window == lifecycle.Window(NOW + HOUR, NOW + DAY)


def test_new_window_start_in_the_past_needs_force():
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.validate_new_window(NOW - HOUR, None, NOW)
    assert err.value.field == "start"
    assert err.value.message.startswith(
        "Cannot create a rule with start in the past")
    assert lifecycle.validate_new_window(NOW - HOUR, None, NOW,
                                         force=True).start == NOW - HOUR


def test_new_window_start_exactly_now_needs_no_force():
    assert lifecycle.validate_new_window(NOW, None, NOW).start == NOW


def test_new_window_end_before_start_names_end():
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.validate_new_window(NOW + DAY, NOW + HOUR, NOW)
    assert err.value.field == "end"


def test_new_window_end_equal_to_start_is_accepted():
    assert lifecycle.validate_new_window(NOW + HOUR, NOW + HOUR,
                                         NOW).end == NOW + HOUR


def test_new_window_end_without_start_starts_now():
    assert lifecycle.validate_new_window(None, NOW + DAY, NOW) == \
        lifecycle.Window(NOW, NOW + DAY)
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.validate_new_window(None, NOW - DAY, NOW)
    assert err.value.field == "end"


# -- is_active / has_started / windows_overlap -------------------------------

@pytest.mark.parametrize(("start", "end", "deleted", "active"), [
    (NOW, None, None, True),               # start is inclusive
    (NOW - DAY, NOW, None, False),         # end is exclusive
    (NOW - DAY, NOW + HOUR, None, True),
    (NOW + HOUR, None, None, False),       # not started
    (NOW - DAY, None, NOW - HOUR, False),  # soft-deleted
])
def test_is_active(start, end, deleted, active):
    assert lifecycle.is_active(start, end, deleted, NOW) is active


def test_has_started_is_strict():
    assert lifecycle.has_started(NOW - HOUR, NOW)
    assert not lifecycle.has_started(NOW, NOW)
    assert not lifecycle.has_started(NOW + HOUR, NOW)


@pytest.mark.parametrize(("a", "b", "overlap"), [
    ((NOW, None), (NOW + DAY, None), True),
    ((NOW, NOW + DAY), (NOW + DAY, None), False),  # touching
    ((NOW, NOW + DAY), (NOW + HOUR, NOW + 2 * HOUR), True),
    ((NOW + DAY, None), (NOW, NOW + HOUR), False),
])
def test_windows_overlap(a, b, overlap):
    assert lifecycle.windows_overlap(*a, *b) is overlap
    assert lifecycle.windows_overlap(*b, *a) is overlap


# -- plan_update --------------------------------------------------------------

def _rule(start, end=None, **extra):
    return {"start": start, "end": end, "cost": Decimal("1"),
            "description": "d", "value": "v", **extra}


def test_update_started_rule_with_end_is_refused():
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.plan_update(_rule(NOW - DAY, NOW + DAY),
                              {"end": NOW + 2 * DAY}, NOW)
    assert err.value.message == (
        "Cannot update a rule that was already processed and has a "
        "defined end date.")


def test_update_started_rule_repeating_its_state_is_a_no_op():
    # keystoneauth re-sends a PUT to the Location of the 302 it gets.
    current = _rule(NOW - DAY, NOW + DAY)
    assert lifecycle.plan_update(current, dict(current), NOW) == {}
    assert lifecycle.plan_update(current, {"end": None}, NOW) == {}
    with pytest.raises(exceptions.InvalidInput):
        lifecycle.plan_update(current, dict(current, cost=Decimal(2)), NOW)


def test_update_started_open_rule_sets_end_once():
    assert lifecycle.plan_update(_rule(NOW - DAY), {"end": NOW + DAY},
                                 NOW) == {"end": NOW + DAY}


def test_update_started_rule_end_must_be_in_the_future():
    for end in (NOW, NOW - HOUR):
        with pytest.raises(exceptions.InvalidInput) as err:
            lifecycle.plan_update(_rule(NOW - DAY), {"end": end}, NOW)
        assert err.value.field == "end"


def test_update_started_rule_other_changes_are_refused_naming_them():
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.plan_update(_rule(NOW - DAY),
                              {"cost": Decimal("2"), "end": NOW + DAY}, NOW)
    assert err.value.field == "cost"
    assert err.value.message.startswith(
        "You are allowed to update only the attribute [end]")


def test_update_started_rule_unchanged_or_empty_values_are_ignored():
    current = _rule(NOW - DAY)
    requested = {"cost": Decimal("1.000"), "description": "",
                 "value": None, "start": NOW - DAY, "end": NOW + DAY}
    assert lifecycle.plan_update(current, requested, NOW) == \
        {"end": NOW + DAY}
    assert lifecycle.plan_update(current, {"cost": Decimal(1)}, NOW) == {}


def test_update_started_rule_compared_limits_the_checked_attributes():
    requested = {"cost": Decimal("9"), "end": NOW + DAY}
    assert lifecycle.plan_update(_rule(NOW - DAY), requested, NOW,
                                 compared=["value"]) == {"end": NOW + DAY}


def test_update_future_rule_changes_cost_window_description():
    current = _rule(NOW + DAY)
    requested = {"cost": Decimal("3"), "start": NOW + 2 * DAY,
                 "end": NOW + 3 * DAY, "description": "new",
                 "value": "ignored here"}
    assert lifecycle.plan_update(current, requested, NOW) == {
        "cost": Decimal("3"), "start": NOW + 2 * DAY, "end": NOW + 3 * DAY,
        "description": "new"}


def test_update_future_rule_window_is_checked():
    current = _rule(NOW + DAY)
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.plan_update(current, {"end": NOW + HOUR}, NOW)
    assert err.value.field == "end"
    with pytest.raises(exceptions.InvalidInput) as err:
        lifecycle.plan_update(current, {"start": NOW - HOUR}, NOW)
    assert err.value.field == "start"
    assert lifecycle.plan_update(current, {"start": NOW - HOUR}, NOW,
                                 force=True) == {"start": NOW - HOUR}
