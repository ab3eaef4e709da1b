"""Line protocol for a batch of frames, fast.

:func:`cloudkitty.storage.v2.influx.points.encode` is the definition of
how a point is laid out; :class:`BatchEncoder` gives the same lines for
the common case much faster by working out once per *shape* (metric type
and the names of the groupby and metadata keys, which rarely vary within
a metric) what every point of that shape shares: the sorted tag keys, the
escaped ``key=`` prefixes, the ``groupby``/``metadata`` listings. A point
whose values need more than that (non-string groupby values, text that
cannot be a tag, values kept in ``__ck_extra``...) goes through
``points.encode`` instead.

It also numbers the copies of a series at a time (``__ck_dup``, see
:mod:`~cloudkitty.storage.v2.influx.points`), keyed by the line's escaped
series text, which is as exact as the tags themselves.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.storage.v2.influx import influxql, lineproto
from cloudkitty.storage.v2.influx import points as points_mod

__all__ = ["BatchEncoder", "Taken", "series_key"]

#: ``(time_ns, series_key)`` -> copies of that point already written.
Taken = dict[tuple[int, str], int]

_MEASUREMENT = lineproto.measurement(influxql.MEASUREMENT)
_INT64 = 2 ** 63
_SLOW = None


def series_key(tags: Mapping[str, str]) -> str:
    """The series part of a line (measurement and sorted tags)."""
    return ",".join([_MEASUREMENT, *(
        f"{lineproto.key(tag)}={lineproto.key(tags[tag])}"
        for tag in sorted(tags))])


@dataclasses.dataclass
class _Shape:
    """What every point of one metric type and key set shares."""

    #: ``(prefix "key=", groupby name, constant)`` per tag, in tag key
    #: order: the groupby value of that name, else the constant (the
    #: metric type), else (both None) the scope tag.
    tags: list[tuple[str, str | None, str | None]]
    #: ``(prefix "key=", metadata name)`` per metadata field.
    fields: list[tuple[str, str]]
    #: ``,groupby="...",metadata="..."`` and the collect period.
    listings: str


class BatchEncoder:
    """Encodes the frames of one write; ``taken`` carries the copies
    already stored (or encoded) per series and time."""

    def __init__(self, scope_key: str, taken: Taken | None = None) -> None:
        self.scope_key = scope_key
        self.taken: Taken = {} if taken is None else taken
        self._seq = time.time_ns()
        self._shapes: dict[tuple[Any, ...], _Shape | None] = {}
        self._tag_text: dict[str, str | None] = {}

    def lines(self, frames: Iterable[DataFrame], scope_id: str | None
              ) -> list[str]:
        """The lines of ``frames`` stored for ``scope_id``."""
        scope_tag: str | None = None
        if scope_id is not None:
            scope_tag = self._tag(scope_id)
        out: list[str] = []
        for frame in frames:
            time_ns = influxql.ns(frame.start)
            period = int((frame.end - frame.start).total_seconds())
            for metric_type, point in frame.iterpoints():
                seq = self._seq
                self._seq += 1
                encoded = self._fast(metric_type, point, period, seq,
                                     scope_id, scope_tag)
                if encoded is None:
                    series, body = self._slow(metric_type, point, period,
                                              seq, scope_id)
                else:
                    series, body = encoded
                key = (time_ns, series)
                copies = self.taken.get(key, 0)
                self.taken[key] = copies + 1
                if copies:
                    series = self._with_dup(series, metric_type, point,
                                            period, seq, scope_id, copies)
                out.append(f"{series} {body} {time_ns}")
        return out

    # -- the general case ---------------------------------------------------
    def _slow(self, metric_type: str, point: DataPoint, period: int,
              seq: int, scope_id: str | None) -> tuple[str, str]:
        encoded = points_mod.encode(metric_type, point, period, seq,
                                    self.scope_key, scope_id)
        try:
            return series_key(encoded.tags), lineproto.fields(encoded.fields)
        except ValueError as exc:
            raise exceptions.StorageError(
                f"Point of type '{metric_type}' cannot be stored in "
                f"InfluxDB: {exc}") from exc

    def _with_dup(self, series: str, metric_type: str, point: DataPoint,
                  period: int, seq: int, scope_id: str | None,
                  copies: int) -> str:
        tags = points_mod.encode(metric_type, point, period, seq,
                                 self.scope_key, scope_id).tags
        tags[points_mod.DUP_TAG] = str(copies)
        return series_key(tags)

    # -- the common case ----------------------------------------------------
    def _tag(self, text: str) -> str | None:
        """``text`` escaped as a tag value, None if it cannot be one."""
        escaped = self._tag_text.get(text, "")
        if escaped == "":
            escaped = (lineproto.key(text) if lineproto.representable(text)
                       else None)
            self._tag_text[text] = escaped
        return escaped

    def _shape(self, metric_type: str, groupby: Mapping[str, Any],
               metadata: Mapping[str, Any], scoped: bool
               ) -> _Shape | None:
        names_g = tuple(groupby)
        names_m = tuple(metadata)
        key = (metric_type, names_g, names_m, scoped)
        try:
            return self._shapes[key]
        except KeyError:
            pass
        shape = self._make_shape(metric_type, names_g, names_m, scoped)
        self._shapes[key] = shape
        return shape

    def _make_shape(self, metric_type: str, names_g: tuple[str, ...],
                    names_m: tuple[str, ...], scoped: bool
                    ) -> _Shape | None:
        scope_key = self.scope_key
        bad = points_mod.bad_name
        if any(bad(n) or n in points_mod.RESERVED_TAGS for n in names_g):
            return _SLOW
        if scope_key in names_m or any(
                bad(n) or n in points_mod.RESERVED_FIELDS or n in names_g
                or n == "type" for n in names_m):
            return _SLOW
        sources: dict[str, tuple[str | None, str | None]] = {
            name: (name, None) for name in names_g}
        sources["type"] = (None, lineproto.key(metric_type))
        if scoped and scope_key not in names_g and \
                scope_key not in points_mod.RESERVED_TAGS:
            sources[scope_key] = (None, None)  # the scope tag, per call
        key = lineproto.key
        listings = lineproto.fields({"groupby": "|".join(names_g),
                                     "metadata": "|".join(names_m)})
        return _Shape(
            [(f"{key(name)}=", *sources[name]) for name in sorted(sources)],
            [(f"{key(name)}=", name) for name in names_m], listings)

    def _fast(self, metric_type: str, point: DataPoint, period: int,
              seq: int, scope_id: str | None, scope_tag: str | None
              ) -> tuple[str, str] | None:
        """``(series, fields)`` of ``point``, or None when it needs
        ``points.encode``."""
        if scope_id is not None and scope_tag is None:
            return None
        groupby = point.groupby
        metadata = point.metadata
        shape = self._shape(metric_type, groupby, metadata,
                            scope_tag is not None)
        if shape is None:
            return None
        series = [_MEASUREMENT]
        for prefix, name, constant in shape.tags:
            if name is None:
                series.append(prefix + (scope_tag or "" if constant is None
                                        else constant))
                continue
            value = groupby[name]
            if value is None:
                continue
            if type(value) is not str:
                return None
            escaped = self._tag(value)
            if escaped is None:
                return None
            series.append(prefix + escaped)
        fields: list[str] = []
        for prefix, name in shape.fields:
            value = metadata[name]
            kind = type(value)
            if value is None:
                continue
            if kind is str:
                if "\n" in value or "\r" in value:
                    return None
                fields.append(prefix + lineproto.field_value(value))
            elif kind is bool:
                fields.append(prefix + ("true" if value else "false"))
            elif kind is int:
                if not -_INT64 <= value < _INT64:
                    return None
                fields.append(f"{prefix}{value}i")
            elif kind is float:
                if not math.isfinite(value) or value.is_integer():
                    return None
                fields.append(prefix + repr(value))
            else:
                return None
        qty = float(point.qty)
        price = float(point.price)
        if not (math.isfinite(qty) and math.isfinite(price)):
            return None
        fields.append(f"qty={qty!r}")
        fields.append(f"price={price!r}")
        fields.append("unit=" + lineproto.field_value(point.unit))
        if point.description is not None:
            fields.append("description="
                          + lineproto.field_value(point.description))
        fields.append(shape.listings)
        money = points_mod.money_text
        fields.append(
            f'{points_mod.PERIOD}={period}i,'
            f'{points_mod.QTY}="{money(point.qty)}",'
            f'{points_mod.PRICE}="{money(point.price)}",'
            f'{points_mod.SEQ}={seq}i')
        return ",".join(series), ",".join(fields)
