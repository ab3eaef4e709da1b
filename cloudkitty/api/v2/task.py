"""/v2/task/reprocesses[/<scope_id>]: reprocessing schedules (COMPAT.md
§3.2).

``POST`` schedules the rating of a past window again for some scopes (or
``ALL`` active scopes), one schedule per scope, answered 202 ``{}``. The
window is checked first, each failure a 400 whose message says why:

* ``ALL`` alone, or scope ids;
* a reason that is not blank;
* ``end_reprocess_time`` not before ``start_reprocess_time``;
* both bounds on the ``[collect] period`` grid (the message proposes the
  nearest window that is);
* every named scope exists (the message lists those that do not);
* both bounds not after the scope's ``last_processed_timestamp``;
* no overlap with an unfinished schedule of the same scope (bounds
  included: the period starting at the end is reprocessed too).

``GET`` lists schedules, finished ones included, by id (``order`` ``asc``
or ``desc``, any case; default ``desc``), filtered by ``scope_ids`` or by
the scope id in the path. Times are naive UTC ISO 8601, and
``current_reprocess_time`` is ``""`` until the first period is done.
"""
from __future__ import annotations

import datetime
from typing import Any

import pecan
import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v2 import base, validation
from cloudkitty.api.v2.scope import target
from cloudkitty.storage import state as state_api

__all__ = ["ALL_SCOPES", "ReprocessesResource", "TaskResources",
           "aligned_window"]

UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)

#: The ``scope_ids`` value that means every active scope.
ALL_SCOPES = "ALL"

_ORDER = vol.All(validation.SingleQueryParam(str), str.lower,
                 vol.In(["asc", "desc"]))

_QUERY: dict[Any, Any] = {
    vol.Optional("scope_ids"): validation.MultiQueryParam(validation.text),
    vol.Required("order", default="desc"): _ORDER,
    **validation.PAGINATION,
}


def _string(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise vol.Invalid("expected a string")
    return value


def _naive(value: datetime.datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def _document(schedule: state_api.ScheduleRecord) -> dict[str, Any]:
    current = schedule.current_reprocess_time
    return {"scope_id": schedule.scope_id,
            "reason": schedule.reason,
            "start_reprocess_time": _naive(schedule.start_reprocess_time),
            "end_reprocess_time": _naive(schedule.end_reprocess_time),
            "current_reprocess_time": "" if current is None
            else _naive(current)}


def aligned_window(start: datetime.datetime, end: datetime.datetime,
                   period: int
                   ) -> tuple[datetime.datetime, datetime.datetime] | None:
    """None if both bounds are on the ``period``-second grid (counted from
    the epoch), else the nearest window that is: both bounds rounded
    down, the end one period later if they then meet."""
    step = datetime.timedelta(seconds=period)
    start_off = (start - _EPOCH) % step
    end_off = (end - _EPOCH) % step
    if not start_off and not end_off:
        return None
    valid_start, valid_end = start - start_off, end - end_off
    if valid_start == valid_end:
        valid_end += step
    return valid_start, valid_end


def _check_request(scope_ids: list[str], start: datetime.datetime,
                   end: datetime.datetime, reason: str,
                   period: int) -> None:
    if not scope_ids:
        raise exceptions.InvalidInput(
            f"'scope_ids' must name at least one scope, or be "
            f"'{ALL_SCOPES}'.", field="scope_ids")
    if ALL_SCOPES in scope_ids and len(scope_ids) != 1:
        raise exceptions.InvalidInput(
            f"Cannot use '{ALL_SCOPES}' with scope IDs {scope_ids}: "
            f"either schedule a reprocessing for all active scopes with "
            f"'{ALL_SCOPES}' alone, or list the scopes.",
            field="scope_ids")
    if not reason.strip():
        raise exceptions.InvalidInput(
            "Empty or blank reason text is not allowed: give the reason "
            "for reprocessing already processed periods.", field="reason")
    if end < start:
        raise exceptions.InvalidInput(
            f"End reprocessing timestamp [{end.isoformat()}] cannot be "
            f"before start reprocessing timestamp [{start.isoformat()}].",
            field="end_reprocess_time")
    window = aligned_window(start, end, period)
    if window is not None:
        raise exceptions.InvalidInput(
            f"The reprocessing window does not follow the collect period "
            f"({period} seconds). A valid window near the one given is "
            f"start_reprocess_time={window[0].isoformat()}, "
            f"end_reprocess_time={window[1].isoformat()}.",
            field="start_reprocess_time")


def _scopes_to_reprocess(states: state_api.StateManager,
                         scope_ids: list[str], start: datetime.datetime,
                         end: datetime.datetime
                         ) -> list[state_api.ScopeStateRecord]:
    if scope_ids == [ALL_SCOPES]:
        records = states.list_states(active=True)
        if not records:
            raise exceptions.InvalidInput(
                "There is no active scope to reprocess.",
                field="scope_ids")
        return records
    records = states.list_states(scope_id=scope_ids)
    known = {r.scope_id for r in records}
    missing = [s for s in dict.fromkeys(scope_ids) if s not in known]
    if missing:
        raise exceptions.InvalidInput(
            f"Scopes {missing} scheduled to reprocess [start="
            f"{start.isoformat()}, end={end.isoformat()}] do not exist.",
            field="scope_ids")
    return records


def _check_processed(records: list[state_api.ScopeStateRecord],
                     start: datetime.datetime,
                     end: datetime.datetime) -> None:
    for record in records:
        last = record.last_processed_timestamp
        for name, bound in (("start", start), ("end", end)):
            if bound > last:
                raise exceptions.InvalidInput(
                    f"Cannot reprocess scope '{record.scope_id}' up to "
                    f"{name}={bound.isoformat()}: it was only processed "
                    f"up to {last.isoformat()} (its "
                    f"last_processed_timestamp).",
                    field=f"{name}_reprocess_time")


def _check_overlaps(schedules: state_api.ReprocessingSchedules,
                    scope_ids: list[str], start: datetime.datetime,
                    end: datetime.datetime) -> None:
    for schedule in schedules.get_unfinished(scope_ids):
        if (start <= schedule.end_reprocess_time
                and schedule.start_reprocess_time <= end):
            raise exceptions.InvalidInput(
                f"Cannot schedule a reprocessing of scope "
                f"'{schedule.scope_id}' for [{start.isoformat()}, "
                f"{end.isoformat()}]: it already has an unfinished "
                f"schedule for [{schedule.start_reprocess_time.isoformat()}"
                f", {schedule.end_reprocess_time.isoformat()}].",
                field="scope_ids")


class ReprocessesResource(base.Resource):
    """/v2/task/reprocesses."""

    def _list(self, scope_ids: list[str] | None, order: str, offset: int,
              limit: int) -> dict[str, Any]:
        ids = [s for s in scope_ids or [] if s] or None
        policy.authorize(pecan.request.context,
                         "schedule:get_task_reprocesses", target(ids))
        schedules = state_api.ReprocessingSchedules(pecan.request.conf)
        found = schedules.list_schedules(ids, order=order, offset=offset,
                                         limit=limit)
        return {"results": [_document(s) for s in found]}

    @base.expose(query=_QUERY)
    def get_all(self, *, order: str, offset: int, limit: int,
                scope_ids: list[str] | None = None) -> dict[str, Any]:
        return self._list(scope_ids, order, offset, limit)

    @base.expose(query=_QUERY)
    def get_one(self, scope_id: str, *, order: str, offset: int,
                limit: int, scope_ids: list[str] | None = None
                ) -> dict[str, Any]:
        # The scope id of the path wins over a scope_ids filter.
        return self._list([scope_id], order, offset, limit)

    @base.expose(body={
        vol.Required("scope_ids"): validation.MultiQueryParam(validation.text),
        vol.Required("start_reprocess_time"): validation.utc_datetime,
        vol.Required("end_reprocess_time"): validation.utc_datetime,
        vol.Required("reason"): _string,
    }, status=202)
    def post(self, *, scope_ids: list[str],
             start_reprocess_time: datetime.datetime,
             end_reprocess_time: datetime.datetime,
             reason: str) -> dict[str, Any]:
        ids = list(dict.fromkeys(s.strip() for s in scope_ids if s.strip()))
        policy.authorize(pecan.request.context, "schedule:task_reprocesses",
                         target(None if ids == [ALL_SCOPES] else ids))
        conf = pecan.request.conf
        start, end = start_reprocess_time, end_reprocess_time
        _check_request(ids, start, end, reason, conf.collect.period)
        states = state_api.StateManager(conf)
        schedules = state_api.ReprocessingSchedules(conf)
        records = _scopes_to_reprocess(states, ids, start, end)
        _check_processed(records, start, end)
        to_schedule = list(dict.fromkeys(r.scope_id for r in records))
        _check_overlaps(schedules, to_schedule, start, end)
        schedules.create(to_schedule, start, end, reason)
        return {}


class TaskResources:
    """/v2/task."""

    reprocesses = ReprocessesResource()
