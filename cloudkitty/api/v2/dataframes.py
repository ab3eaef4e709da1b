"""/v2/dataframes: rated data points in and out (COMPAT.md §3.2).

* ``GET`` lists the stored points of a window as DataFrames (one per
  stored period): ``begin``/``end`` (ISO 8601, naive = UTC; default the
  current month, UTC), ``filters`` (``key:value[,key:value]``, each key
  once; ``type`` is the metric type), ``offset``/``limit`` counted in
  points (a limit above :data:`validation.MAX_LIMIT` is lowered to it).
  ``{"total": <points>, "dataframes": [...]}``; 404 when nothing matches.
  A caller who is not admin only sees its own project (the scope key
  filter is forced to its project id); one with no project gets
  ``{"total": 0, "dataframes": []}``.
* ``POST`` ``{"dataframes": [DataFrame, ...]}`` appends every point (two
  identical points are two rows) and answers 204. Frames are checked
  before anything is stored; the first problem is a 400 naming its path,
  e.g. ``dataframes[0].usage.cpu[2].vol.qty``. Unknown keys are refused
  at every level.

DataFrame (v2 wire format)::

    {"period": {"begin": "2019-07-23T12:00:00+00:00",
                "end": "2019-07-23T13:00:00+00:00"},
     "usage": {"cpu": [{"vol": {"unit": "instance", "qty": 1},
                        "rating": {"price": 0.5},
                        "groupby": {"project_id": "...", "id": "..."},
                        "metadata": {"flavor_name": "m1.tiny"}}]}}
"""
from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from typing import Any

import pecan
import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v2 import base, summary, validation
from cloudkitty.dataframe import DataFrame, DataFrameBuilder, DataPoint

__all__ = ["DataFramesResource", "MAX_MAGNITUDE", "frame_from_wire"]

#: ``qty`` and ``price`` must be smaller than this in absolute value (what
#: a MySQL/MariaDB DECIMAL(65, 30) column holds).
MAX_MAGNITUDE = decimal.Decimal(10) ** 35
#: Longest metric type and unit (their columns' size).
_MAX_NAME = 255
#: Longest scope id (the column's size).
_MAX_SCOPE = 256

_FRAME_KEYS = ("period", "usage")
_PERIOD_KEYS = ("begin", "end")
_POINT_KEYS = ("vol", "rating", "groupby", "metadata", "description")
_VOL_KEYS = ("unit", "qty")
_RATING_KEYS = ("price",)

_DATETIME = vol.All(validation.SingleQueryParam(str),
                    validation.utc_datetime)

_QUERY: dict[Any, Any] = {
    vol.Optional("begin"): _DATETIME,
    vol.Optional("end"): _DATETIME,
    vol.Optional("filters"): validation.SingleDictQueryParam(
        summary.text, summary.text),
    **validation.CAPPED_PAGINATION,
}


def _invalid(path: str, reason: str) -> exceptions.InvalidInput:
    return exceptions.InvalidInput(f"Invalid dataframe: '{path}' {reason}.",
                                   field=path)


def _mapping(value: Any, path: str, allowed: tuple[str, ...],
             required: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid(path, "must be an object")
    for key in value:
        if key not in allowed:
            raise _invalid(f"{path}.{key}",
                           f"is not allowed (allowed: "
                           f"{', '.join(allowed)})")
    for key in required:
        if key not in value:
            raise _invalid(f"{path}.{key}", "is required")
    return value


def _check_text(value: Any, path: str) -> None:
    """Strings anywhere in ``value`` (keys included) must be storable."""
    if isinstance(value, str):
        try:
            summary.text(value)
        except vol.Invalid as exc:
            raise _invalid(path, f"is not storable text: {exc.msg}") \
                from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}[{index}]")


def _date(value: Any, path: str) -> datetime.datetime:
    try:
        return validation.utc_datetime(value)
    except vol.Invalid as exc:
        raise _invalid(path, f"must be an ISO 8601 date and time "
                             f"({exc.msg})") from None


def _point(data: Any, path: str, scope_key: str) -> DataPoint:
    point = _mapping(data, path, _POINT_KEYS, ("vol", "groupby",
                                               "metadata"))
    _mapping(point["vol"], f"{path}.vol", _VOL_KEYS, _VOL_KEYS)
    if point.get("rating") is not None:
        _mapping(point["rating"], f"{path}.rating", _RATING_KEYS)
    _check_text(point, path)
    parsed = DataPoint.from_dict(point, path=path)
    for name, number in (("vol.qty", parsed.qty),
                         ("rating.price", parsed.price)):
        if abs(number) >= MAX_MAGNITUDE:
            raise _invalid(f"{path}.{name}",
                           "must be smaller than 10^35 in absolute value")
    if len(parsed.unit) > _MAX_NAME:
        raise _invalid(f"{path}.vol.unit",
                       f"is longer than {_MAX_NAME} characters")
    scope = parsed.desc.get(scope_key)
    if scope is not None and len(str(scope)) > _MAX_SCOPE:
        raise _invalid(f"{path}.groupby.{scope_key}",
                       f"is longer than {_MAX_SCOPE} characters")
    return parsed


def frame_from_wire(data: Any, path: str, scope_key: str) -> DataFrame:
    """The DataFrame of the wire form ``data``; InvalidInput naming the
    path (below ``path``) of the first problem."""
    frame = _mapping(data, path, _FRAME_KEYS, ("period",))
    period = _mapping(frame["period"], f"{path}.period", _PERIOD_KEYS,
                      _PERIOD_KEYS)
    begin = _date(period["begin"], f"{path}.period.begin")
    end = _date(period["end"], f"{path}.period.end")
    if end < begin:
        raise _invalid(f"{path}.period.end", "is before period.begin")
    usage = frame.get("usage")
    if usage is None:
        usage = {}
    if not isinstance(usage, Mapping):
        raise _invalid(f"{path}.usage", "must be an object")
    builder = DataFrameBuilder(begin, end)
    for metric_type in sorted(usage):
        where = f"{path}.usage.{metric_type}"
        _check_text(metric_type, f"{path}.usage")
        if not metric_type.strip() or len(metric_type) > _MAX_NAME:
            raise _invalid(where, f"is not a metric type (1 to "
                                  f"{_MAX_NAME} characters)")
        points = usage[metric_type]
        if not isinstance(points, list):
            raise _invalid(where, "must be a list of points")
        builder.add_points(
            (_point(p, f"{where}[{index}]", scope_key)
             for index, p in enumerate(points)), metric_type)
    return builder.build()


def _frames(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise vol.Invalid("expected a list of dataframes")
    return value


class DataFramesResource(base.Resource):
    """/v2/dataframes."""

    @base.expose(query=_QUERY)
    def get_all(self, *, offset: int, limit: int,
                begin: datetime.datetime | None = None,
                end: datetime.datetime | None = None,
                filters: dict[str, str] | None = None) -> dict[str, Any]:
        context = pecan.request.context
        policy.authorize(context, "dataframes:get",
                         summary.own_target(context))
        begin_, end_ = summary.window(begin, end)
        allowed = summary.scoped_filters(
            context, pecan.request.conf.collect.scope_key,
            {key: [value] for key, value in (filters or {}).items()})
        if allowed is None:
            return {"total": 0, "dataframes": []}
        metric_types = allowed.pop("type", None)
        result = summary.storage().retrieve(
            begin=begin_, end=end_, filters=allowed,
            metric_types=metric_types, offset=offset, limit=limit,
            paginate=True)
        if result["total"] < 1:
            raise exceptions.NotFound(
                "No resource found for provided filters.")
        return {"total": result["total"],
                "dataframes": [frame.as_dict(mutable=True)
                               for frame in result["dataframes"]]}

    @base.expose(body={vol.Required("dataframes"): _frames}, status=204)
    def post(self, *, dataframes: list[Any]) -> None:
        policy.authorize(pecan.request.context, "dataframes:add", {})
        if not dataframes:
            raise exceptions.InvalidInput(
                "Parameter dataframes must not be empty.",
                field="dataframes")
        scope_key = pecan.request.conf.collect.scope_key
        frames = [frame_from_wire(data, f"dataframes[{index}]", scope_key)
                  for index, data in enumerate(dataframes)]
        summary.storage().push(frames)
