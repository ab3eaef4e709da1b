"""Test data for storage and state tests: points, frames, databases.

Builders take only what a test cares about; everything else gets a
plausible default, so a test reads as the behaviour it checks.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.db import migration

UTC = datetime.timezone.utc
#: A period start every test can count from.
T0 = datetime.datetime(2019, 7, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


def at(hours: int) -> datetime.datetime:
    """``T0`` plus ``hours`` hours."""
    return T0 + hours * HOUR


def point(qty: Any = "1", price: Any = "0", *, project_id: str = "proj-a",
          unit: str = "instance", metadata: Mapping[str, Any] | None = None,
          description: str | None = None, **groupby: Any) -> DataPoint:
    """A point of ``project_id``; extra keyword arguments join its
    groupby."""
    return DataPoint(unit, qty, price, {"project_id": project_id, **groupby},
                     metadata or {}, description)


def collected(point_: DataPoint, start: datetime.datetime) -> DataPoint:
    """``point_`` with the time keys the collector stamps from ``start``."""
    keys = {
        "week_of_the_year": start.strftime("%U"),
        "day_of_the_year": str(start.timetuple().tm_yday),
        "month": str(start.month),
        "year": start.strftime("%Y"),
    }
    return point_.replace(groupby={**point_.groupby, **keys})


def frame(start: datetime.datetime = T0,
          usage: Mapping[str, list[DataPoint]] | None = None,
          period: datetime.timedelta = HOUR) -> DataFrame:
    """A frame ``[start, start + period)`` whose points carry the
    collector's time keys."""
    return DataFrame(start, start + period, {
        metric_type: [collected(p, start) for p in points]
        for metric_type, points in (usage or {}).items()})


def money(value: str) -> Decimal:
    return Decimal(value)


def migrate(url: str) -> None:
    """Run the real alembic tree on ``url`` up to head."""
    engine = db_api.create_engine(url)
    try:
        migration.upgrade(engine)
    finally:
        engine.dispose()


def storage_conf(make_conf: Any, db_url: str, **sections: Any) -> Any:
    """A parsed configuration using ``db_url`` and the sqlalchemy backend.
    ``sections`` add or override ``{section: {option: value}}``."""
    options: dict[str, dict[str, object]] = {
        "database": {"connection": db_url},
        "storage": {"backend": "sqlalchemy"},
        "collect": {"scope_key": "project_id", "collector": "prometheus"},
        "fetcher": {"backend": "source"},
    }
    for section, values in sections.items():
        options.setdefault(section, {}).update(values)
    return make_conf(options)


#: The tables holding rated data: the points and their rollups.
RATED_TABLES = ("cloudkitty_dataframes", "cloudkitty_rollup_periods",
                "cloudkitty_rollup_days")


def clear_rated(connection: Any) -> None:
    """Empty the rated data of a migrated SQL database (``connection`` is
    an open SQLAlchemy connection), rollups included, so that summaries
    start from nothing too."""
    for table in RATED_TABLES:
        connection.execute(sa.text(f"DELETE FROM {table}"))
