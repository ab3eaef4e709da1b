"""/v2/summary: rated quantities and prices, grouped (COMPAT.md §3.1-3.3).

``GET`` sums what the storage holds for a window, one row per group:

* ``begin``/``end``: ISO 8601 (naive = UTC); default the start of the
  current month and of the next one, in UTC (upstream uses the API host's
  time zone; our storage is UTC).
* ``groupby`` (repeated and/or comma-separated): any groupby key of the
  stored points, ``type`` (metric type), ``time`` (one row per stored
  period) and ``time-d``/``-w``/``-m``/``-y`` (the collector's
  ``day_of_the_year``, ``week_of_the_year``, ``month`` and ``year`` keys);
  any other ``time-...`` is a 400.
* ``filters`` (repeated and/or comma-separated ``key:value``; a repeated
  key matches any of its values): key ``type`` is the metric type, any
  other is looked up in the points' groupby, then metadata.
* ``custom_fields``: the aggregates of each row (sums and counts of
  ``qty``/``price``, named; :mod:`cloudkitty.storage.v2.custom_fields`),
  default ``SUM(qty) AS qty, SUM(price) AS rate``.
* ``response_format``: ``table`` (default; ``columns`` + one list per row)
  or ``object`` (one dict per row); ``format`` echoes it.
* ``offset``/``limit``: ``total`` counts every row before paging; a limit
  above :data:`validation.MAX_LIMIT` is lowered to it.

Rows hold ``begin``, ``end`` (the window, or the stored period with
``time``), the fields (``qty``, ``rate``: JSON numbers) and one key per
groupby element. A caller who is not admin only ever sees its own project:
``filters[<scope_key>]`` is replaced by its project id, and a caller with
no project gets an empty result.

The helpers shared with :mod:`cloudkitty.api.v2.dataframes` (window
defaults, scoping, storage) live here too.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pecan
import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.context import RequestContext
from cloudkitty.api.v2 import base, validation
from cloudkitty.storage import get_storage
from cloudkitty.storage.v2 import base as storage_base
from cloudkitty.storage.v2 import custom_fields as fields_api

__all__ = ["FORMATS", "SummaryResource", "month_window",
           "scoped_filters", "storage", "text", "window"]

UTC = datetime.timezone.utc

#: ``response_format`` values; the first is the default.
FORMATS = ("table", "object")

#: Longest groupby or filter key accepted (a stored key longer than this
#: cannot be in any metrics.yml anyway).
MAX_KEY_LENGTH = 255
#: Row keys every summary row has whatever the grouping.
_ROW_KEYS = ("begin", "end")


#: A string that the databases can hold (see :func:`validation.text`).
text = validation.text


def _key(value: Any) -> str:
    key = text(value).strip()
    if not key:
        raise vol.Invalid("empty key")
    if len(key) > MAX_KEY_LENGTH:
        raise vol.Invalid(f"key longer than {MAX_KEY_LENGTH} characters")
    return key


_DATETIME = vol.All(validation.SingleQueryParam(str),
                    validation.utc_datetime)

_QUERY: dict[Any, Any] = {
    vol.Optional("begin"): _DATETIME,
    vol.Optional("end"): _DATETIME,
    vol.Optional("groupby"): validation.MultiQueryParam(_key),
    vol.Optional("filters"): validation.MultiDictQueryParam(_key, text),
    vol.Optional("custom_fields"): validation.SingleQueryParam(text),
    vol.Required("response_format", default=FORMATS[0]): vol.All(
        validation.SingleQueryParam(str), vol.In(FORMATS)),
    **validation.CAPPED_PAGINATION,
}


def month_window(now: datetime.datetime | None = None
                 ) -> tuple[datetime.datetime, datetime.datetime]:
    """The start of the month of ``now`` (default: now) and of the next
    month, aware UTC."""
    now = (now or datetime.datetime.now(UTC)).astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start.month == 12:
        return start, start.replace(year=start.year + 1, month=1)
    return start, start.replace(month=start.month + 1)


def window(begin: datetime.datetime | None, end: datetime.datetime | None
           ) -> tuple[datetime.datetime, datetime.datetime]:
    """``begin``/``end`` with the current month's bounds for what is
    missing; a window ending before it begins is a 400 naming ``end``."""
    default_begin, default_end = month_window()
    begin_, end_ = begin or default_begin, end or default_end
    if end_ < begin_:
        which = "given" if end is not None else (
            "the default: the start of next month, UTC")
        raise exceptions.InvalidInput(
            f"'end' ({end_.isoformat()}, {which}) is before 'begin' "
            f"({begin_.isoformat()}).", field="end")
    return begin_, end_


def own_target(context: RequestContext) -> dict[str, Any]:
    """Policy target: the caller's own project (``project_id`` for our
    rules, ``tenant_id`` for upstream's)."""
    return {"project_id": context.project_id,
            "tenant_id": context.project_id}


def scoped_filters(context: RequestContext, scope_key: str,
                   filters: Mapping[str, list[str]] | None
                   ) -> dict[str, list[str]] | None:
    """``filters`` as the caller may apply them: an admin's unchanged, a
    non-admin's with ``scope_key`` forced to its project id. None when the
    caller is not admin and has no project (it may see nothing)."""
    result = {key: list(values) for key, values in (filters or {}).items()}
    if context.is_admin:
        return result
    if not context.project_id:
        return None
    result[scope_key] = [context.project_id]
    return result


def storage() -> storage_base.BaseStorage:
    """The configured storage backend."""
    return get_storage(pecan.request.conf)


def _groupby(groupby: list[str] | None) -> list[str]:
    normalized = storage_base.normalize_groupby(groupby)
    for key in normalized:
        if key in _ROW_KEYS:
            raise exceptions.InvalidInput(
                f"Invalid groupby '{key}': every row has a '{key}' column "
                f"already (group by 'time' for one row per period).",
                field="groupby")
    return normalized


def _document(result: storage_base.TotalResult,
              response_format: str) -> dict[str, Any]:
    rows = result["results"]
    if response_format == "object":
        return {"total": result["total"], "results": rows,
                "format": response_format}
    return {"total": result["total"],
            "columns": list(rows[0]) if rows else [],
            "results": [list(row.values()) for row in rows],
            "format": response_format}


class SummaryResource(base.Resource):
    """/v2/summary."""

    @base.expose(query=_QUERY)
    def get_all(self, *, offset: int, limit: int, response_format: str,
                begin: datetime.datetime | None = None,
                end: datetime.datetime | None = None,
                groupby: list[str] | None = None,
                filters: dict[str, list[str]] | None = None,
                custom_fields: str | None = None) -> dict[str, Any]:
        context = pecan.request.context
        policy.authorize(context, "summary:get_summary",
                         own_target(context))
        begin_, end_ = window(begin, end)
        groups = _groupby(groupby)
        fields = fields_api.parse(custom_fields)
        fields_api.check_names(fields, [g for g in groups if g != "time"],
                               given=custom_fields is not None)
        allowed = scoped_filters(context, pecan.request.conf.collect
                                 .scope_key, filters)
        if allowed is None:
            return _document({"total": 0, "results": []}, response_format)
        metric_types = allowed.pop("type", None)
        result = storage().total(
            groupby=groups, begin=begin_, end=end_,
            metric_types=metric_types, filters=allowed,
            custom_fields=custom_fields, offset=offset, limit=limit,
            paginate=True)
        return _document(result, response_format)
