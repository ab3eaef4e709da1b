"""Summaries answered from the rollup tables."""
from __future__ import annotations

import datetime
import decimal
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cloudkitty.storage import _time
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2 import custom_fields as custom_fields_mod
from cloudkitty.storage.v2.rollups._sums import is_midnight, midnight
from cloudkitty.storage.v2.sqlalchemy import _query
from cloudkitty.storage.v2.sqlalchemy.models import (
    ROLLUP_TIME_KEYS,
    RollupDay,
    RollupPeriod,
)

_LEDGER = cast(sa.Table, RollupPeriod.__table__)
_DAYS = cast(sa.Table, RollupDay.__table__)
_DAY = datetime.timedelta(days=1)


def covers(groupby: Sequence[str] | None, filters: base.Filters | None,
           scope_key: str) -> bool:
    allowed = {"type", scope_key, *ROLLUP_TIME_KEYS}
    if not set(base.normalize_groupby(groupby)) <= allowed:
        return False
    return set(base.normalize_filters(filters)) <= {"type", scope_key}


def _column_name(key: str, scope_key: str) -> str:
    return "scope_id" if key == scope_key else key


_SUMMED = ("scope_id", "type", *ROLLUP_TIME_KEYS, "qty", "price", "count")


def _part(table: sa.Table, window: sa.ColumnElement[Any],
          begin: datetime.datetime | None, end: datetime.datetime | None,
          types: list[str] | None, filters: dict[str, list[str]],
          scope_key: str) -> sa.Select[Any]:
    query = sa.select(*[table.c[name] for name in _SUMMED])
    if begin is not None:
        query = query.where(window >= _time.to_db(begin))
    if end is not None:
        query = query.where(window < _time.to_db(end))
    if types is not None:
        query = query.where(table.c.type.in_(types))
    for key, values in filters.items():
        query = query.where(table.c[_column_name(key, scope_key)]
                            .in_(values))
    return query


def _source(scope_key: str, begin: datetime.datetime | None,
            end: datetime.datetime | None, types: list[str] | None,
            filters: dict[str, list[str]]) -> Any:
    """The rows to add up: day rows for the whole UTC days of the window,
    ledger rows for the partial days at its edges."""
    begin, end = _time.to_db_or_none(begin), _time.to_db_or_none(end)
    inner_begin = begin
    if begin is not None and not is_midnight(begin):
        inner_begin = midnight(begin) + _DAY
    inner_end = None if end is None else midnight(end)
    if (inner_begin is not None and inner_end is not None
            and inner_begin >= inner_end):
        # Less than a whole day: the ledger only.
        return _part(_LEDGER, _LEDGER.c.begin, begin, end, types, filters,
                     scope_key).subquery()
    parts = [_part(_DAYS, _DAYS.c.day, inner_begin, inner_end, types,
                   filters, scope_key)]
    if inner_begin is not None and inner_begin != begin:
        parts.append(_part(_LEDGER, _LEDGER.c.begin, begin, inner_begin,
                           types, filters, scope_key))
    if inner_end is not None and inner_end != end:
        parts.append(_part(_LEDGER, _LEDGER.c.begin, inner_end, end, types,
                           filters, scope_key))
    if len(parts) == 1:
        return parts[0].subquery()
    return sa.union_all(*parts).subquery()


def total(session: Session, dialect: str, scope_key: str,
          groupby: Sequence[str] | None,
          begin: datetime.datetime | None, end: datetime.datetime | None,
          metric_types: str | Sequence[str] | None,
          filters: base.Filters | None, custom_fields: str | None,
          offset: int, limit: int, paginate: bool) -> base.TotalResult:
    fields = custom_fields_mod.parse(custom_fields)
    base.check_page(offset, limit if paginate else None)
    keys = base.normalize_groupby(groupby)
    custom_fields_mod.check_names(fields, keys,
                                  given=custom_fields is not None)
    normalized = base.normalize_filters(filters)
    if not covers(keys, normalized, scope_key):
        raise ValueError("rollups do not cover this request")
    types = base.normalize_metric_types(metric_types)
    source = _source(scope_key, begin, end, types, normalized)
    columns = [source.c[_column_name(key, scope_key)] for key in keys]
    aggregates: list[sa.ColumnElement[Any]] = []
    for index, field in enumerate(fields):
        aggregate: sa.ColumnElement[Any]
        if field.function == "count":
            aggregate = sa.func.sum(source.c["count"])
        else:
            aggregate = _query.money_sum(dialect, source.c[field.column])
        aggregates.append(aggregate.label(f"f{index}"))
    query = sa.select(*[col.label(f"g{i}") for i, col in enumerate(columns)],
                      *aggregates).select_from(source)
    if columns:
        query = query.group_by(*columns)
    query = query.having(sa.func.sum(source.c["count"]) > 0)
    count = sa.select(sa.func.count()).select_from(query.subquery())
    # The number of groups rides along with the page (a window over the
    # grouped rows, before LIMIT): the sums are computed once, not twice.
    query = query.add_columns(sa.func.count().over().label("groups"))
    query = query.order_by(*[part for col in columns
                             for part in _query.nulls_last(col)])
    if paginate:
        query = query.offset(offset).limit(limit)
    rows = session.execute(query).all()
    if rows:
        total_rows = rows[0][-1]
    elif paginate and offset:
        # A page past the end: count the groups alone.
        total_rows = session.scalar(count) or 0
    else:
        total_rows = 0
    window_out = (_time.from_db_or_none(_time.to_db_or_none(begin)),
                  _time.from_db_or_none(_time.to_db_or_none(end)))
    results = []
    for row in rows:
        result: dict[str, Any] = {"begin": window_out[0],
                                  "end": window_out[1]}
        for index, field in enumerate(fields, start=len(keys)):
            value = row[index]
            if field.function == "count":
                result[field.name] = int(value or 0)
            else:
                result[field.name] = value or decimal.Decimal(0)
        for index, key in enumerate(keys):
            result[key] = row[index]
        results.append(result)
    return {"total": int(total_rows), "results": results}
