"""Types of /v1/storage: rated data in the legacy (v1) frame form.

A v1 frame holds the points of one period, one project and one service;
each point is a resource with a flat ``desc`` (its metadata and groupby
merged, groupby winning) and its quantity and price as decimal strings.
"""
from __future__ import annotations

import datetime

from wsme import types as wtypes

from cloudkitty.api.v1.datamodels.report import naive_utc, plain_decimal
from cloudkitty.api.v1.types import AnyJSON
from cloudkitty.dataframe import DataPoint

__all__ = ["DataFrame", "DataFrameCollection", "RatedResource",
           "UNDEFINED_SCOPE"]

#: ``tenant_id`` of a frame whose points carry no scope key.
UNDEFINED_SCOPE = "__UNDEF__"


class RatedResource(wtypes.Base):
    """One rated point."""

    service = wtypes.text
    """Metric type the point was rated as."""

    desc = AnyJSON()
    """Metadata and groupby of the point, in one mapping."""

    volume = wtypes.text
    """Quantity, as a decimal string."""

    rating = wtypes.text
    """Price, as a decimal string."""

    @classmethod
    def from_point(cls, service: str, point: DataPoint) -> RatedResource:
        return cls(service=service, desc=dict(point.desc),
                   volume=plain_decimal(point.qty),
                   rating=plain_decimal(point.price))

    @classmethod
    def sample(cls) -> RatedResource:
        return cls(service="instance",
                   desc={"flavor_name": "m1.tiny", "id": "a6f7..."},
                   volume="1", rating="0.5")


class DataFrame(wtypes.Base):
    """The rated points of one period, project and service."""

    begin = datetime.datetime
    """Start of the period (naive UTC)."""

    end = datetime.datetime
    """End of the period (naive UTC)."""

    tenant_id = wtypes.text
    """Project the points belong to (``__UNDEF__`` when unknown)."""

    resources = [RatedResource]
    """The rated points."""

    @classmethod
    def build(cls, begin: datetime.datetime, end: datetime.datetime,
              tenant_id: str, resources: list[RatedResource]
              ) -> DataFrame:
        return cls(begin=naive_utc(begin), end=naive_utc(end),
                   tenant_id=tenant_id, resources=resources)

    @classmethod
    def sample(cls) -> DataFrame:
        return cls(begin=datetime.datetime(2024, 5, 1, 10),
                   end=datetime.datetime(2024, 5, 1, 11),
                   tenant_id="69d12143688f413cbf5c3cfe03ed0a12",
                   resources=[RatedResource.sample()])


class DataFrameCollection(wtypes.Base):
    """Stored frames, in period order."""

    dataframes = [DataFrame]

    @classmethod
    def sample(cls) -> DataFrameCollection:
        return cls(dataframes=[DataFrame.sample()])
