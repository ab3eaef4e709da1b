"""Sums of rated points per rollup key, computed in Python."""
from __future__ import annotations

import datetime
import decimal
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.storage import _time
from cloudkitty.storage.v2.sqlalchemy.models import (
    EXACT,
    quantize,
)

_ZERO = decimal.Decimal(0)
_PLAIN = (int, float, bool)
_MISSING = object()

#: ``(day_of_the_year, week_of_the_year, month, year)``, None when absent.
TimeKeys = tuple[str | None, str | None, str | None, str | None]


class PeriodSum(NamedTuple):
    """The sums of one ledger row: the points of one scope, type, stored
    period and set of time keys. Datetimes are naive UTC (as stored);
    ``qty``/``price`` are sums of the values rounded as the storage keeps
    them (:func:`cloudkitty.storage.v2.sqlalchemy.models.quantize`)."""

    scope_id: str | None
    type: str
    begin: datetime.datetime
    end: datetime.datetime
    time_keys: TimeKeys
    qty: decimal.Decimal
    price: decimal.Decimal
    #: How many points.
    points: int


def key_text(value: Any) -> str | None:
    """A groupby value as the text the SQL backend's JSON extraction
    gives: strings as they are, numbers and booleans in JSON spelling,
    anything else through ``str()`` (as the backend stores it)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _PLAIN):
        return json.dumps(value)
    return str(value)


def midnight(value: datetime.datetime) -> datetime.datetime:
    """The UTC midnight starting ``value``'s day (naive UTC)."""
    value = _time.to_db(value)
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def is_midnight(value: datetime.datetime | None) -> bool:
    return value is None or midnight(value) == _time.to_db(value)


class SumBuilder:
    """Accumulates :class:`PeriodSum` rows point by point, for callers
    that already walk the points (the SQL backend builds its rows and the
    ledger sums in one pass). ``qty``/``price`` given to :meth:`add` must
    already be rounded with
    :func:`cloudkitty.storage.v2.sqlalchemy.models.quantize`."""

    __slots__ = ("_sums",)

    def __init__(self) -> None:
        self._sums: dict[tuple[Any, ...], list[Any]] = {}

    def add(self, scope: str | None, metric_type: str,
            begin: datetime.datetime, end: datetime.datetime,
            groupby: Any, qty: decimal.Decimal,
            price: decimal.Decimal) -> None:
        """Count one point (``begin``/``end`` naive UTC)."""
        key = (scope, metric_type, begin, end,
               (key_text(groupby.get("day_of_the_year")),
                key_text(groupby.get("week_of_the_year")),
                key_text(groupby.get("month")),
                key_text(groupby.get("year"))))
        entry = self._sums.get(key)
        if entry is None:
            self._sums[key] = [qty, price, 1]
            return
        entry[0] = EXACT.add(entry[0], qty)
        entry[1] = EXACT.add(entry[1], price)
        entry[2] += 1

    def sums(self) -> list[PeriodSum]:
        return [PeriodSum(*key, qty, price, count)  # type: ignore[call-arg]
                for key, (qty, price, count) in self._sums.items()]


def point_scope(point: DataPoint, scope_key: str,
                default: str | None) -> str | None:
    """A point's scope: its ``scope_key`` value (groupby first, then
    metadata, as :attr:`DataPoint.desc` merges them), else ``default``;
    as text."""
    scope = point.groupby.get(scope_key, _MISSING)
    if scope is _MISSING:
        scope = point.metadata.get(scope_key, default)
    return None if scope is None else str(scope)


def from_frames(frames: Iterable[DataFrame], scope_id: str | None,
                scope_key: str) -> list[PeriodSum]:
    """One :class:`PeriodSum` per key of ``frames``' points; a point's
    scope is its ``scope_key`` value, else ``scope_id``."""
    builder = SumBuilder()
    for frame in frames:
        begin, end = _time.to_db(frame.start), _time.to_db(frame.end)
        for metric_type, point in frame.iterpoints():
            builder.add(point_scope(point, scope_key, scope_id),
                        metric_type, begin, end, point.groupby,
                        quantize(point.qty), quantize(point.price))
    return builder.sums()


DayKey = tuple[str | None, str, datetime.datetime, TimeKeys]


def day_key(scope_id: str | None, metric_type: str,
            begin: datetime.datetime, time_keys: Sequence[str | None]
            ) -> DayKey:
    return (scope_id, metric_type, midnight(begin),
            tuple(time_keys))  # type: ignore[return-value]


def key_hash(key: DayKey) -> str:
    """The unique key of a day row."""
    scope_id, metric_type, day, time_keys = key
    text = json.dumps([scope_id, metric_type, day.isoformat(),
                       list(time_keys)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
