"""Column types and mixins shared by the rating module tables."""
from __future__ import annotations

import datetime
import decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column


class FixedDecimal(sa.types.TypeDecorator[decimal.Decimal]):
    """``NUMERIC(precision, scale)`` that stays exact on every database.

    SQLite has no decimal type: its NUMERIC affinity turns values into
    doubles, which would lose the 28 decimal places of a hashmap cost. On
    SQLite the value is therefore kept as fixed-point text (so SQL there
    must not order or compare these columns numerically; the rating code
    does that in Python). PostgreSQL and MariaDB use their exact NUMERIC,
    as upstream's schema does.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._context = decimal.Context(prec=precision)
        self._exponent = decimal.Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Room for the sign and the decimal point.
            return dialect.type_descriptor(sa.String(self.precision + 2))
        return dialect.type_descriptor(
            sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        if not isinstance(value, decimal.Decimal):
            value = decimal.Decimal(str(value))
        return format(value.quantize(self._exponent, context=self._context),
                      "f")

    def process_result_value(self, value: Any, dialect: Dialect
                             ) -> decimal.Decimal | None:
        if value is None or isinstance(value, decimal.Decimal):
            return value
        return decimal.Decimal(str(value))


class AuditMixin:
    """Validity window and audit columns of mappings and scripts.

    ``created_at``/``start`` get a database default, as upstream's
    migration created them; the rating API fills the rest.
    """

    created_at: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, nullable=False, server_default=sa.func.now())
    start: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, nullable=False, server_default=sa.func.now())
    end: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    description: Mapped[str | None] = mapped_column(sa.Text)
    #: Soft delete: set instead of removing the row.
    deleted: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    created_by: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    updated_by: Mapped[str | None] = mapped_column(sa.String(32))
    deleted_by: Mapped[str | None] = mapped_column(sa.String(32))
