"""The storage contract in plain Python: the reference backend."""
from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from cloudkitty.dataframe import DataFrame, DataFrameBuilder, DataPoint
from cloudkitty.storage import _time
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2 import custom_fields as custom_fields_mod

__all__ = ["MemoryStorage"]


def _aware(value: datetime.datetime | None) -> datetime.datetime | None:
    return _time.from_db_or_none(_time.to_db_or_none(value))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _sort_key(values: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    """Group values in order, None after any value."""
    return tuple((value is None, value if value is not None else "")
                 for value in values)


class _Row(NamedTuple):
    begin: datetime.datetime
    end: datetime.datetime
    type: str
    point: DataPoint
    #: The point's scope key, else the ``scope_id`` it was pushed with.
    scope: str | None


class MemoryStorage(base.BaseStorage):
    """Every rule of the contract in plain Python, points in a list; the
    units of work are the base class's defaults."""

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        self.rows: list[_Row] = []

    def init(self) -> None:
        pass

    def push(self, frames: Iterable[DataFrame],
             scope_id: str | None = None) -> None:
        for fr in frames:
            start, end = _aware(fr.start), _aware(fr.end)
            assert start is not None and end is not None
            for metric_type, p in fr.iterpoints():
                self.rows.append(_Row(start, end, metric_type, p, _text(
                    p.desc.get(self.scope_key, scope_id))))

    def _value(self, row: _Row, key: str) -> str | None:
        if key == "type":
            return row.type
        if key == self.scope_key:
            return row.scope
        found = row.point.groupby.get(key)
        return _text(found if found is not None
                     else row.point.metadata.get(key))

    def _select(self, begin: datetime.datetime | None,
                end: datetime.datetime | None,
                filters: base.Filters | None,
                metric_types: str | Sequence[str] | None = None
                ) -> list[_Row]:
        wanted = base.normalize_filters(filters)
        types = base.normalize_metric_types(metric_types)
        low, high = _aware(begin), _aware(end)
        return [row for row in self.rows
                if (low is None or row.begin >= low)
                and (high is None or row.begin < high)
                and (types is None or row.type in types)
                and all(self._value(row, key) in values
                        for key, values in wanted.items())]

    def delete(self, begin: datetime.datetime | None = None,
               end: datetime.datetime | None = None,
               filters: base.Filters | None = None) -> None:
        gone = {id(row) for row in self._select(begin, end, filters)}
        self.rows = [row for row in self.rows if id(row) not in gone]

    def retrieve(self, begin: datetime.datetime | None = None,
                 end: datetime.datetime | None = None,
                 filters: base.Filters | None = None,
                 metric_types: str | Sequence[str] | None = None,
                 offset: int = 0, limit: int = 1000,
                 paginate: bool = True) -> base.RetrieveResult:
        base.check_page(offset, limit if paginate else None)
        rows = sorted(self._select(begin, end, filters, metric_types),
                      key=lambda row: (row.begin, row.end))
        page = rows[offset:offset + limit] if paginate else rows
        builders: dict[tuple[Any, Any], DataFrameBuilder] = {}
        for row in page:
            builders.setdefault((row.begin, row.end), DataFrameBuilder(
                row.begin, row.end)).add_point(row.point, row.type)
        frames = [b.build() for b in builders.values()]
        return {"total": len(rows), "dataframes": [
            fr.with_usage(dict(sorted(fr.usage.items()))) for fr in frames]}

    def total(self, groupby: Sequence[str] | None = None,
              begin: datetime.datetime | None = None,
              end: datetime.datetime | None = None,
              metric_types: str | Sequence[str] | None = None,
              filters: base.Filters | None = None,
              custom_fields: str | None = None,
              offset: int = 0, limit: int = 1000,
              paginate: bool = True) -> base.TotalResult:
        fields = custom_fields_mod.parse(custom_fields)
        base.check_page(offset, limit if paginate else None)
        keys: list[str] = []
        for key in base.normalize_groupby(groupby):
            keys += ["begin", "end"] if key == "time" else [key]
        custom_fields_mod.check_names(fields, keys,
                                      given=custom_fields is not None)
        groups: dict[tuple[Any, ...], list[_Row]] = {}
        for row in self._select(begin, end, filters, metric_types):
            values = tuple(self._group_value(row, key) for key in keys)
            groups.setdefault(values, []).append(row)
        results = []
        for values in sorted(groups, key=_sort_key):
            result: dict[str, Any] = {"begin": _aware(begin),
                                      "end": _aware(end)}
            for field in fields:
                result[field.name] = self._aggregate(field, groups[values])
            result.update(zip(keys, values, strict=True))
            results.append(result)
        page = results[offset:offset + limit] if paginate else results
        return {"total": len(results), "results": page}

    def _group_value(self, row: _Row, key: str) -> Any:
        if key in ("begin", "end", "type"):
            return getattr(row, key)
        if key == self.scope_key:
            return row.scope
        return _text(row.point.groupby.get(key))

    @staticmethod
    def _aggregate(field: custom_fields_mod.Aggregate,
                   rows: list[_Row]) -> Any:
        if field.function == "count":
            return len(rows)
        with decimal.localcontext(prec=100):
            return sum((getattr(row.point, field.column) for row in rows),
                       Decimal(0))
