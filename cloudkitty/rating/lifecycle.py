"""Validity window of time-bounded rating rules (hashmap mappings, scripts).

A rule is priced from ``start`` (inclusive) until ``end`` (exclusive, or for
ever when NULL) unless it was soft-deleted. Creation and update follow the
rules clients of the v1 API rely on:

* ``start`` defaults to now; a ``start`` in the past needs ``force``;
* ``end`` must not be before ``start``; an ``end`` given as a bare date
  means the last second of that day;
* once a rule has started, the only change allowed is setting its ``end``,
  once, to a moment in the future; before it starts, its cost, window and
  description may change.

Everything here is pure: times are naive UTC ``datetime`` objects (use
:func:`parse_time` to get one from client input) and ``now`` is passed in,
so callers and tests choose the clock.
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from cloudkitty import exceptions

__all__ = [
    "END_OF_DAY",
    "Window",
    "expand_bare_date_end",
    "has_started",
    "is_active",
    "parse_time",
    "plan_update",
    "validate_new_window",
    "windows_overlap",
]

#: Time of day a bare-date ``end`` stands for.
END_OF_DAY = datetime.time(23, 59, 59)

#: Attributes that may change before a rule starts, besides ``end``.
PRE_START_UPDATABLE = ("cost", "start", "end", "description")

START_IN_PAST = ("Cannot create a rule with start in the past. Use "
                 "force=true to create it anyway.")
END_BEFORE_START = ("The end of a rule cannot be before its start "
                    "(start: {start}, end: {end}).")
ENDED_RULE = ("Cannot update a rule that was already processed and has a "
              "defined end date.")
ONLY_END = ("You are allowed to update only the attribute [end] of a rule "
            "that has already started; attribute [{field}] cannot change.")
START_MOVED_TO_PAST = ("Cannot move the start of a rule into the past. Use "
                       "force=true to do it anyway.")
END_IN_PAST = ("The end of a rule that has already started must be in the "
               "future (end: {end}).")


@dataclasses.dataclass(frozen=True)
class Window:
    """A validated validity window: naive UTC, ``end`` None = open."""

    start: datetime.datetime
    end: datetime.datetime | None


def _to_naive_utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def parse_time(value: str | datetime.date | None, field: str, *,
               end_of_day: bool = False) -> datetime.datetime | None:
    """Client input (ISO 8601 string, ``date`` or ``datetime``) as naive UTC.

    A value with an offset is converted to UTC; one without is taken as
    UTC. A bare date is midnight of that day, or 23:59:59 when
    ``end_of_day`` (how an ``end`` date is read). Empty → None.
    Raises :class:`InvalidInput` naming ``field`` when unparsable.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return _to_naive_utc(value)
    if isinstance(value, datetime.date):
        return _day(value, end_of_day)
    if not isinstance(value, str):
        raise exceptions.InvalidInput(
            f"Invalid value for field '{field}': expected an ISO 8601 date "
            f"or date and time, got {value!r}.", field=field)
    text = value.strip()
    try:
        if len(text) == 10:
            return _day(datetime.date.fromisoformat(text), end_of_day)
        # Python < 3.11 rejected a "Z" suffix; keep being explicit.
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return _to_naive_utc(datetime.datetime.fromisoformat(text))
    except ValueError:
        raise exceptions.InvalidInput(
            f"Invalid value for field '{field}': {value!r} is not an ISO "
            f"8601 date or date and time.", field=field) from None


def _day(day: datetime.date, end_of_day: bool) -> datetime.datetime:
    return datetime.datetime.combine(
        day, END_OF_DAY if end_of_day else datetime.time())


def expand_bare_date_end(end: datetime.datetime, was_bare_date: bool
                         ) -> datetime.datetime:
    """``end`` moved to 23:59:59 of its day when it was given as a date.

    For callers whose input layer already turned a date into midnight and
    remembers that it was a bare date.
    """
    if was_bare_date:
        return datetime.datetime.combine(end.date(), END_OF_DAY)
    return end


def validate_new_window(start: datetime.datetime | None,
                        end: datetime.datetime | None,
                        now: datetime.datetime, *,
                        force: bool = False) -> Window:
    """The window of a rule being created.

    ``start`` defaults to ``now`` (also when only ``end`` is given); a
    ``start`` before ``now`` needs ``force`` (InvalidInput naming
    ``start``); ``end`` before ``start`` is InvalidInput naming ``end``.
    """
    if start is None:
        start = now
    elif start < now and not force:
        raise exceptions.InvalidInput(START_IN_PAST, field="start")
    if end is not None and end < start:
        raise exceptions.InvalidInput(
            END_BEFORE_START.format(start=start.isoformat(),
                                    end=end.isoformat()), field="end")
    return Window(start=start, end=end)


def has_started(start: datetime.datetime, now: datetime.datetime) -> bool:
    """Whether a rule starting at ``start`` may already have been used."""
    return start < now


def is_active(start: datetime.datetime, end: datetime.datetime | None,
              deleted: datetime.datetime | None,
              at: datetime.datetime) -> bool:
    """Whether the rule prices data at ``at``: started, not ended, alive."""
    return (deleted is None and start <= at
            and (end is None or end > at))


def windows_overlap(start_a: datetime.datetime,
                    end_a: datetime.datetime | None,
                    start_b: datetime.datetime,
                    end_b: datetime.datetime | None) -> bool:
    """Whether two half-open windows ``[start, end)`` share a moment."""
    return ((end_b is None or start_a < end_b)
            and (end_a is None or start_b < end_a))


def plan_update(current: Mapping[str, Any], requested: Mapping[str, Any],
                now: datetime.datetime, *,
                compared: Iterable[str] | None = None,
                force: bool = False) -> dict[str, Any]:
    """The attributes to write when a client updates a rule.

    ``current`` holds the stored rule (at least ``start`` and ``end``, plus
    every attribute named in ``compared``); ``requested`` the values the
    client sent (missing or None = not given). ``compared`` lists the
    attributes a client may send but must not change once the rule has
    started (defaults to the keys of ``requested``).

    * Started, with an ``end``: nothing may change (InvalidInput); a
      request repeating the stored values changes nothing.
    * Started, open-ended: only ``end`` may be set, in the future; any
      other truthy requested value that differs from the stored one is
      InvalidInput naming it. Returns ``{"end": ...}`` or ``{}``.
    * Not started: returns the given ones of cost/start/end/description,
      after checking the resulting window like a new one.
    """
    start: datetime.datetime = current["start"]
    end: datetime.datetime | None = current.get("end")
    if has_started(start, now):
        names = requested.keys() if compared is None else compared
        differing = [name for name in names
                     if name != "end" and requested.get(name)
                     and requested.get(name) != current.get(name)]
        new_end = requested.get("end")
        if end is not None:
            # Repeating the current state is not a change: a client that
            # re-sends its PUT (keystoneauth does on the 302) must not fail.
            if differing or (new_end is not None and new_end != end):
                raise exceptions.InvalidInput(ENDED_RULE, field="end")
            return {}
        if differing:
            raise exceptions.InvalidInput(
                ONLY_END.format(field=differing[0]), field=differing[0])
        if new_end is None:
            return {}
        if new_end <= now:
            raise exceptions.InvalidInput(
                END_IN_PAST.format(end=new_end.isoformat()), field="end")
        return {"end": new_end}

    changes = {name: requested[name] for name in PRE_START_UPDATABLE
               if requested.get(name) is not None}
    new_start = changes.get("start", start)
    if "start" in changes and new_start != start:
        if new_start < now and not force:
            raise exceptions.InvalidInput(START_MOVED_TO_PAST, field="start")
    new_end = changes.get("end", end)
    if new_end is not None and new_end < new_start:
        raise exceptions.InvalidInput(
            END_BEFORE_START.format(start=new_start.isoformat(),
                                    end=new_end.isoformat()), field="end")
    return changes
