"""Bulk writes of rated points.

One pass over the points builds both the rows of the rated table, with
every value already in the form the driver sends (money rounded once,
JSON dumped once, datetimes formatted once per frame), and the rollup
ledger sums (:class:`cloudkitty.storage.v2.rollups.SumBuilder`).

The rows then go to the database in the cheapest way each one offers, in
the caller's transaction: ``COPY ... FROM STDIN`` on PostgreSQL with
psycopg2 (several times cheaper for the server than INSERTs),
``executemany`` of one fixed INSERT text on SQLite and MySQL/MariaDB
(pymysql folds it into multi-row INSERTs), and the Core ``executemany`` of
one prebuilt statement elsewhere. No statement is built per call.
"""
from __future__ import annotations

import datetime
import decimal
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from cloudkitty.dataframe import DataFrame
from cloudkitty.storage import _time
from cloudkitty.storage.v2.rollups import _sums
from cloudkitty.storage.v2.sqlalchemy.models import (
    TABLE_NAME,
    quantize,
    tidy,
)

__all__ = ["Prepared", "prepare", "insert", "copy", "copy_field",
           "uses_copy"]

#: The columns a row tuple holds, in order.
COLUMNS = ("begin", "end", "type", "scope_id", "unit", "qty", "price",
           "groupby", "metadata", "description")
#: Rows per statement (executemany) or per COPY buffer.
CHUNK = 5000

# The table again, with columns that bind values as they are: ``prepare``
# already gave them the driver's form. Used for drivers without a faster
# path.
_RAW = sa.Table(TABLE_NAME, sa.MetaData(),
                *[sa.Column(name, sa.types.NullType()) for name in COLUMNS])
_RAW_INSERT = sa.insert(_RAW)

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n",
                               "\r": "\\r"})


#: ``json.dumps(value, default=str)`` without building an encoder per call.
_encode = json.JSONEncoder(default=str).encode
#: Finds what COPY's text format needs escaped.
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search


def _json(mapping: Any) -> str:
    """The JSON text of a groupby/metadata mapping, as SQLAlchemy's JSON
    type would write it; values JSON has no form for (Decimals,
    datetimes, ...) become strings."""
    return _encode(dict(mapping))


def _copy_text(value: str | None) -> str:
    """A text value as a field of COPY's text format."""
    if value is None:
        return "\\N"
    if _NEEDS_ESCAPE(value) is None:
        return value
    return value.translate(_COPY_ESCAPES)


def _same(text: str) -> str:
    return text


class JsonTexts:
    """The sent JSON text of groupby/metadata mappings, remembered.

    A resource's mappings come back every period (its metadata unchanged,
    its groupby until the day changes), so most points of a catch-up reuse
    a text already written instead of encoding it again. Only mappings
    whose values are all strings are remembered (``1`` and ``True`` are
    equal keys but different JSON); the others are encoded each time.
    Bounded: emptied once it holds ``size`` texts. Safe to share between
    threads (a lost race only encodes a text twice).
    """

    def __init__(self, escape: Callable[[str], str] = _same,
                 size: int = 10_000) -> None:
        self._escape = escape
        self._size = size
        self._texts: dict[tuple[tuple[str, str], ...], str] = {}

    def __call__(self, mapping: Any) -> str:
        for value in mapping.values():
            if value.__class__ is not str:
                return self._escape(_json(mapping))
        key = tuple(mapping.items())
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) >= self._size:
                self._texts.clear()
            text = self._texts[key] = self._escape(_json(mapping))
        return text


#: Texts as COPY fields, and as bound values.
_COPY_JSON = JsonTexts(_copy_text)
_BOUND_JSON = JsonTexts()


class Prepared:
    """The rows of some frames and their ledger sums. ``rows`` are
    tuples of :data:`COLUMNS`, or for COPY the lines of its text format."""

    __slots__ = ("rows", "sums")

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.sums = _sums.SumBuilder()


def uses_copy(dialect: Dialect) -> bool:
    """Whether :func:`copy` works on ``dialect``."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg2"


def _formatters(dialect: Dialect) -> tuple[
        Callable[[datetime.datetime], Any],
        Callable[[decimal.Decimal], Any]]:
    """How a naive UTC datetime and a rounded Decimal are sent."""
    if uses_copy(dialect):
        return (lambda value: value.isoformat(" "),
                lambda value: format(value, "f"))
    column_type = sa.Table(TABLE_NAME, sa.MetaData(),
                           sa.Column("begin", sa.DateTime())).c.begin.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    when: Callable[[datetime.datetime], Any] = (
        process if process is not None else (lambda value: value))
    if dialect.name == "sqlite":
        # ExactDecimal keeps text there (see its docstring).
        return when, lambda value: format(tidy(value), "f")
    return when, lambda value: value


def prepare(items: Iterable[tuple[Iterable[DataFrame], str | None]],
            scope_key: str, dialect: Dialect) -> Prepared:
    """The rows and sums of the points of every ``(frames, scope id)``;
    a point's scope is its ``scope_key`` value, else the scope id."""
    prepared = Prepared()
    rows = prepared.rows
    add_sum = prepared.sums.add
    when, money = _formatters(dialect)
    copy = uses_copy(dialect)
    copy_json, bound_json = _COPY_JSON, _BOUND_JSON
    for frames, default_scope in items:
        for frame in frames:
            begin, end = _time.to_db(frame.start), _time.to_db(frame.end)
            sent_begin, sent_end = when(begin), when(end)
            for metric_type, point in frame.iterpoints():
                scope = _sums.point_scope(point, scope_key, default_scope)
                qty, price = quantize(point.qty), quantize(point.price)
                groupby = point.groupby
                add_sum(scope, metric_type, begin, end, groupby, qty, price)
                if copy:
                    rows.append("\t".join((
                        sent_begin, sent_end, _copy_text(metric_type),
                        _copy_text(scope), _copy_text(point.unit),
                        money(qty), money(price),
                        copy_json(groupby),
                        copy_json(point.metadata),
                        _copy_text(point.description))))
                    continue
                rows.append((sent_begin, sent_end, metric_type, scope,
                             point.unit, money(qty), money(price),
                             bound_json(groupby), bound_json(point.metadata),
                             point.description))
    return prepared


def copy_field(value: Any) -> str:
    """Any value as a field of COPY's text format (datetimes with a
    space, Decimals without exponent)."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return _copy_text(value)
    return str(value)


def copy(session: Session, table: str, columns: Sequence[str],
         lines: list[str]) -> None:
    """``COPY table (columns) FROM STDIN`` of ``lines`` (tab-separated
    fields in COPY's text format) in ``session``'s transaction; PostgreSQL
    with psycopg2 only (:func:`uses_copy`)."""
    connection = session.connection()
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    statement = (f"COPY {preparer.quote(table)} ("
                 + ", ".join(preparer.quote(name) for name in columns)
                 + ") FROM STDIN")
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    error = dialect.loaded_dbapi.Error
    for start in range(0, len(lines), CHUNK):
        buffer = io.StringIO("\n".join(lines[start:start + CHUNK]) + "\n")
        cursor: Any = dbapi_connection.cursor()
        try:
            cursor.copy_expert(statement, buffer)
        except error as exc:
            # As SQLAlchemy would have wrapped it (the backend maps it to
            # StorageError and looks for deadlocks in it).
            raise sa.exc.DBAPIError.instance(
                statement, None, exc, error) from exc
        finally:
            cursor.close()


def _insert_text(dialect: Dialect, marker: str) -> str:
    preparer = dialect.identifier_preparer
    return (f"INSERT INTO {preparer.quote(TABLE_NAME)} ("
            + ", ".join(preparer.quote(name) for name in COLUMNS)
            + ") VALUES (" + ", ".join([marker] * len(COLUMNS)) + ")")


def insert(session: Session, prepared: Prepared) -> None:
    """Write the prepared rows in ``session``'s transaction."""
    rows = prepared.rows
    if not rows:
        return
    dialect = session.get_bind().dialect
    if uses_copy(dialect):
        copy(session, TABLE_NAME, COLUMNS, rows)
        return
    connection = session.connection()
    marker = {"pysqlite": "?", "pymysql": "%s", "mysqldb": "%s"}.get(
        dialect.driver)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        if marker is not None:
            connection.exec_driver_sql(_insert_text(dialect, marker), chunk)
        else:
            connection.execute(_RAW_INSERT,
                               [dict(zip(COLUMNS, row, strict=True))
                                for row in chunk])
