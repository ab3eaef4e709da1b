"""Datetimes at the storage boundary.

The databases hold naive UTC; callers may pass aware datetimes in any
zone (converted) or naive ones (taken as UTC); readers get aware UTC back so
nobody has to guess again.
"""
from __future__ import annotations

import datetime

UTC = datetime.timezone.utc


def to_db(value: datetime.datetime) -> datetime.datetime:
    """``value`` as the naive UTC datetime stored in the database."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def to_db_or_none(value: datetime.datetime | None) -> datetime.datetime | None:
    return None if value is None else to_db(value)


def from_db(value: datetime.datetime) -> datetime.datetime:
    """A naive UTC value read from the database, made aware."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_db_or_none(
        value: datetime.datetime | None) -> datetime.datetime | None:
    return None if value is None else from_db(value)


def utcnow() -> datetime.datetime:
    """Now, naive UTC, to the second (what every database keeps)."""
    return datetime.datetime.now(UTC).replace(tzinfo=None, microsecond=0)
