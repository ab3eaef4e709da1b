"""``total()`` for a backend with rollups: checked once, then answered
from the rollups when they cover the request, else from the raw points.

:class:`RollupTotals` is mixed into a :class:`BaseStorage` subclass (before
it in the bases, so its ``total`` wins over the abstract one). The backend
supplies ``rollups`` (a :class:`RollupStore`), :meth:`_rollup_session` and
:meth:`_raw_total`, which receives a :class:`TotalRequest` already
validated and normalized.
"""
from __future__ import annotations

import abc
import datetime
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy.orm import Session

from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2 import custom_fields as custom_fields_mod

if TYPE_CHECKING:
    from cloudkitty.storage.v2.rollups import RollupStore


class TotalRequest(NamedTuple):
    """The arguments of :meth:`BaseStorage.total`, checked and normalized."""

    #: :func:`base.normalize_groupby` (``time-x`` rewritten, no duplicate).
    groupby: list[str]
    begin: datetime.datetime | None
    end: datetime.datetime | None
    metric_types: list[str] | None
    filters: dict[str, list[str]]
    fields: tuple[custom_fields_mod.Aggregate, ...]
    #: As given (None: the default qty and rate).
    custom_fields: str | None
    offset: int
    limit: int
    paginate: bool


def result_keys(groupby: Sequence[str]) -> list[str]:
    """The keys a result row holds for ``groupby`` (``time`` gives
    ``begin`` and ``end``)."""
    return [key for element in groupby
            for key in (("begin", "end") if element == "time"
                        else (element,))]


def total_request(groupby: Sequence[str] | None = None,
                  begin: datetime.datetime | None = None,
                  end: datetime.datetime | None = None,
                  metric_types: str | Sequence[str] | None = None,
                  filters: base.Filters | None = None,
                  custom_fields: str | None = None,
                  offset: int = 0, limit: int = 1000,
                  paginate: bool = True) -> TotalRequest:
    """Check the arguments of ``total()``, in the order every backend
    reports errors: ``custom_fields``, the page, ``groupby`` (its
    elements, then the field names against it), ``filters``."""
    fields = custom_fields_mod.parse(custom_fields)
    base.check_page(offset, limit if paginate else None)
    keys = base.normalize_groupby(groupby)
    custom_fields_mod.check_names(fields, result_keys(keys),
                                  given=custom_fields is not None)
    return TotalRequest(keys, begin, end,
                        base.normalize_metric_types(metric_types),
                        base.normalize_filters(filters), fields,
                        custom_fields, offset, limit, paginate)


class RollupTotals(abc.ABC):
    """``total()`` and ``raw_total()`` of a backend keeping rollups."""

    #: The backend's rollup store (an attribute or a property).
    rollups: RollupStore

    @abc.abstractmethod
    def _rollup_session(self) -> AbstractContextManager[Session]:
        """A session on the rollups' database (committed on exit, errors
        turned into StorageError)."""

    @abc.abstractmethod
    def _raw_total(self, request: TotalRequest) -> base.TotalResult:
        """``total()`` summed from the stored points themselves."""

    def total(self, groupby: Sequence[str] | None = None,
              begin: datetime.datetime | None = None,
              end: datetime.datetime | None = None,
              metric_types: str | Sequence[str] | None = None,
              filters: base.Filters | None = None,
              custom_fields: str | None = None,
              offset: int = 0, limit: int = 1000,
              paginate: bool = True) -> base.TotalResult:
        """See :meth:`BaseStorage.total`: from the rollups when they cover
        the request (:meth:`RollupStore.covers`), else
        :meth:`raw_total`; both give the same answer."""
        request = total_request(groupby, begin, end, metric_types, filters,
                                custom_fields, offset, limit, paginate)
        if not self.rollups.covers(request.groupby, request.filters,
                                   request.metric_types, begin, end):
            return self._raw_total(request)
        with self._rollup_session() as session:
            return self.rollups.total(
                session, request.groupby, begin, end, request.metric_types,
                request.filters, custom_fields, offset, limit, paginate)

    def raw_total(self, groupby: Sequence[str] | None = None,
                  begin: datetime.datetime | None = None,
                  end: datetime.datetime | None = None,
                  metric_types: str | Sequence[str] | None = None,
                  filters: base.Filters | None = None,
                  custom_fields: str | None = None,
                  offset: int = 0, limit: int = 1000,
                  paginate: bool = True) -> base.TotalResult:
        """:meth:`total` from the stored points, never the rollups (the
        reference the rollups are checked against)."""
        return self._raw_total(total_request(
            groupby, begin, end, metric_types, filters, custom_fields,
            offset, limit, paginate))
