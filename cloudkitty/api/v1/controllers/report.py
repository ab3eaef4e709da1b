"""/v1/report: rated projects, totals and summaries of a window.

* ``tenants`` — the projects rating has state for;
* ``total`` (deprecated upstream, still served) — the price of a window,
  as a decimal string;
* ``summary`` — prices of a window grouped by project (``tenant_id``)
  and/or service (``res_type``).

The window defaults to the current month (UTC). Who sees what: an
administrator reads any project (``all_tenants`` for all of them, else
``tenant_id``, else the token's own project); anyone else only ever reads
the token's project, whatever ``tenant_id`` or ``all_tenants`` say, and
nothing at all with an unscoped token. With ``auth_strategy = noauth``
every caller is an administrator.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
from typing import Any

import pecan
from oslo_log import log
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v1.datamodels import report as models
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.storage.v2.base import BaseStorage

LOG = log.getLogger(__name__)

__all__ = ["ReportController", "Visibility", "check_window",
           "month_window", "storage", "visibility"]

#: Summary ``groupby`` values and the storage groupby each one means
#: (None: the configured scope key).
_SUMMARY_GROUPS: dict[str, str | None] = {"tenant_id": None,
                                          "res_type": "type"}


@dataclasses.dataclass(frozen=True)
class Visibility:
    """Whose rated data a request reads: ``scope_id`` (None = every
    project), or nothing at all when ``nothing``."""

    scope_id: str | None
    nothing: bool = False

    def filters(self, scope_key: str) -> dict[str, str] | None:
        """Storage filters restricting a read to the visible data."""
        return None if self.scope_id is None else {scope_key: self.scope_id}

    def target(self) -> dict[str, Any]:
        """Policy target of the read (``tenant_id`` too, the name old
        policy files may use)."""
        return {"project_id": self.scope_id, "tenant_id": self.scope_id}


def visibility(tenant_id: str | None, all_tenants: bool = False, *,
               default_own: bool = True) -> Visibility:
    """What the caller may read, given what it asked for.

    Non-administrators are confined to their token's project. For an
    administrator, ``all_tenants`` means every project; otherwise
    ``tenant_id``, or (when ``default_own``) the token's project, or
    every project.
    """
    context = pecan.request.context
    if not context.is_admin:
        own = context.project_id
        return Visibility(own, nothing=own is None)
    if all_tenants:
        return Visibility(None)
    if tenant_id:
        return Visibility(tenant_id)
    return Visibility(context.project_id if default_own else None)


def month_window(now: datetime.datetime | None = None
                 ) -> tuple[datetime.datetime, datetime.datetime]:
    """Start of the current month and of the next one, naive UTC."""
    now = now or datetime.datetime.now(datetime.UTC)
    begin = datetime.datetime(now.year, now.month, 1)
    if now.month == 12:
        return begin, datetime.datetime(now.year + 1, 1, 1)
    return begin, datetime.datetime(now.year, now.month + 1, 1)


def check_window(begin: datetime.datetime | None,
                 end: datetime.datetime | None) -> None:
    """400 naming ``end`` when the window ends before it begins."""
    if begin is not None and end is not None and end < begin:
        raise exceptions.InvalidInput(
            f"'end' ({end.isoformat()}) is before 'begin' "
            f"({begin.isoformat()}).", field="end")


def report_window(begin: datetime.datetime | None,
                  end: datetime.datetime | None
                  ) -> tuple[datetime.datetime, datetime.datetime]:
    """The window of a report: the bounds given, the current month's for
    those missing."""
    default_begin, default_end = month_window()
    begin = default_begin if begin is None else begin
    end = default_end if end is None else end
    check_window(begin, end)
    return begin, end


def storage() -> BaseStorage:
    """The configured storage backend."""
    return get_storage(pecan.request.conf)


def _summary_groupby(groupby: str | None, scope_key: str) -> list[str]:
    """Storage groupby of a v1 summary ``groupby`` (comma-separated
    ``tenant_id`` and ``res_type``); anything else is a 400."""
    wanted = [part.strip() for part in (groupby or "").split(",")]
    wanted = [part for part in wanted if part]
    unknown = [part for part in wanted if part not in _SUMMARY_GROUPS]
    if unknown:
        raise exceptions.InvalidInput(
            f"Invalid groupby {', '.join(repr(u) for u in unknown)}: the v1 "
            f"summary groups by {' and '.join(_SUMMARY_GROUPS)} only (use "
            f"/v2/summary for other groupings).", field="groupby")
    # Project first, then service, whatever order they were given in.
    return [_SUMMARY_GROUPS[name] or scope_key for name in _SUMMARY_GROUPS
            if name in wanted]


class ReportController(rest.RestController):
    """/v1/report."""

    _custom_actions = {"tenants": ["GET"], "total": ["GET"],
                       "summary": ["GET"]}

    @wsexpose([wtypes.text], models.Timestamp("begin"),
              models.Timestamp("end"))
    def tenants(self, begin: datetime.datetime | None = None,
                end: datetime.datetime | None = None) -> list[str]:
        """Every project rating has a state for, by id. The window is
        checked but, as upstream with the v2 storage, not applied: a
        project is listed once it has been rated at all."""
        context = pecan.request.context
        policy.authorize(context, "report:list_tenants", {})
        check_window(begin, end)
        scope_ids = sorted({state.scope_id for state in
                            StateManager(pecan.request.conf).list_states()})
        if not context.is_admin:
            scope_ids = [s for s in scope_ids if s == context.project_id]
        return scope_ids

    @wsexpose(wtypes.text, models.Timestamp("begin"),
              models.Timestamp("end"), models.NAME,
              models.NAME, models.Boolean())
    def total(self, begin: datetime.datetime | None = None,
              end: datetime.datetime | None = None,
              tenant_id: str | None = None, service: str | None = None,
              all_tenants: bool | None = False) -> str:
        """Price of a window (of one service when ``service`` is given),
        as a decimal string; ``"0"`` when nothing was rated."""
        LOG.debug("/v1/report/total is deprecated upstream; "
                  "/v1/report/summary gives the same total")
        seen = visibility(tenant_id, bool(all_tenants))
        policy.authorize(pecan.request.context, "report:get_total",
                         seen.target())
        begin, end = report_window(begin, end)
        if seen.nothing:
            return "0"
        backend = storage()
        result = backend.total(begin=begin, end=end,
                               metric_types=service or None,
                               filters=seen.filters(backend.scope_key),
                               paginate=False)
        total = sum((row["rate"] or decimal.Decimal(0)
                     for row in result["results"]), decimal.Decimal(0))
        return models.plain_decimal(total)

    @wsexpose(models.SummaryCollectionModel, models.Timestamp("begin"),
              models.Timestamp("end"), models.NAME,
              models.NAME, models.NAME,
              models.Boolean())
    def summary(self, begin: datetime.datetime | None = None,
                end: datetime.datetime | None = None,
                tenant_id: str | None = None, service: str | None = None,
                groupby: str | None = None,
                all_tenants: bool | None = False
                ) -> models.SummaryCollectionModel:
        """Prices of a window, one row per group of ``groupby``
        (``tenant_id``, ``res_type`` or both, comma-separated; one row
        without it); a dimension not grouped by reads ``ALL``."""
        seen = visibility(tenant_id, bool(all_tenants))
        policy.authorize(pecan.request.context, "report:get_summary",
                         seen.target())
        begin, end = report_window(begin, end)
        backend = storage()
        storage_groupby = _summary_groupby(groupby, backend.scope_key)
        if seen.nothing:
            return models.SummaryCollectionModel(summary=[])
        result = backend.total(groupby=storage_groupby, begin=begin,
                               end=end, metric_types=service or None,
                               filters=seen.filters(backend.scope_key),
                               paginate=False)
        return models.SummaryCollectionModel(summary=[
            models.SummaryModel.from_row(row, backend.scope_key)
            for row in result["results"]])
