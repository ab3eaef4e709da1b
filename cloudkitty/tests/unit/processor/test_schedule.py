"""Which period of a scope is due (COMPAT §7.1)."""
from __future__ import annotations

import datetime

import pytest

from cloudkitty.processor import schedule

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
LAST = datetime.datetime(2026, 3, 10, 5, tzinfo=UTC)


@pytest.fixture
def conf(make_conf):
    def _conf(period: int = 3600, wait_periods: int = 2):
        return make_conf({"collect": {"period": period,
                                      "wait_periods": wait_periods}})
    return _conf


def test_never_rated_scope_starts_at_the_month_start(conf) -> None:
    now = datetime.datetime(2026, 3, 17, 13, 42, 7, tzinfo=UTC)
    assert schedule.next_timestamp(conf(), None, now) == \
        datetime.datetime(2026, 3, 1, tzinfo=UTC)


def test_month_start_is_taken_in_utc() -> None:
    east = datetime.timezone(datetime.timedelta(hours=5))
    # 2026-04-01 02:00 at UTC+5 is still March in UTC.
    now = datetime.datetime(2026, 4, 1, 2, tzinfo=east)
    assert schedule.month_start(now) == \
        datetime.datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("wait_periods, due_after", [
    (2, LAST + 3 * HOUR), (1, LAST + 2 * HOUR), (0, LAST + 2 * HOUR)])
def test_next_period_waits_for_wait_periods(conf, wait_periods,
                                            due_after) -> None:
    settings = conf(wait_periods=wait_periods)
    second = datetime.timedelta(seconds=1)
    assert schedule.next_timestamp(settings, LAST, due_after) is None \
        or wait_periods == 0
    assert schedule.next_timestamp(settings, LAST, due_after + second) == \
        LAST + HOUR


def test_without_wait_a_period_is_due_once_it_has_ended(conf) -> None:
    settings = conf(wait_periods=0)
    end = LAST + 2 * HOUR
    assert schedule.next_timestamp(
        settings, LAST, end - datetime.timedelta(seconds=1)) is None
    assert schedule.next_timestamp(settings, LAST, end) == LAST + HOUR


def test_period_length_comes_from_the_configuration(conf) -> None:
    settings = conf(period=600, wait_periods=0)
    ten = datetime.timedelta(minutes=10)
    assert schedule.next_timestamp(settings, LAST, LAST + 2 * ten) == \
        LAST + ten
