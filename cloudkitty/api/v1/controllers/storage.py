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
"""
from __future__ import annotations

import datetime

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
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.dataframe import DataFrame

__all__ = ["DataFramesController", "StorageController"]


def _v1_frames(frame: DataFrame, scope_key: str) -> list[models.DataFrame]:
    """The v1 frames of one stored frame."""
    result: list[models.DataFrame] = []
    for service, points in frame.itertypes():
        by_scope: dict[str, list[models.RatedResource]] = {}
        for point in points:
            scope = point.desc.get(scope_key)
            scope_id = (models.UNDEFINED_SCOPE if scope is None
                        else str(scope))
            by_scope.setdefault(scope_id, []).append(
                models.RatedResource.from_point(service, point))
        result.extend(models.DataFrame.build(frame.start, frame.end,
                                             scope_id, resources)
                      for scope_id, resources in by_scope.items())
    return result


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
                ) -> models.DataFrameCollection:
        """Rated points whose period starts in ``[begin, end)``, of one
        service when ``resource_type`` is given."""
        seen = visibility(tenant_id, default_own=False)
        policy.authorize(pecan.request.context, "storage:list_data_frames",
                         seen.target())
        check_window(begin, end)
        if seen.nothing:
            return models.DataFrameCollection(dataframes=[])
        backend = storage()
        result = backend.retrieve(begin=begin, end=end,
                                  filters=seen.filters(backend.scope_key),
                                  metric_types=resource_type or None,
                                  paginate=False)
        frames: list[models.DataFrame] = []
        for frame in result["dataframes"]:
            frames.extend(_v1_frames(frame, backend.scope_key))
        return models.DataFrameCollection(dataframes=frames)


class StorageController(rest.RestController):
    """/v1/storage."""

    dataframes = DataFramesController()
