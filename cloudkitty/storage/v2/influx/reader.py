"""Reading points back: the SELECT, and what a point's keys are worth.

Queries select each column by kind and under an alias (``"k"::tag AS
"t0"``): a key may be a tag in some points and a field in others, and
``SELECT *`` would then rename one of them. The WHERE clause is a
superset of the filters (InfluxQL cannot see ``__ck_extra``, nor compare
numbers as text); :func:`matches` then applies them exactly, with the
semantics of the SQL backend: ``type`` is the metric type, any other key
the point's groupby value, else its metadata value, compared as text.
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from cloudkitty.storage.v2.influx import influxql
from cloudkitty.storage.v2.influx import points as points_mod
from cloudkitty.storage.v2.influx.client import InfluxClient

__all__ = ["Selection", "Row", "matches", "group_value", "filter_value"]

#: Field columns every full read selects.
BASE_FIELDS = ("qty", "price", "unit", "description", "groupby",
               "metadata", points_mod.PERIOD, points_mod.QTY,
               points_mod.PRICE, points_mod.SEQ, points_mod.EXTRA)
_NOT_SELECTABLE = frozenset({"time"})


@dataclasses.dataclass
class Row:
    """One point's selected values."""

    time_ns: int
    tags: dict[str, Any]
    fields: dict[str, Any]
    _extra: tuple[dict[str, Any], dict[str, Any]] | None = None

    @property
    def extra(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._extra is None:
            self._extra = points_mod.load_extra(
                self.fields.get(points_mod.EXTRA))
        return self._extra


@dataclasses.dataclass
class Selection:
    """The tags and fields a query reads, and its WHERE clauses."""

    tags: list[str]
    fields: list[str]
    where: list[str]

    def statement(self, extra: str = "") -> str:
        columns = [f"{influxql.ident(k)}::tag AS {influxql.ident(f't{i}')}"
                   for i, k in enumerate(self.tags)]
        columns += [f"{influxql.ident(k)}::field AS "
                    f"{influxql.ident(f'f{i}')}"
                    for i, k in enumerate(self.fields)]
        return (f"SELECT {', '.join(columns)} FROM "
                f"{influxql.ident(influxql.MEASUREMENT)}"
                f"{influxql.and_all(self.where)}{extra}")

    def rows(self, client: InfluxClient) -> Iterator[Row]:
        """The selected rows, read as InfluxDB streams them."""
        for serie in client.query_chunked(self.statement()):
            columns = serie.get("columns", [])
            index = {name: i for i, name in enumerate(columns)}
            tags = [(k, index.get(f"t{i}")) for i, k in enumerate(self.tags)]
            fields = [(k, index.get(f"f{i}"))
                      for i, k in enumerate(self.fields)]
            when = index["time"]
            for values in serie.get("values", []):
                yield Row(
                    int(values[when]),
                    {k: None if i is None else values[i] for k, i in tags},
                    {k: None if i is None else values[i]
                     for k, i in fields})


def selection(begin: datetime.datetime | None,
              end: datetime.datetime | None,
              filters: dict[str, list[str]],
              metric_types: Sequence[str] | None,
              tags: Sequence[str], fields: Sequence[str],
              extra: bool = True) -> Selection:
    """Columns for ``tags``/``fields`` plus what checking ``filters``
    needs; the WHERE clause pre-selects (a superset of) the matches."""
    where = influxql.time_window(begin, end)
    all_tags = list(dict.fromkeys(["type", *tags]))
    # A row is returned only if a selected field is set: ``qty`` and
    # ``groupby`` are on every point, ours and upstream's.
    always = [] if "qty" in fields else ["groupby"]
    all_fields = list(dict.fromkeys([*fields, *always]))
    if extra or any(key != "type" for key in filters):
        all_fields.append(points_mod.EXTRA)
    if metric_types is not None:
        where.append(influxql.any_of('"type"', metric_types))
    for key, values in filters.items():
        if key == "type":
            where.append(influxql.any_of('"type"', values))
            continue
        if key not in points_mod.RESERVED_TAGS:
            all_tags.append(key)
            where.append(influxql.any_of(
                f"{influxql.ident(key)}::tag", [*values, ""]))
        if key not in points_mod.RESERVED_FIELDS and \
                key not in _NOT_SELECTABLE:
            all_fields.append(key)
    return Selection(list(dict.fromkeys(all_tags)),
                     list(dict.fromkeys(all_fields)), where)


def group_value(row: Row, key: str) -> str | None:
    """The point's groupby value of ``key`` as text (None when absent)."""
    extra_g, _ = row.extra
    if key in extra_g:
        return points_mod.text_of(extra_g[key])
    value = row.tags.get(key)
    return None if value in (None, "") else str(value)


def filter_value(row: Row, key: str) -> str | None:
    """What a filter on ``key`` compares (groupby, else metadata)."""
    if key == "type":
        return row.tags.get("type")
    value = group_value(row, key)
    if value is not None:
        return value
    _, extra_m = row.extra
    if key in extra_m:
        return points_mod.text_of(extra_m[key])
    return points_mod.text_of(row.fields.get(key))


def matches(row: Row, filters: dict[str, list[str]]) -> bool:
    return all(filter_value(row, key) in values
               for key, values in filters.items())


class Light(NamedTuple):
    time_ns: int
    period: int | None
    seq: int | None


def int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def push_order(point: Light | points_mod.StoredPoint
                ) -> tuple[int, int, int]:
    """Period start, length, then push order (upstream's points, which
    have no ``__ck_seq``, first, in InfluxDB's order: sorts are stable)."""
    return (point.time_ns, point.period or 0,
            point.seq if point.seq is not None else -1)


def occurrences(points: Sequence[Light]) -> list[tuple[int, int | None,
                                                         int]]:
    """A key per point: time, push sequence, and its rank among points
    sharing both (InfluxDB lists them in the same order every time)."""
    seen: dict[tuple[int, int | None], int] = {}
    keys = []
    for point in points:
        pair = (point.time_ns, point.seq)
        rank = seen.get(pair, 0)
        seen[pair] = rank + 1
        keys.append((point.time_ns, point.seq, rank))
    return keys
