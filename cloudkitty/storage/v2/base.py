"""Contract of a v2 storage backend, and the argument rules all share.

Shapes (every backend returns exactly these):

* ``retrieve()`` → ``{"total": int, "dataframes": [DataFrame]}``: total
  is the number of stored points matching, before pagination; the page's
  points are regrouped into one frame per stored period, in period order.
* ``total()`` → ``{"total": int, "results": [row]}``: total is the number
  of rows before pagination; each row is a dict with ``begin``, ``end``
  (aware UTC datetimes), ``qty``, ``rate`` (Decimals) and one key per
  groupby element (``time`` adds no key: it makes ``begin``/``end`` the
  stored period instead of the query window). With ``custom_fields``,
  the fields it names replace ``qty`` and ``rate``, in its order.

Arguments:

* ``begin``/``end``: datetimes (aware, or naive = UTC); a point is in the
  window when its period starts in ``[begin, end)``; None = unbounded.
* ``filters``: ``{key: value or [values]}``; a list matches any of its
  values; keys are AND-ed. Key ``type`` is the metric type, any other key
  is looked up in the point's groupby, then its metadata. Values compare
  as strings.
* ``metric_types``: a type or a list of types.
* ``groupby``: groupby keys, ``type``, ``time`` and ``time-d``/``-w``/
  ``-m``/``-y`` (see :func:`normalize_groupby`).
* ``custom_fields``: the aggregates of each row, in the small language of
  :mod:`cloudkitty.storage.v2.custom_fields` (sums and counts of ``qty``
  and ``price``, each named), e.g. ``SUM(price) AS rate, COUNT(qty) AS
  n``; None means ``SUM(qty) AS qty, SUM(price) AS rate``. Anything else
  raises InvalidInput naming ``custom_fields``, as does a name that is
  also a groupby key.
* ``offset``/``limit`` apply when ``paginate`` is true.
"""
from __future__ import annotations

import abc
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple, TypedDict

from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.storage import state as state_api

__all__ = ["BaseStorage", "RetrieveResult", "TotalResult", "Filters",
           "normalize_groupby", "normalize_filters",
           "normalize_metric_types", "check_page", "check_progress",
           "TIME_GROUPBY", "UNCHECKED", "ScopePeriod", "ProgressSplit",
           "split_stale",
           "state_before"]

#: ``{key: value or [values]}``.
Filters = Mapping[str, Any]

#: The time shorthands of ``groupby`` and the collector keys they mean.
TIME_GROUPBY = {
    "time-d": "day_of_the_year",
    "time-w": "week_of_the_year",
    "time-m": "month",
    "time-y": "year",
}


class RetrieveResult(TypedDict):
    total: int
    dataframes: list[DataFrame]


class TotalResult(TypedDict):
    total: int
    results: list[dict[str, Any]]


def normalize_groupby(groupby: Iterable[str] | None) -> list[str]:
    """Groupby elements with ``time-x`` shorthands rewritten, duplicates
    dropped, order kept. Any other ``time-...`` raises InvalidInput
    naming ``groupby``."""
    result: list[str] = []
    for element in groupby or ():
        if not isinstance(element, str) or not element:
            raise exceptions.InvalidInput(
                "groupby elements must be non-empty strings.",
                field="groupby")
        if element.startswith("time-"):
            if element not in TIME_GROUPBY:
                raise exceptions.InvalidInput(
                    f"Invalid groupby time option '{element}'. Valid "
                    f"options are time, {', '.join(TIME_GROUPBY)}.",
                    field="groupby")
            element = TIME_GROUPBY[element]
        if element not in result:
            result.append(element)
    return result


def normalize_filters(filters: Filters | None) -> dict[str, list[str]]:
    """``{key: [str values]}``; scalar values become one-item lists."""
    result: dict[str, list[str]] = {}
    for key, value in (filters or {}).items():
        if not isinstance(key, str) or not key:
            raise exceptions.InvalidInput(
                "filter keys must be non-empty strings.", field="filters")
        values = (list(value) if isinstance(value, (list, tuple, set,
                                                    frozenset))
                  else [value])
        result[key] = [str(v) for v in values]
    return result


def normalize_metric_types(
        metric_types: str | Iterable[str] | None) -> list[str] | None:
    if metric_types is None:
        return None
    if isinstance(metric_types, str):
        return [metric_types]
    return [str(t) for t in metric_types]


def check_page(offset: int, limit: int | None) -> None:
    if offset < 0:
        raise exceptions.InvalidInput("'offset' must be >= 0.",
                                      field="offset")
    if limit is not None and limit < 1:
        raise exceptions.InvalidInput("'limit' must be >= 1.", field="limit")


#: ``replace_scope_period(expected=UNCHECKED)``: do not compare progress.
UNCHECKED: Final = object()


class ScopePeriod(NamedTuple):
    """One scope's part of :meth:`BaseStorage.replace_scope_periods`: its
    rated frames and the progress they were collected at (see
    ``expected`` of :meth:`BaseStorage.replace_scope_period`)."""

    scope_id: str
    frames: Sequence[DataFrame]
    expected: datetime.datetime | None | object = UNCHECKED


def check_progress(conf: cfg.ConfigOpts, scope_id: str,
                   schedule_id: int | None,
                   expected: datetime.datetime | None | object,
                   session: Any = None, engine: Any = None) -> None:
    """Raise :class:`StaleProgress` unless the scope's progress (state, or
    schedule ``schedule_id``) equals ``expected``; see
    :meth:`BaseStorage.replace_scope_period`."""
    if expected is UNCHECKED:
        return
    if schedule_id is None:
        current = state_api.StateManager(conf, engine) \
            .get_last_processed_timestamp(scope_id, session=session,
                                          for_update=True)
        what = f"scope '{scope_id}' state"
    else:
        current = state_api.ReprocessingSchedules(conf, engine) \
            .get_current_time(schedule_id, session=session, for_update=True)
        what = f"reprocessing schedule {schedule_id}"
    if current != expected:
        raise exceptions.StaleProgress(
            f"The {what} is at {current}, not at {expected} as when the "
            f"frame was collected; the frame was dropped.")


class ProgressSplit(NamedTuple):
    """What :func:`split_stale` found."""

    #: Ids of the scopes whose state is not their ``expected``.
    stale: list[str]
    #: The items of the other scopes, in order.
    fresh: list[ScopePeriod]
    #: Ids of the scopes that have a state row.
    present: set[str]


def split_stale(manager: state_api.StateManager,
                items: Sequence[ScopePeriod], session: Any) -> ProgressSplit:
    """:func:`check_progress` for the scope states of many scopes at once,
    their rows locked in ``session``."""
    current = manager.get_last_processed_timestamps(
        [item.scope_id for item in items], session=session, for_update=True)
    stale = [item.scope_id for item in items
             if item.expected is not UNCHECKED
             and current[item.scope_id] != item.expected]
    skipped = set(stale)
    return ProgressSplit(
        stale, [item for item in items if item.scope_id not in skipped],
        {scope for scope, value in current.items() if value is not None})


class BaseStorage(abc.ABC):
    """A v2 storage backend, built with the parsed configuration."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    @property
    def scope_key(self) -> str:
        return self.conf.collect.scope_key

    def get_retention(self) -> datetime.timedelta:
        """``[storage]retention_period`` (declared, not enforced)."""
        return datetime.timedelta(hours=self.conf.storage.retention_period)

    @abc.abstractmethod
    def init(self) -> None:
        """Check or create what the backend needs (run by
        ``cloudkitty-storage-init``); raises StorageError if unusable."""

    @abc.abstractmethod
    def push(self, frames: Iterable[DataFrame],
             scope_id: str | None = None) -> None:
        """Append every point of ``frames``. Never deduplicates: pushing
        the same point twice stores it twice."""

    @abc.abstractmethod
    def retrieve(self, begin: datetime.datetime | None = None,
                 end: datetime.datetime | None = None,
                 filters: Filters | None = None,
                 metric_types: str | Sequence[str] | None = None,
                 offset: int = 0, limit: int = 1000,
                 paginate: bool = True) -> RetrieveResult:
        """Stored points as frames; see the module docstring."""

    @abc.abstractmethod
    def total(self, groupby: Sequence[str] | None = None,
              begin: datetime.datetime | None = None,
              end: datetime.datetime | None = None,
              metric_types: str | Sequence[str] | None = None,
              filters: Filters | None = None,
              custom_fields: str | None = None,
              offset: int = 0, limit: int = 1000,
              paginate: bool = True) -> TotalResult:
        """Summed qty and rate (or ``custom_fields``) per group; see the
        module docstring.

        Without groupby there is one row, or none if nothing matched.
        Every backend must accept the whole ``custom_fields`` language
        (:func:`cloudkitty.storage.v2.custom_fields.parse` validates it).
        """

    @abc.abstractmethod
    def delete(self, begin: datetime.datetime | None = None,
               end: datetime.datetime | None = None,
               filters: Filters | None = None) -> None:
        """Remove the points of the window matching ``filters``."""

    def replace_scope_period(
            self, scope_id: str, begin: datetime.datetime,
            end: datetime.datetime, frames: Iterable[DataFrame], *,
            schedule_id: int | None = None,
            expected: datetime.datetime | None | object = UNCHECKED,
    ) -> None:
        """The processor's unit of work for one scope-period.

        Deletes the scope's points (``[collect]scope_key`` = ``scope_id``)
        of ``[begin, end)``, pushes ``frames``, then records progress:
        the scope state's ``last_processed_timestamp = begin``, or, with
        ``schedule_id``, that reprocessing schedule's current time. Running
        it twice for the same period stores the period once.

        This default suits backends without transactions: each step is
        idempotent and progress is recorded only after the data is written.
        SQL backends override it to do all of it in one transaction.

        ``expected`` (when given) is the progress the caller based the
        frames on: the scope's ``last_processed_timestamp`` (None when the
        scope had no state), or the schedule's current time. If progress
        is elsewhere now, :class:`StaleProgress` is raised and nothing is
        written.
        """
        check_progress(self.conf, scope_id, schedule_id, expected)
        self.delete(begin, end, {self.scope_key: scope_id})
        self.push(frames, scope_id)
        if schedule_id is None:
            state_api.StateManager(self.conf).set_last_processed_timestamp(
                scope_id, begin)
        else:
            state_api.ReprocessingSchedules(self.conf).set_current_time(
                schedule_id, begin)

    def replace_scope_periods(self, begin: datetime.datetime,
                              end: datetime.datetime,
                              items: Sequence[ScopePeriod]) -> list[str]:
        """:meth:`replace_scope_period` for many scopes and one period
        (scope states only, no reprocessing schedule): the processor's
        bulk write.

        Each scope is all or nothing, as in :meth:`replace_scope_period`;
        a scope whose progress is not its ``expected`` gets nothing
        written and the others are stored anyway. Returns the ids of those
        stale scopes. This default stores the scopes one by one; SQL
        backends override it to store them all in one transaction with
        bulk statements.
        """
        stale: list[str] = []
        for item in items:
            try:
                self.replace_scope_period(item.scope_id, begin, end,
                                          item.frames,
                                          expected=item.expected)
            except exceptions.StaleProgress:
                stale.append(item.scope_id)
        return stale

    def reset_scope(self, scope_id: str, timestamp: datetime.datetime,
                    scope_key: str | None = None, fetcher: str | None = None,
                    collector: str | None = None) -> None:
        """Forget a scope's rated data from ``timestamp`` on, so that
        rating resumes with the period starting at ``timestamp`` (the
        processor's ``reset_state`` RPC, ``PUT /v2/scope``).

        The state records the start of the last rated period, so it is set
        to the period before ``timestamp``. (Upstream sets it to
        ``timestamp`` itself, after deleting that period's data, which
        loses the period for good.)
        """
        manager = state_api.StateManager(self.conf)
        key = scope_key or manager.current_keys()[0]
        self.delete(timestamp, None, {key: scope_id})
        manager.set_last_processed_timestamp(
            scope_id, state_before(self.conf, timestamp), key, fetcher,
            collector)


def state_before(conf: cfg.ConfigOpts, timestamp: datetime.datetime
                 ) -> datetime.datetime:
    """The state that makes ``timestamp`` the next period to rate."""
    return timestamp - datetime.timedelta(seconds=conf.collect.period)
