"""The table of the ``sqlalchemy`` v2 storage backend.

Layout: one row per DataPoint, ``cloudkitty_dataframes``.

* ``begin``/``end``: the frame's period, naive UTC. Every query window is
  on ``begin`` (``begin <= row.begin < end``, as InfluxDB does on time).
* ``type``: the metric type; ``scope_id``: the point's scope (the value of
  ``[collect]scope_key`` in its groupby, else metadata, else the scope id
  given to ``push``). Both are columns, not JSON, because nearly every
  query filters on them: the processor's re-push deletes by scope and
  window, non-admin API reads are forced to one scope.
* ``groupby``/``metadata``: JSON (JSONB on PostgreSQL), read per key with
  each dialect's JSON extraction. Chosen over a key/value side table: a
  push is one INSERT per point instead of one per key, and grouping by N
  keys needs no N-way self-join; filtering on other keys scans rows of the
  window, which the ``begin`` indexes keep small.
* ``qty``/``price``: exact decimals, see :class:`ExactDecimal`.

Indexes: ``(scope_id, begin)`` for scope windows, ``(begin, type)`` for
time windows and type filters.

The two rollup tables (:class:`RollupPeriod`, :class:`RollupDay`) hold
the sums :mod:`cloudkitty.storage.v2.rollups` answers summaries from; they
live in ``[database]`` whatever the storage backend.
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from cloudkitty.db.models.base import Base

__all__ = ["ExactDecimal", "RatedPoint", "TABLE_NAME", "MONEY_SCALE",
           "RollupPeriod", "RollupDay", "ROLLUP_TIME_KEYS"]

TABLE_NAME = "cloudkitty_dataframes"

#: Decimal places kept for qty and price on every database (the most a
#: MySQL/MariaDB DECIMAL holds; hashmap costs have 28).
MONEY_SCALE = 30
_QUANTUM = decimal.Decimal(1).scaleb(-MONEY_SCALE)
#: Enough digits that neither rounding to the scale nor summing loses any.
EXACT = decimal.Context(prec=120, rounding=decimal.ROUND_HALF_EVEN)


def quantize(value: decimal.Decimal) -> decimal.Decimal:
    """``value`` rounded to :data:`MONEY_SCALE` places (half-even)."""
    return value.quantize(_QUANTUM, context=EXACT)


def tidy(value: decimal.Decimal) -> decimal.Decimal:
    """Drop trailing zeros without switching to exponent notation, so the
    same number reads back the same from every database."""
    if value == value.to_integral_value():
        return value.quantize(decimal.Decimal(1), context=EXACT)
    return value.normalize(EXACT)


class ExactDecimal(sa.types.TypeDecorator[decimal.Decimal]):
    """A decimal that survives storage and SUM() exactly.

    PostgreSQL: unconstrained NUMERIC. MySQL/MariaDB: DECIMAL(65, 30).
    SQLite has no decimal type (NUMERIC affinity turns ``0.1`` into a
    double), so values are stored as TEXT and summed by the
    ``ck_decimal_sum`` aggregate the backend registers on each connection.
    Values are rounded to :data:`MONEY_SCALE` places on the way in, on
    every database alike.
    """

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(160))
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(
                mysql.DECIMAL(precision=65, scale=MONEY_SCALE,
                              asdecimal=True))
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, decimal.Decimal):
            value = decimal.Decimal(str(value))
        value = quantize(value)
        if dialect.name == "sqlite":
            return format(tidy(value), "f")
        return value

    def process_result_value(self, value: Any,
                             dialect: Dialect) -> decimal.Decimal | None:
        if value is None:
            return None
        if not isinstance(value, decimal.Decimal):
            value = decimal.Decimal(str(value))
        return tidy(value)


class DecimalSum:
    """SQLite aggregate: exact SUM over ExactDecimal TEXT values."""

    def __init__(self) -> None:
        self.total = decimal.Decimal(0)
        self.seen = False

    def step(self, value: Any) -> None:
        if value is not None:
            self.total = EXACT.add(self.total, decimal.Decimal(str(value)))
            self.seen = True

    def finalize(self) -> str | None:
        return format(self.total, "f") if self.seen else None


_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                       "mariadb")


class RatedPoint(Base):
    """One stored DataPoint."""

    __tablename__ = TABLE_NAME
    __table_args__ = (
        sa.Index("ix_cloudkitty_dataframes_scope_begin", "scope_id",
                 "begin"),
        sa.Index("ix_cloudkitty_dataframes_begin_type", "begin", "type"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True, autoincrement=True)
    begin: Mapped[datetime.datetime] = mapped_column(_DATETIME,
                                                     nullable=False)
    end: Mapped[datetime.datetime] = mapped_column(_DATETIME, nullable=False)
    type: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    scope_id: Mapped[str | None] = mapped_column(sa.String(256))
    unit: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    qty: Mapped[decimal.Decimal] = mapped_column(ExactDecimal(),
                                                 nullable=False)
    price: Mapped[decimal.Decimal] = mapped_column(ExactDecimal(),
                                                   nullable=False)
    groupby: Mapped[dict[str, Any]] = mapped_column(_JSON, nullable=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", _JSON, nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)


#: The collector's time keys a rollup row keeps, in column order.
ROLLUP_TIME_KEYS = ("day_of_the_year", "week_of_the_year", "month", "year")


class _RollupColumns:
    """What both rollup tables hold per group: its keys and sums."""

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True, autoincrement=True)
    scope_id: Mapped[str | None] = mapped_column(sa.String(256))
    type: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    #: UTC midnight of the period's begin.
    day: Mapped[datetime.datetime] = mapped_column(_DATETIME, nullable=False)
    day_of_the_year: Mapped[str | None] = mapped_column(sa.String(255))
    week_of_the_year: Mapped[str | None] = mapped_column(sa.String(255))
    month: Mapped[str | None] = mapped_column(sa.String(255))
    year: Mapped[str | None] = mapped_column(sa.String(255))
    qty: Mapped[decimal.Decimal] = mapped_column(ExactDecimal(),
                                                 nullable=False)
    price: Mapped[decimal.Decimal] = mapped_column(ExactDecimal(),
                                                   nullable=False)
    count: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)


class RollupPeriod(_RollupColumns, Base):
    """The ledger: sums of one scope's points of one stored period, type
    and set of time keys. Several rows may share a key (plain pushes
    append); they add up."""

    __tablename__ = "cloudkitty_rollup_periods"
    __table_args__ = (
        sa.Index("ix_cloudkitty_rollup_periods_scope_begin", "scope_id",
                 "begin"),
        sa.Index("ix_cloudkitty_rollup_periods_begin_type", "begin",
                 "type"),
    )

    begin: Mapped[datetime.datetime] = mapped_column(_DATETIME,
                                                     nullable=False)
    end: Mapped[datetime.datetime] = mapped_column(_DATETIME, nullable=False)


class RollupDay(_RollupColumns, Base):
    """Sums per scope, type, UTC day and set of time keys; one row per key
    (``key_hash``), updated by increments."""

    __tablename__ = "cloudkitty_rollup_days"
    __table_args__ = (
        sa.UniqueConstraint("key_hash",
                            name="uq_cloudkitty_rollup_days_key_hash"),
        sa.Index("ix_cloudkitty_rollup_days_day_type_scope", "day", "type",
                 "scope_id"),
        sa.Index("ix_cloudkitty_rollup_days_scope_day", "scope_id", "day"),
    )

    #: SHA-256 (hex) of the key columns; see ``rollups._keys``.
    key_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
