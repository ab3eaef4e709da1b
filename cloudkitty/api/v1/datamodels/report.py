"""Types of /v1/report, and the v1 reading of report arguments.

Dates come in as ISO 8601 (with or without an offset, or a bare date) and
go out as naive UTC ISO 8601; money goes out as JSON strings.
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any

from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.rating import lifecycle

__all__ = ["ALL", "Boolean", "NAME", "SummaryCollectionModel",
           "SummaryModel", "Timestamp", "naive_utc", "plain_decimal",
           "summary_rate"]

#: What a summary row shows for a dimension it was not grouped by.
ALL = "ALL"
#: Places a summary rate is rounded to.
_RATE_QUANTUM = decimal.Decimal("0.00001")


class Timestamp(wtypes.UserType):
    """A report bound: ISO 8601 in (an offset is converted to UTC, none
    means UTC, a bare date is midnight), naive UTC ``datetime`` out."""

    basetype = wtypes.text
    name = "datetime"

    def __init__(self, field: str) -> None:
        self.field = field

    def validate(self, value: Any) -> Any:
        return value

    def frombasetype(self, value: Any) -> datetime.datetime | None:
        # WSME reports a ValueError as "Invalid input for field/attribute
        # <field>. Value: <value>. unable to convert to datetime. Error:
        # <message>".
        try:
            return lifecycle.parse_time(value, self.field)
        except exceptions.InvalidInput:
            raise ValueError("expected an ISO 8601 date or date and "
                             "time") from None
        except OverflowError:
            # An offset moving the date out of datetime's range.
            raise ValueError("date out of range") from None

    def tobasetype(self, value: Any) -> Any:
        return value


class Boolean(wtypes.UserType):
    """A flag: JSON true/false, or true/false, yes/no, on/off, 1/0 in a
    query string (WSME's ``bool`` reads any non-empty word as true)."""

    basetype = wtypes.text
    name = "boolean"
    _WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}

    def validate(self, value: Any) -> Any:
        return value

    def frombasetype(self, value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in self._WORDS:
            return self._WORDS[value.strip().lower()]
        raise ValueError("expected true or false")

    def tobasetype(self, value: Any) -> Any:
        return value


class _Name(wtypes.UserType):
    """A name or id sent by the client (project, service, collector):
    text without NUL characters, which no database column accepts."""

    basetype = wtypes.text
    name = "name"

    def validate(self, value: Any) -> Any:
        return value

    def frombasetype(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("expected a string")
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value

    def tobasetype(self, value: Any) -> Any:
        return value


#: The type of every name or id argument of v1 reporting.
NAME = _Name()


def naive_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """``value`` as the naive UTC datetime v1 renders."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def plain_decimal(value: decimal.Decimal | None) -> str:
    """``value`` as v1 writes money and quantities: a decimal string,
    never in exponent form, without trailing zeros (``"0"`` for zero or
    None)."""
    if value is None or value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def summary_rate(value: decimal.Decimal | None) -> str:
    """A summary row's rate: rounded to 5 places, shown with at least one
    decimal (``"2.0"``, ``"0.12346"``); ``"0"`` when zero."""
    if value is None or value == 0:
        return "0"
    context = decimal.Context(prec=max(value.adjusted(), 0) + 10,
                              rounding=decimal.ROUND_HALF_EVEN)
    text = plain_decimal(value.quantize(_RATE_QUANTUM, context=context))
    if text in ("0", "-0"):
        return "0.0"
    return text if "." in text else text + ".0"


class SummaryModel(wtypes.Base):
    """Rated total of a window, for one project and/or one service."""

    begin = datetime.datetime
    """Start of the window (naive UTC)."""

    end = datetime.datetime
    """End of the window (naive UTC)."""

    tenant_id = wtypes.text
    """Project of the row, or ``ALL`` when not grouped by project."""

    res_type = wtypes.text
    """Service (metric type) of the row, or ``ALL`` when not grouped by
    service."""

    rate = wtypes.text
    """Total price, rounded to 5 decimal places, as a string."""

    @classmethod
    def from_row(cls, row: dict[str, Any], scope_key: str
                 ) -> SummaryModel:
        """From a row of the storage's ``total()``."""
        return cls(begin=naive_utc(row.get("begin")),
                   end=naive_utc(row.get("end")),
                   tenant_id=_or_all(row.get(scope_key)),
                   res_type=_or_all(row.get("type")),
                   rate=summary_rate(row.get("rate")))

    @classmethod
    def sample(cls) -> SummaryModel:
        return cls(begin=datetime.datetime(2024, 5, 1),
                   end=datetime.datetime(2024, 6, 1),
                   tenant_id="69d12143688f413cbf5c3cfe03ed0a12",
                   res_type="instance", rate="12.5")


def _or_all(value: Any) -> str:
    return ALL if value is None or value == "" else str(value)


class SummaryCollectionModel(wtypes.Base):
    """Rows of a summary."""

    summary = [SummaryModel]

    @classmethod
    def sample(cls) -> SummaryCollectionModel:
        return cls(summary=[SummaryModel.sample()])
