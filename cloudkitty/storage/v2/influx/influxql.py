"""Building InfluxQL safely: quoted identifiers, string literals, times.

Every name and value that reaches a query comes through :func:`ident` or
:func:`string`, so filter keys and values given by API users can never
end a quote and add their own clauses.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

__all__ = ["MEASUREMENT", "ident", "string", "ns", "time_window",
           "any_of", "and_all"]

MEASUREMENT = "dataframes"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _escape(text: str, quote: str) -> str:
    if "\x00" in text:
        raise ValueError("NUL characters cannot be queried")
    return (text.replace("\\", "\\\\").replace(quote, "\\" + quote)
            .replace("\n", "\\n"))


def ident(name: str) -> str:
    """``name`` as a double-quoted identifier."""
    return '"' + _escape(name, '"') + '"'


def string(value: str) -> str:
    """``value`` as a single-quoted string literal."""
    return "'" + _escape(value, "'") + "'"


def ns(value: datetime.datetime) -> int:
    """Nanoseconds since the epoch (naive datetimes are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 \
        + delta.microseconds * 1000


def time_window(begin: datetime.datetime | None,
                end: datetime.datetime | None) -> list[str]:
    """``time >= begin`` / ``time < end`` conditions (integer ns)."""
    clauses = []
    if begin is not None:
        clauses.append(f"time >= {ns(begin)}")
    if end is not None:
        clauses.append(f"time < {ns(end)}")
    return clauses


def any_of(column: str, values: Iterable[str]) -> str:
    """``(column = 'v1' OR column = 'v2' ...)``; ``column`` already
    quoted."""
    parts = [f"{column} = {string(v)}" for v in values]
    if not parts:
        return "false"
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def and_all(clauses: Sequence[str]) -> str:
    """`` WHERE a AND b`` or ``""``."""
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""
