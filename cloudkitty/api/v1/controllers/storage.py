"""/v1/storage/dataframes: stored rated data in the v1 frame form.

One v1 frame per (period, service, project), in period order, then by
service, then in the order the projects' points were stored. (Upstream
makes one frame per period and service and labels it with the project of
the period's first point, which mislabels the points of other projects
when an administrator reads several; for one project both agree.)

An administrator reads every project, or ``tenant_id`` when given; anyone
else only the token's project, whatever ``tenant_id`` says (an unscoped
token reads nothing). ``begin``/``end`` are optional: without them the
window is unbounded on that side.

The answer is streamed: the periods of the window and their point counts
are read first (one aggregate query), then the points a few thousand at a
time, in windows of whole periods, each turned into v1 frames and written
out before the next is read. The API's memory does not grow with the
stored data; the bytes are those of the document built in one piece.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from typing import Any

import pecan
from pecan import rest

from cloudkitty.api import policy
from cloudkitty.api.v1.controllers.report import (
    check_window,
    storage,
    visibility,
)
from cloudkitty.api.v1.datamodels import report as report_models
from cloudkitty.api.v1.datamodels import storage as models
from cloudkitty.api.v1.datamodels.report import naive_utc, plain_decimal
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.api.v1.streaming import Streamed, json_list_document
from cloudkitty.api.v1.types import plain_json
from cloudkitty.dataframe import DataFrame
from cloudkitty.storage.v2.base import BaseStorage, Filters

__all__ = ["BATCH_POINTS", "DataFramesController", "StorageController",
           "period_windows", "v1_frames"]

#: Points read from the storage at once (more when one period has more).
BATCH_POINTS = 2000

_Window = tuple[datetime.datetime | None, datetime.datetime | None]


def v1_frames(frame: DataFrame, scope_key: str
              ) -> Iterator[dict[str, Any]]:
    """The v1 frames of one stored frame, as the JSON-ready mappings WSME
    makes of :class:`models.DataFrame` (same keys, same order, same
    strings): one per service and scope, in the order the points were
    stored."""
    begin = _iso(frame.start)
    end = _iso(frame.end)
    for service, points in frame.itertypes():
        by_scope: dict[str, list[dict[str, Any]]] = {}
        for point in points:
            desc = dict(point.desc)
            scope = desc.get(scope_key)
            scope_id = (models.UNDEFINED_SCOPE if scope is None
                        else str(scope))
            by_scope.setdefault(scope_id, []).append({
                "service": service, "desc": plain_json(desc),
                "volume": plain_decimal(point.qty),
                "rating": plain_decimal(point.price)})
        for scope_id, resources in by_scope.items():
            yield {"begin": begin, "end": end, "tenant_id": scope_id,
                   "resources": resources}


def _iso(moment: datetime.datetime) -> str:
    return (naive_utc(moment) or moment).isoformat()


def period_windows(counts: Sequence[tuple[datetime.datetime, int]],
                   begin: datetime.datetime | None,
                   end: datetime.datetime | None,
                   batch: int = BATCH_POINTS) -> list[_Window]:
    """Windows tiling ``[begin, end)``, cut only between period starts (a
    period's points always fall in one window), each holding at most
    ``batch`` points or a single period. ``counts`` are ``(period start,
    points)``, in any order, a start possibly more than once."""
    per_start: dict[datetime.datetime, int] = {}
    for start, count in counts:
        per_start[start] = per_start.get(start, 0) + count
    cuts: list[datetime.datetime] = []
    held = 0
    for start in sorted(per_start):
        count = per_start[start]
        if held and held + count > batch:
            cuts.append(start)
            held = 0
        held += count
    bounds: list[datetime.datetime | None] = [begin, *cuts, end]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _frames_of(backend: BaseStorage, windows: Sequence[_Window],
               filters: Filters | None, metric_types: str | None,
               first: list[DataFrame]) -> Iterator[dict[str, Any]]:
    """The v1 frames of every window; ``first`` is the first window's
    stored frames, already read."""
    frames = first
    del first
    for index, (low, high) in enumerate(windows):
        if index:
            # Let the previous window go before reading the next one.
            frames = []
            frames = backend.retrieve(
                begin=low, end=high, filters=filters,
                metric_types=metric_types, paginate=False)["dataframes"]
        for frame in frames:
            yield from v1_frames(frame, backend.scope_key)


class DataFramesController(rest.RestController):
    """/v1/storage/dataframes."""

    @wsexpose(models.DataFrameCollection,
              report_models.Timestamp("begin"),
              report_models.Timestamp("end"),
              report_models.NAME,
              report_models.NAME)
    def get_all(self, begin: datetime.datetime | None = None,
                end: datetime.datetime | None = None,
                tenant_id: str | None = None,
                resource_type: str | None = None
                ) -> models.DataFrameCollection | Streamed:
        """Rated points whose period starts in ``[begin, end)``, of one
        service when ``resource_type`` is given."""
        seen = visibility(tenant_id, default_own=False)
        policy.authorize(pecan.request.context, "storage:list_data_frames",
                         seen.target())
        check_window(begin, end)
        if seen.nothing:
            return models.DataFrameCollection(dataframes=[])
        backend = storage()
        filters = seen.filters(backend.scope_key)
        metric_types = resource_type or None
        periods = backend.total(groupby=["time"], begin=begin, end=end,
                                filters=filters, metric_types=metric_types,
                                custom_fields="COUNT(qty) AS points",
                                paginate=False)["results"]
        windows = period_windows(
            [(row["begin"], int(row["points"])) for row in periods],
            begin, end)
        # The first window is read here, so that a storage failure is
        # still answered with an error document.
        low, high = windows[0]
        first = backend.retrieve(begin=low, end=high, filters=filters,
                                 metric_types=metric_types,
                                 paginate=False)["dataframes"]
        frames = _frames_of(backend, windows, filters, metric_types, first)
        return Streamed(json_list_document("dataframes", frames))


class StorageController(rest.RestController):
    """/v1/storage."""

    dataframes = DataFramesController()
