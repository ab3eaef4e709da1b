"""Rollup tables of the summaries, filled from the stored rated rows.

Revision ID: 0003_rollups
Revises: 0002_dataframes
Create Date: 2026-11-27

``cloudkitty_rollup_periods`` (the ledger: sums per scope, type, stored
period and time keys) and ``cloudkitty_rollup_days`` (the same per UTC
day), see :mod:`cloudkitty.storage.v2.rollups`. Types are spelled out as
in 0002. The backfill reads ``cloudkitty_dataframes`` once in
``(scope_id, begin)`` order and adds up in Python with exact decimals,
holding one scope-day at a time.
"""
from __future__ import annotations

import datetime
import decimal
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_rollups"
down_revision = "0002_dataframes"
branch_labels = None
depends_on = None

_LEDGER = "cloudkitty_rollup_periods"
_DAYS = "cloudkitty_rollup_days"
_RAW = "cloudkitty_dataframes"
_TIME_KEYS = ("day_of_the_year", "week_of_the_year", "month", "year")
_CHUNK = 1000
_EXACT = decimal.Context(prec=120, rounding=decimal.ROUND_HALF_EVEN)


def _money() -> sa.types.TypeEngine:
    return sa.Numeric(asdecimal=True).with_variant(
        sa.String(160), "sqlite").with_variant(
        mysql.DECIMAL(precision=65, scale=30), "mysql", "mariadb")


def _datetime() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("scope_id", sa.String(256)),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("day", _datetime(), nullable=False),
        *[sa.Column(key, sa.String(255)) for key in _TIME_KEYS],
        sa.Column("qty", _money(), nullable=False),
        sa.Column("price", _money(), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        _LEDGER,
        sa.Column("begin", _datetime(), nullable=False),
        sa.Column("end", _datetime(), nullable=False),
        *_key_columns(),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_index("ix_cloudkitty_rollup_periods_scope_begin", _LEDGER,
                    ["scope_id", "begin"])
    op.create_index("ix_cloudkitty_rollup_periods_begin_type", _LEDGER,
                    ["begin", "type"])
    op.create_table(
        _DAYS,
        sa.Column("key_hash", sa.String(64), nullable=False),
        *_key_columns(),
        sa.UniqueConstraint("key_hash",
                            name="uq_cloudkitty_rollup_days_key_hash"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_index("ix_cloudkitty_rollup_days_day_type_scope", _DAYS,
                    ["day", "type", "scope_id"])
    op.create_index("ix_cloudkitty_rollup_days_scope_day", _DAYS,
                    ["scope_id", "day"])
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table(_DAYS)
    op.drop_table(_LEDGER)


# -- backfill (self-contained: this revision must never change) ----------
def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return json.dumps(value)
    return str(value)


def _number(value: Any) -> decimal.Decimal:
    return value if isinstance(value, decimal.Decimal) else \
        decimal.Decimal(str(value))


def _hash(scope_id: Any, metric_type: str, day: datetime.datetime,
          time_keys: tuple[Any, ...]) -> str:
    text = json.dumps([scope_id, metric_type, day.isoformat(),
                       list(time_keys)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _raw_rows(bind: sa.Connection) -> Iterator[Any]:
    """Every stored row, one scope at a time in period order (no result
    stays open while the backfill writes, which MySQL drivers forbid)."""
    raw = sa.table(_RAW, sa.column("scope_id", sa.String()),
                   sa.column("type", sa.String()),
                   sa.column("begin", sa.DateTime()),
                   sa.column("end", sa.DateTime()),
                   sa.column("groupby", sa.JSON()),
                   sa.column("qty"), sa.column("price"))
    scopes = bind.execute(sa.select(raw.c.scope_id).distinct()).scalars()
    for scope in list(scopes):
        match = (raw.c.scope_id.is_(None) if scope is None
                 else raw.c.scope_id == scope)
        yield from bind.execute(
            sa.select(raw).where(match).order_by(raw.c.begin)).all()


def _backfill(bind: sa.Connection) -> None:
    # Typed datetimes: SQLite compares the text SQLAlchemy writes.
    ledger_table = sa.table(
        _LEDGER, *[sa.column(n, sa.DateTime()) for n in (
            "begin", "end", "day")], *[sa.column(n) for n in (
            "scope_id", "type", *_TIME_KEYS, "qty", "price", "count")])
    days_table = sa.table(
        _DAYS, sa.column("day", sa.DateTime()), *[sa.column(n) for n in (
            "key_hash", "scope_id", "type", *_TIME_KEYS, "qty", "price",
            "count")])
    sqlite = bind.dialect.name == "sqlite"

    def money(value: decimal.Decimal) -> Any:
        return format(value, "f") if sqlite else value

    ledger: dict[tuple[Any, ...], list[Any]] = {}
    days: dict[tuple[Any, ...], list[Any]] = {}
    pending: list[dict[str, Any]] = []
    pending_days: list[dict[str, Any]] = []
    scope_day: tuple[Any, ...] | None = None

    def add(sums: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...],
            qty: decimal.Decimal, price: decimal.Decimal, count: int
            ) -> None:
        entry = sums.setdefault(key, [decimal.Decimal(0),
                                      decimal.Decimal(0), 0])
        entry[0] = _EXACT.add(entry[0], qty)
        entry[1] = _EXACT.add(entry[1], price)
        entry[2] += count

    def flush(final: bool = False) -> None:
        for (scope, mtype, begin, end, keys), (q, p, n) in ledger.items():
            day = begin.replace(hour=0, minute=0, second=0, microsecond=0)
            pending.append({"scope_id": scope, "type": mtype,
                            "begin": begin, "end": end, "day": day,
                            **dict(zip(_TIME_KEYS, keys, strict=True)),
                            "qty": money(q), "price": money(p),
                            "count": n})
            add(days, (scope, mtype, day, keys), q, p, n)
        ledger.clear()
        for (scope, mtype, day, keys), (q, p, n) in days.items():
            pending_days.append({"key_hash": _hash(scope, mtype, day, keys),
                                 "scope_id": scope, "type": mtype,
                                 "day": day,
                                 **dict(zip(_TIME_KEYS, keys, strict=True)),
                                 "qty": money(q), "price": money(p),
                                 "count": n})
        days.clear()
        for rows, table in ((pending, ledger_table),
                            (pending_days, days_table)):
            if rows and (final or len(rows) >= _CHUNK):
                bind.execute(table.insert(), list(rows))
                rows.clear()

    for row in _raw_rows(bind):
        begin, end = row.begin, row.end
        day = begin.replace(hour=0, minute=0, second=0, microsecond=0)
        if scope_day is not None and scope_day != (row.scope_id, day):
            flush()
        scope_day = (row.scope_id, day)
        groupby = row.groupby
        if isinstance(groupby, str):
            groupby = json.loads(groupby)
        keys = tuple(_text((groupby or {}).get(k)) for k in _TIME_KEYS)
        add(ledger, (row.scope_id, row.type, begin, end, keys),
            _number(row.qty), _number(row.price), 1)
    flush(final=True)
