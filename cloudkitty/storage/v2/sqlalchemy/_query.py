"""SQL expressions for the window, filters and groupby of storage queries."""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.storage import _time
from cloudkitty.storage.v2.sqlalchemy.models import ExactDecimal, RatedPoint

TABLE = cast(sa.Table, RatedPoint.__table__)
COLUMNS = TABLE.c

# A JSON path is built from the key; these two would let a key escape its
# quotes in SQLite/MySQL path syntax.
_FORBIDDEN_KEY_CHARS = ('"', "\\")


def _check_key(key: str, field: str) -> None:
    if any(char in key for char in _FORBIDDEN_KEY_CHARS):
        raise exceptions.InvalidInput(
            f"Invalid key {key!r} in {field}: quotes and backslashes are not "
            f"allowed.", field=field)


def json_text(column: sa.ColumnElement[Any], key: str
              ) -> sa.ColumnElement[str]:
    """The value of ``column[key]`` as text, NULL when absent.

    The cast makes numbers compare as their text on every dialect (SQLite
    returns JSON numbers as numbers).
    """
    return sa.cast(column[key].as_string(), sa.String)


def point_value(key: str, scope_key: str) -> sa.ColumnElement[Any]:
    """What a filter on ``key`` compares: the metric type for ``type``,
    the scope column for the scope key, else groupby then metadata."""
    if key == "type":
        return COLUMNS.type
    if key == scope_key:
        return COLUMNS.scope_id
    _check_key(key, "filters")
    return sa.func.coalesce(json_text(COLUMNS.groupby, key),
                            json_text(COLUMNS.metadata, key))


def where_clauses(begin: datetime.datetime | None,
                  end: datetime.datetime | None,
                  filters: dict[str, list[str]],
                  metric_types: Sequence[str] | None,
                  scope_key: str) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if begin is not None:
        clauses.append(COLUMNS.begin >= _time.to_db(begin))
    if end is not None:
        clauses.append(COLUMNS.begin < _time.to_db(end))
    if metric_types is not None:
        clauses.append(COLUMNS.type.in_(metric_types))
    for key, values in filters.items():
        clauses.append(point_value(key, scope_key).in_(values))
    return clauses


def group_columns(groupby: Sequence[str], scope_key: str
                  ) -> list[tuple[str, sa.ColumnElement[Any]]]:
    """``(result key, expression)`` per grouped value; ``time`` gives the
    two period columns under the keys ``begin`` and ``end``."""
    columns: list[tuple[str, sa.ColumnElement[Any]]] = []
    for key in groupby:
        if key == "time":
            columns += [("begin", COLUMNS.begin), ("end", COLUMNS.end)]
        elif key == "type":
            columns.append((key, COLUMNS.type))
        elif key == scope_key:
            columns.append((key, COLUMNS.scope_id))
        else:
            _check_key(key, "groupby")
            columns.append((key, json_text(COLUMNS.groupby, key)))
    return columns


def money_sum(dialect: str, column: sa.ColumnElement[Any]
              ) -> sa.ColumnElement[Any]:
    """An exact SUM on every dialect (see ExactDecimal)."""
    if dialect == "sqlite":
        return sa.func.ck_decimal_sum(column, type_=ExactDecimal())
    return sa.func.sum(column, type_=ExactDecimal())


def nulls_last(expression: sa.ColumnElement[Any]
               ) -> list[sa.ColumnElement[Any]]:
    """Sort keys putting NULL after values on every dialect."""
    return [sa.case((expression.is_(None), 1), else_=0), expression]
