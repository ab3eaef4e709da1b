"""Rated data in memory: DataPoint and DataFrame.

Standard library only. Both types are immutable: every "change" returns a
new object, so a frame handed to a rating module cannot be altered behind
the caller's back. Money and quantities are :class:`decimal.Decimal` built
from strings; a float goes through ``str()`` first so ``0.1`` stays
``Decimal("0.1")`` and not its binary approximation.

Two dict forms exist on the wire:

* v2: ``{"vol": {"unit", "qty"}, "rating": {"price"}, "groupby": {...},
  "metadata": {...}}``
* v1 (legacy): the same with one ``"desc"`` mapping instead of
  ``groupby`` + ``metadata``.

Validation errors raise :class:`cloudkitty.exceptions.DataFrameError` whose
``field`` is the path of the bad value, e.g. ``usage.cpu[0].vol.qty``.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from cloudkitty.exceptions import DataFrameError

__all__ = ["DataPoint", "DataFrame", "DataFrameBuilder", "parse_datetime",
           "to_decimal"]

#: What qty and price may be built from.
Number = decimal.Decimal | int | float | str

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_DECIMAL = decimal.Decimal
_ZERO = decimal.Decimal(0)
_new_object = object.__new__
_BASIC_ISO = re.compile(
    r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?"
    r"(Z|[+-]\d{2}:?\d{2})?$")


def _where(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def to_decimal(value: Any, field: str) -> decimal.Decimal:
    """``value`` as a finite Decimal; floats go through ``str()``.

    Raises DataFrameError naming ``field`` for anything else (bools, NaN,
    infinities, unparsable strings).
    """
    if isinstance(value, decimal.Decimal):
        result = value
    elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DataFrameError(
            f"'{field}' must be a number, not {type(value).__name__}.",
            field=field)
    else:
        try:
            result = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise DataFrameError(f"'{field}' is not a number: {value!r}.",
                                 field=field) from None
    if not result.is_finite():
        raise DataFrameError(f"'{field}' must be finite, not {value!r}.",
                             field=field)
    return result


def _frozen_mapping(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise DataFrameError(
            f"'{field}' must be a mapping, not {type(value).__name__}.",
            field=field)
    for key in value:
        if not isinstance(key, str):
            raise DataFrameError(f"'{field}' keys must be strings.",
                                 field=field)
    return MappingProxyType(dict(value))


def parse_datetime(value: Any, field: str) -> datetime.datetime:
    """A datetime from a datetime or an ISO 8601 string.

    Extended (``2019-07-23T12:28:10+00:00``) and basic
    (``20190723T122810Z``) formats are accepted; ``Z`` means UTC. Naive
    results stay naive (the caller decides what they mean).
    """
    if isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str):
        raise DataFrameError(
            f"'{field}' must be a datetime or an ISO 8601 string.",
            field=field)
    text = value.strip()
    match = _BASIC_ISO.match(text)
    if match:
        year, month, day, hour, minute, second, frac, zone = match.groups()
        if zone and zone not in "Zz" and ":" not in zone:
            zone = f"{zone[:3]}:{zone[3:]}"
        text = (f"{year}-{month}-{day}T{hour}:{minute}:{second}"
                f"{frac or ''}{zone or ''}")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise DataFrameError(
            f"'{field}' is not an ISO 8601 date: {value!r}.",
            field=field) from None


@dataclasses.dataclass(frozen=True, init=False, eq=True, slots=True)
class DataPoint:
    """One rated (or to-be-rated) measurement.

    ``unit`` falls back to ``"undefined"`` when empty; ``qty`` and ``price``
    are Decimals; ``groupby`` and ``metadata`` are read-only mappings;
    ``description`` is the optional metric description of metrics.yml.
    """

    unit: str
    qty: decimal.Decimal
    price: decimal.Decimal
    groupby: Mapping[str, Any]
    metadata: Mapping[str, Any]
    description: str | None

    def __init__(self, unit: str | None, qty: Number, price: Number = 0,
                 groupby: Mapping[str, Any] | None = None,
                 metadata: Mapping[str, Any] | None = None,
                 description: str | None = None) -> None:
        if unit and not isinstance(unit, str):
            raise DataFrameError("'unit' must be a string.", field="unit")
        if description is not None and not isinstance(description, str):
            raise DataFrameError("'description' must be a string.",
                                 field="description")
        set_ = object.__setattr__  # the dataclass is frozen
        set_(self, "unit", unit or "undefined")
        set_(self, "qty", to_decimal(qty, "qty"))
        set_(self, "price", to_decimal(price, "price"))
        set_(self, "groupby", _frozen_mapping(groupby, "groupby"))
        set_(self, "metadata", _frozen_mapping(metadata, "metadata"))
        set_(self, "description", description)

    def __hash__(self) -> int:
        return hash((self.unit, self.qty, self.price,
                     frozenset(self.groupby.items()),
                     frozenset(self.metadata.items()), self.description))

    def __repr__(self) -> str:
        return (f"DataPoint(unit={self.unit!r}, qty={self.qty!r}, "
                f"price={self.price!r}, groupby={dict(self.groupby)!r}, "
                f"metadata={dict(self.metadata)!r}, "
                f"description={self.description!r})")

    @property
    def desc(self) -> Mapping[str, Any]:
        """Metadata merged with groupby; groupby wins on shared keys."""
        return MappingProxyType({**self.metadata, **self.groupby})

    def replace(self, **changes: Any) -> DataPoint:
        """A copy with some fields changed (validated like the original)."""
        return dataclasses.replace(self, **changes)

    def set_price(self, price: Number) -> DataPoint:
        """A copy with ``price`` replaced."""
        if price.__class__ is _DECIMAL and price.is_finite():
            # Rating modules call this once per point: a finite Decimal
            # needs no validation and the other fields are already
            # validated and immutable, so share them instead of rebuilding
            # the point through __init__.
            new = _new_object(self.__class__)
            _set_unit(new, self.unit)
            _set_qty(new, self.qty)
            _set_price(new, price)
            _set_groupby(new, self.groupby)
            _set_metadata(new, self.metadata)
            _set_description(new, self.description)
            return new
        return self.replace(price=price)

    @classmethod
    def collected(cls, unit: str, qty: decimal.Decimal,
                  groupby: dict[str, Any], metadata: dict[str, Any]
                  ) -> DataPoint:
        """An unpriced point as a collector builds it, once per collected
        series: ``unit`` comes from metrics.yml, and ``groupby`` and
        ``metadata`` are new dicts keyed by the metric's label names, which
        the point keeps (read-only) instead of copying. Anything else than
        a finite Decimal quantity goes through the full checks."""
        if qty.__class__ is not _DECIMAL or not qty.is_finite():
            return cls(unit, qty, 0, groupby, metadata)
        new = _new_object(cls)
        _set_unit(new, unit or "undefined")
        _set_qty(new, qty)
        _set_price(new, _ZERO)
        _set_groupby(new, MappingProxyType(groupby))
        _set_metadata(new, MappingProxyType(metadata))
        _set_description(new, None)
        return new

    def stamp(self, groupby: Mapping[str, Any],
              description: str | None) -> DataPoint:
        """A copy with ``groupby`` added to (and winning over) its own
        groupby, and ``description`` as its description. Collectors call
        this once per collected point: only the new parts are checked."""
        if description is not None and not isinstance(description, str):
            raise DataFrameError("'description' must be a string.",
                                 field="description")
        added = _frozen_mapping(groupby, "groupby")
        new = _new_object(self.__class__)
        _set_unit(new, self.unit)
        _set_qty(new, self.qty)
        _set_price(new, self.price)
        _set_groupby(new, MappingProxyType({**self.groupby, **added}))
        _set_metadata(new, self.metadata)
        _set_description(new, description)
        return new

    def as_dict(self, legacy: bool = False,
                mutable: bool = False) -> dict[str, Any]:
        """The v2 dict form, or the v1 form (one ``desc``) if ``legacy``.

        Mappings are plain dicts when ``mutable``, read-only views
        otherwise. Numbers stay Decimals; encoding is the caller's job.
        """
        def _m(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
            return dict(mapping) if mutable else mapping

        out: dict[str, Any] = {
            "vol": {"unit": self.unit, "qty": self.qty},
            "rating": {"price": self.price},
        }
        if legacy:
            out["desc"] = _m(self.desc)
        else:
            out["groupby"] = _m(self.groupby)
            out["metadata"] = _m(self.metadata)
        return out

    @classmethod
    def from_dict(cls, data: Any, legacy: bool = False,
                  path: str = "") -> DataPoint:
        """Build a point from its v2 (or v1 if ``legacy``) dict form.

        ``vol.unit`` (string) and ``vol.qty`` are required, ``rating.price``
        defaults to 0; v2 requires ``groupby`` and ``metadata`` mappings, v1
        requires ``desc`` (which becomes the groupby). ``path`` prefixes the
        field named in errors.
        """
        if not isinstance(data, Mapping):
            raise DataFrameError(f"'{path or 'point'}' must be a mapping.",
                                 field=path or None)
        vol = data.get("vol")
        if not isinstance(vol, Mapping):
            field = _where(path, "vol")
            raise DataFrameError(f"'{field}' is required and must be a "
                                 f"mapping.", field=field)
        unit = vol.get("unit")
        if not isinstance(unit, str):
            field = _where(path, "vol.unit")
            raise DataFrameError(f"'{field}' is required and must be a "
                                 f"string.", field=field)
        if "qty" not in vol:
            field = _where(path, "vol.qty")
            raise DataFrameError(f"'{field}' is required.", field=field)
        qty = to_decimal(vol["qty"], _where(path, "vol.qty"))
        rating = data.get("rating")
        if rating is None:
            rating = {}
        if not isinstance(rating, Mapping):
            field = _where(path, "rating")
            raise DataFrameError(f"'{field}' must be a mapping.",
                                 field=field)
        price = to_decimal(rating.get("price", 0),
                           _where(path, "rating.price"))
        if legacy:
            groupby = cls._required_mapping(data, "desc", path)
            metadata: Mapping[str, Any] = _EMPTY
        else:
            groupby = cls._required_mapping(data, "groupby", path)
            metadata = cls._required_mapping(data, "metadata", path)
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            field = _where(path, "description")
            raise DataFrameError(f"'{field}' must be a string.", field=field)
        return cls(unit, qty, price, groupby, metadata, description)

    @staticmethod
    def _required_mapping(data: Mapping[str, Any], key: str,
                          path: str) -> Mapping[str, Any]:
        field = _where(path, key)
        if key not in data:
            raise DataFrameError(f"'{field}' is required.", field=field)
        return _frozen_mapping(data[key], field)


def _slot_setter(name: str) -> Callable[[DataPoint, Any], None]:
    """The raw setter of a DataPoint slot, which bypasses the frozen
    ``__setattr__``: used to fill a copy in :meth:`DataPoint.set_price`."""
    setter: Callable[[DataPoint, Any], None] = getattr(DataPoint,
                                                       name).__set__
    return setter


_set_unit = _slot_setter("unit")
_set_qty = _slot_setter("qty")
_set_price = _slot_setter("price")
_set_groupby = _slot_setter("groupby")
_set_metadata = _slot_setter("metadata")
_set_description = _slot_setter("description")


@dataclasses.dataclass(frozen=True, init=False, eq=True)
class DataFrame:
    """The points of one period ``[start, end)``, by metric type.

    ``usage`` is a read-only ordered mapping of metric type to a tuple of
    points. Frames never change; :meth:`add_points`, :meth:`map_points`
    and :class:`DataFrameBuilder` produce new ones.
    """

    start: datetime.datetime
    end: datetime.datetime
    usage: Mapping[str, tuple[DataPoint, ...]]

    def __init__(self, start: datetime.datetime, end: datetime.datetime,
                 usage: Mapping[str, Iterable[DataPoint]] | None = None
                 ) -> None:
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, datetime.datetime):
                raise DataFrameError(f"'{name}' must be a datetime.",
                                     field=name)
        frozen: dict[str, tuple[DataPoint, ...]] = {}
        for metric_type, points in (usage or {}).items():
            if not isinstance(metric_type, str):
                raise DataFrameError("'usage' keys must be strings.",
                                     field="usage")
            frozen[metric_type] = points = tuple(points)
            # One pass in C for the usual case of plain DataPoints.
            if set(map(type, points)) - {DataPoint}:
                for index, point in enumerate(points):
                    if not isinstance(point, DataPoint):
                        field = f"usage.{metric_type}[{index}]"
                        raise DataFrameError(
                            f"'{field}' must be a DataPoint.", field=field)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "usage", MappingProxyType(frozen))

    def __hash__(self) -> int:
        return hash((self.start, self.end, tuple(self.usage.items())))

    def __repr__(self) -> str:
        return (f"DataFrame(start={self.start!r}, end={self.end!r}, "
                f"usage={dict(self.usage)!r})")

    def __len__(self) -> int:
        """Number of points, all types together."""
        return sum(len(points) for points in self.usage.values())

    def iterpoints(self) -> Iterator[tuple[str, DataPoint]]:
        """Yield ``(metric_type, point)`` for every point, in order."""
        for metric_type, points in self.usage.items():
            for point in points:
                yield metric_type, point

    def itertypes(self) -> Iterator[tuple[str, tuple[DataPoint, ...]]]:
        """Yield ``(metric_type, points)`` per metric type, in order."""
        yield from self.usage.items()

    def add_points(self, points: Iterable[DataPoint],
                   metric_type: str) -> DataFrame:
        """A new frame with ``points`` appended to ``metric_type``."""
        builder = DataFrameBuilder.from_frame(self)
        builder.add_points(points, metric_type)
        return builder.build()

    def add_point(self, point: DataPoint, metric_type: str) -> DataFrame:
        """A new frame with one point appended to ``metric_type``."""
        return self.add_points([point], metric_type)

    def with_usage(self, usage: Mapping[str, Iterable[DataPoint]]
                   ) -> DataFrame:
        """A new frame over the same period with ``usage`` instead."""
        return DataFrame(self.start, self.end, usage)

    def map_points(
            self, func: Callable[[str, DataPoint], DataPoint | None]
    ) -> DataFrame:
        """A new frame where each point is ``func(metric_type, point)``.

        ``func`` may return None to drop the point; a metric type left with
        no point is removed, as the processor's skip step requires.
        """
        usage: dict[str, list[DataPoint]] = {}
        for metric_type, points in self.usage.items():
            kept = [new for new in (func(metric_type, p) for p in points)
                    if new is not None]
            if kept:
                usage[metric_type] = kept
        return DataFrame(self.start, self.end, usage)

    def as_dict(self, legacy: bool = False,
                mutable: bool = False) -> dict[str, Any]:
        """``{"period": {"begin", "end"}, "usage": {type: [point dict]}}``.

        Dates stay datetimes; formatting is the caller's job.
        """
        return {
            "period": {"begin": self.start, "end": self.end},
            "usage": {
                metric_type: [p.as_dict(legacy=legacy, mutable=mutable)
                              for p in points]
                for metric_type, points in self.usage.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Any, legacy: bool = False) -> DataFrame:
        """Build a frame from its dict form (see :meth:`as_dict`).

        ``period.begin``/``period.end`` accept datetimes or ISO 8601
        strings; ``usage`` keys are sorted, as upstream does.
        """
        if not isinstance(data, Mapping):
            raise DataFrameError("A dataframe must be a mapping.")
        period = data.get("period")
        if not isinstance(period, Mapping):
            raise DataFrameError("'period' is required and must be a "
                                 "mapping.", field="period")
        bounds = []
        for key in ("begin", "end"):
            field = f"period.{key}"
            if period.get(key) is None:
                raise DataFrameError(f"'{field}' is required.", field=field)
            bounds.append(parse_datetime(period[key], field))
        usage_in = data.get("usage", {})
        if usage_in is None:
            usage_in = {}
        if not isinstance(usage_in, Mapping):
            raise DataFrameError("'usage' must be a mapping.", field="usage")
        usage: dict[str, list[DataPoint]] = {}
        for metric_type in sorted(usage_in, key=str):
            field = f"usage.{metric_type}"
            if not isinstance(metric_type, str):
                raise DataFrameError("'usage' keys must be strings.",
                                     field="usage")
            points = usage_in[metric_type]
            if not isinstance(points, (list, tuple)):
                raise DataFrameError(f"'{field}' must be a list.",
                                     field=field)
            usage[metric_type] = [
                DataPoint.from_dict(point, legacy=legacy,
                                    path=f"{field}[{index}]")
                for index, point in enumerate(points)]
        if _comparable(*bounds) and bounds[1] < bounds[0]:
            raise DataFrameError("'period.end' is before 'period.begin'.",
                                 field="period.end")
        return cls(bounds[0], bounds[1], usage)


def _comparable(a: datetime.datetime, b: datetime.datetime) -> bool:
    return (a.tzinfo is None) == (b.tzinfo is None)


class DataFrameBuilder:
    """Accumulates points cheaply, then :meth:`build` freezes a frame.

    The only mutable object of this module; use it where a loop appends
    many points (collectors, storage reads) instead of copying a frame per
    point.
    """

    def __init__(self, start: datetime.datetime,
                 end: datetime.datetime) -> None:
        self.start = start
        self.end = end
        self._usage: dict[str, list[DataPoint]] = {}

    @classmethod
    def from_frame(cls, frame: DataFrame) -> DataFrameBuilder:
        builder = cls(frame.start, frame.end)
        for metric_type, points in frame.itertypes():
            builder.add_points(points, metric_type)
        return builder

    def add_point(self, point: DataPoint, metric_type: str) -> None:
        self._usage.setdefault(metric_type, []).append(point)

    def add_points(self, points: Iterable[DataPoint],
                   metric_type: str) -> None:
        self._usage.setdefault(metric_type, []).extend(points)

    def build(self) -> DataFrame:
        return DataFrame(self.start, self.end, self._usage)
