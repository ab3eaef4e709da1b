"""Scope state and reprocessing schedule access.

A scope's state row is keyed by ``(scope_id, scope_key, fetcher,
collector)``; where a method takes those three optional arguments, None
means "the value configured for this process" (``[collect]scope_key``,
``[fetcher]backend``, ``[collect]collector``), except in the listing
filters, where None means "any".

Adoption rule: rows written by old releases have NULL scope_key, fetcher or
collector. The first access to such a row fills the NULLs with the
configured values, unless a complete row with those values already exists
(then the old row is left alone and ignored by lookups).

Datetimes: arguments may be aware (any zone) or naive (UTC); results are
aware UTC. Every method opens its own transaction unless ``session`` is
given, which lets the storage backend put a state change in the same
transaction as its data (see ``BaseStorage.replace_scope_period``).
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.db.models.storage_state import ReprocessingSchedule, ScopeState
from cloudkitty.storage import _time

__all__ = ["ScopeStateRecord", "ScheduleRecord", "StateManager",
           "ReprocessingSchedules"]

#: Scope ids per statement of the bulk methods.
_BULK = 500

@dataclasses.dataclass(frozen=True)
class ScopeStateRecord:
    """One row of the scope state table (datetimes aware UTC)."""

    scope_id: str
    scope_key: str | None
    fetcher: str | None
    collector: str | None
    last_processed_timestamp: datetime.datetime
    active: bool
    scope_activation_toggle_date: datetime.datetime

    @classmethod
    def from_row(cls, row: ScopeState) -> ScopeStateRecord:
        return cls(row.identifier, row.scope_key, row.fetcher, row.collector,
                   _time.from_db(row.last_processed_timestamp),
                   bool(row.active),
                   _time.from_db(row.scope_activation_toggle_date))


@dataclasses.dataclass(frozen=True)
class ScheduleRecord:
    """One reprocessing schedule (datetimes aware UTC)."""

    id: int
    scope_id: str
    start_reprocess_time: datetime.datetime
    end_reprocess_time: datetime.datetime
    current_reprocess_time: datetime.datetime | None
    reason: str

    @property
    def finished(self) -> bool:
        return (self.current_reprocess_time is not None
                and self.current_reprocess_time >= self.end_reprocess_time)

    @classmethod
    def from_row(cls, row: ReprocessingSchedule) -> ScheduleRecord:
        return cls(row.id, row.identifier,
                   _time.from_db(row.start_reprocess_time),
                   _time.from_db(row.end_reprocess_time),
                   _time.from_db_or_none(row.current_reprocess_time),
                   row.reason)


def _as_list(value: Any) -> list[Any] | None:
    """None stays None (no filter); a scalar becomes a one-item list."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, bool, int)):
        return [value]
    return list(value)


def _page(query: sa.Select[Any], offset: int,
          limit: int | None) -> sa.Select[Any]:
    if offset < 0:
        raise exceptions.InvalidInput("'offset' must be >= 0.",
                                      field="offset")
    if limit is not None and limit < 1:
        raise exceptions.InvalidInput("'limit' must be >= 1.", field="limit")
    query = query.offset(offset) if offset else query
    return query.limit(limit) if limit is not None else query


class _Base:
    def __init__(self, conf: cfg.ConfigOpts,
                 engine: sa.Engine | None = None) -> None:
        self._conf = conf
        self._engine = engine if engine is not None else \
            db_api.get_engine(conf)

    @contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
            return
        with db_api.session_scope(self._engine) as new:
            yield new


class StateManager(_Base):
    """Read and write where rating stands for each scope."""

    def current_keys(self) -> tuple[str, str, str]:
        """``(scope_key, fetcher, collector)`` of this configuration."""
        return (self._conf.collect.scope_key, self._conf.fetcher.backend,
                self._conf.collect.collector)

    def _keys(self, scope_key: str | None, fetcher: str | None,
              collector: str | None) -> tuple[str, str, str]:
        key, fet, col = self.current_keys()
        return scope_key or key, fetcher or fet, collector or col

    def _adopt(self, session: Session,
               scope_ids: Sequence[str] | None = None) -> None:
        key, fetcher, collector = self.current_keys()
        query = sa.select(ScopeState).where(sa.or_(
            ScopeState.scope_key.is_(None), ScopeState.fetcher.is_(None),
            ScopeState.collector.is_(None)))
        if scope_ids is not None:
            query = query.where(ScopeState.identifier.in_(scope_ids))
        for row in session.scalars(query).all():
            filled = (row.scope_key or key, row.fetcher or fetcher,
                      row.collector or collector)
            if self._find(session, row.identifier, *filled) is None:
                row.scope_key, row.fetcher, row.collector = filled
                session.flush()

    @staticmethod
    def _find(session: Session, scope_id: str, scope_key: str,
              fetcher: str, collector: str,
              for_update: bool = False) -> ScopeState | None:
        query = sa.select(ScopeState).where(
            ScopeState.identifier == scope_id,
            ScopeState.scope_key == scope_key,
            ScopeState.fetcher == fetcher,
            ScopeState.collector == collector)
        if for_update:
            query = query.with_for_update()
        return session.scalars(query).first()

    def _get_row(self, session: Session, scope_id: str,
                 scope_key: str | None, fetcher: str | None,
                 collector: str | None,
                 for_update: bool = False) -> ScopeState | None:
        self._adopt(session, [scope_id])
        return self._find(session, scope_id,
                          *self._keys(scope_key, fetcher, collector),
                          for_update=for_update)

    def get_state(self, scope_id: str, scope_key: str | None = None,
                  fetcher: str | None = None, collector: str | None = None,
                  *, session: Session | None = None
                  ) -> ScopeStateRecord | None:
        """The state row of one scope, or None if it was never rated."""
        with self._session(session) as s:
            row = self._get_row(s, scope_id, scope_key, fetcher, collector)
            return None if row is None else ScopeStateRecord.from_row(row)

    def get_last_processed_timestamp(
            self, scope_id: str, scope_key: str | None = None,
            fetcher: str | None = None, collector: str | None = None,
            *, session: Session | None = None,
            for_update: bool = False) -> datetime.datetime | None:
        """Start of the last period rated for the scope, or None.

        ``for_update`` locks the row until ``session`` ends (databases
        that lock rows)."""
        with self._session(session) as s:
            row = self._get_row(s, scope_id, scope_key, fetcher, collector,
                                for_update=for_update)
            if row is None or row.last_processed_timestamp is None:
                return None
            return _time.from_db(row.last_processed_timestamp)

    def set_last_processed_timestamp(
            self, scope_id: str, timestamp: datetime.datetime,
            scope_key: str | None = None, fetcher: str | None = None,
            collector: str | None = None, *,
            session: Session | None = None) -> None:
        """Record ``timestamp`` as the scope's last rated period start,
        creating the state row (active) if there is none."""
        with self._session(session) as s:
            row = self._get_row(s, scope_id, scope_key, fetcher, collector)
            if row is None:
                key, fet, col = self._keys(scope_key, fetcher, collector)
                row = ScopeState(identifier=scope_id, scope_key=key,
                                 fetcher=fet, collector=col, active=True,
                                 scope_activation_toggle_date=_time.utcnow())
                s.add(row)
            row.last_processed_timestamp = _time.to_db(timestamp)
            s.flush()

    def get_last_processed_timestamps(
            self, scope_ids: Sequence[str], *, session: Session,
            for_update: bool = False
    ) -> dict[str, datetime.datetime | None]:
        """:meth:`get_last_processed_timestamp` of many scopes (configured
        keys) in a few statements; ``for_update`` locks the rows, in scope
        id order so that concurrent callers cannot deadlock."""
        result: dict[str, datetime.datetime | None] = dict.fromkeys(
            scope_ids)
        ids = sorted(set(scope_ids))
        key, fetcher, collector = self.current_keys()
        for start in range(0, len(ids), _BULK):
            chunk = ids[start:start + _BULK]
            self._adopt(session, chunk)
            query = sa.select(ScopeState.identifier,
                              ScopeState.last_processed_timestamp).where(
                ScopeState.identifier.in_(chunk),
                ScopeState.scope_key == key, ScopeState.fetcher == fetcher,
                ScopeState.collector == collector,
            ).order_by(ScopeState.identifier)
            if for_update:
                query = query.with_for_update()
            for identifier, timestamp in session.execute(query):
                result[identifier] = _time.from_db_or_none(timestamp)
        return result

    def set_last_processed_timestamps(
            self, scope_ids: Sequence[str], timestamp: datetime.datetime,
            *, session: Session, present: Collection[str] | None = None
    ) -> None:
        """:meth:`set_last_processed_timestamp` of many scopes (configured
        keys) to one timestamp: one UPDATE per chunk, one INSERT for the
        scopes without a row.

        ``present``: given when the caller read every scope of
        ``scope_ids`` with :meth:`get_last_processed_timestamps` in this
        session (which adopted legacy rows): the scopes known to have a
        row. Then only the others are looked up, and nothing when all are
        known: the steady-state update is one statement."""
        ids = sorted(set(scope_ids))
        key, fetcher, collector = self.current_keys()
        value = _time.to_db(timestamp)
        for start in range(0, len(ids), _BULK):
            chunk = ids[start:start + _BULK]
            if present is None:
                self._adopt(session, chunk)
            match = (ScopeState.identifier.in_(chunk),
                     ScopeState.scope_key == key,
                     ScopeState.fetcher == fetcher,
                     ScopeState.collector == collector)
            session.execute(sa.update(ScopeState).where(*match).values(
                last_processed_timestamp=value),
                execution_options={"synchronize_session": False})
            unknown = chunk if present is None else [
                i for i in chunk if i not in present]
            if not unknown:
                continue
            found = set(session.scalars(sa.select(ScopeState.identifier)
                                        .where(*match[1:]).where(
                ScopeState.identifier.in_(unknown))))
            missing = [i for i in unknown if i not in found]
            if missing:
                now = _time.utcnow()
                session.execute(sa.insert(ScopeState), [
                    {"identifier": i, "scope_key": key, "fetcher": fetcher,
                     "collector": collector, "active": True,
                     "last_processed_timestamp": value,
                     "scope_activation_toggle_date": now}
                    for i in missing])

    def is_active(self, scope_id: str, scope_key: str | None = None,
                  fetcher: str | None = None,
                  collector: str | None = None) -> bool:
        """False only for a scope whose state exists and is deactivated."""
        state = self.get_state(scope_id, scope_key, fetcher, collector)
        return True if state is None else state.active

    def list_states(
            self, scope_id: str | Iterable[str] | None = None,
            scope_key: str | Iterable[str] | None = None,
            fetcher: str | Iterable[str] | None = None,
            collector: str | Iterable[str] | None = None,
            active: bool | Iterable[bool] | None = None,
            offset: int = 0, limit: int | None = None,
    ) -> list[ScopeStateRecord]:
        """State rows matching every given filter (each filter may list
        several values, any of which matches), ordered by scope id."""
        filters: list[tuple[Any, list[Any] | None]] = [
            (ScopeState.identifier, _as_list(scope_id)),
            (ScopeState.scope_key, _as_list(scope_key)),
            (ScopeState.fetcher, _as_list(fetcher)),
            (ScopeState.collector, _as_list(collector)),
        ]
        actives = _as_list(active)
        with db_api.session_scope(self._engine) as s:
            self._adopt(s, filters[0][1])
            query = sa.select(ScopeState)
            for column, values in filters:
                if values is not None:
                    query = query.where(column.in_(values))
            if actives is not None:
                query = query.where(
                    ScopeState.active.in_([bool(v) for v in actives]))
            query = query.order_by(ScopeState.identifier, ScopeState.id)
            rows = s.scalars(_page(query, offset, limit)).all()
            return [ScopeStateRecord.from_row(row) for row in rows]

    def create_state(self, scope_id: str,
                     last_processed_timestamp: datetime.datetime,
                     scope_key: str | None = None, fetcher: str | None = None,
                     collector: str | None = None,
                     active: bool = True) -> ScopeStateRecord:
        """Add a scope; :class:`Conflict` if the scope id already has a
        state row (whatever its keys)."""
        key, fet, col = self._keys(scope_key, fetcher, collector)
        message = "Cannot create a scope with an already existing scope_id"
        try:
            with db_api.session_scope(self._engine) as s:
                exists = s.scalar(sa.select(ScopeState.id).where(
                    ScopeState.identifier == scope_id).limit(1))
                if exists is not None:
                    raise exceptions.Conflict(message, field="scope_id")
                row = ScopeState(
                    identifier=scope_id, scope_key=key, fetcher=fet,
                    collector=col, active=active,
                    last_processed_timestamp=_time.to_db(
                        last_processed_timestamp),
                    scope_activation_toggle_date=_time.utcnow())
                s.add(row)
                s.flush()
                s.refresh(row)  # what the database kept (MySQL: seconds)
                return ScopeStateRecord.from_row(row)
        except sa.exc.IntegrityError:
            # A concurrent creator won the race on the unique constraint.
            raise exceptions.Conflict(message, field="scope_id") from None

    def update_state(self, scope_id: str, *, scope_key: str | None = None,
                     fetcher: str | None = None,
                     collector: str | None = None,
                     active: bool | None = None) -> ScopeStateRecord:
        """Give the one row of ``scope_id`` new values (``PATCH
        /v2/scope``): each non-empty argument replaces the row's value;
        toggling ``active`` stamps ``scope_activation_toggle_date``.

        :class:`NotFound` if the scope id has no row, or several (one per
        scope_key/fetcher/collector: which one to change is ambiguous).
        """
        with db_api.session_scope(self._engine) as s:
            self._adopt(s, [scope_id])
            rows = s.scalars(sa.select(ScopeState).where(
                ScopeState.identifier == scope_id).limit(2)).all()
            if not rows:
                raise exceptions.NotFound(
                    f"No scope found with scope_id '{scope_id}'.",
                    field="scope_id")
            if len(rows) > 1:
                raise exceptions.NotFound(
                    f"Several scopes have scope_id '{scope_id}' (one per "
                    f"scope_key, fetcher and collector); cannot choose "
                    f"which to change.", field="scope_id")
            row = rows[0]
            if scope_key:
                row.scope_key = scope_key
            if fetcher:
                row.fetcher = fetcher
            if collector:
                row.collector = collector
            if active is not None and bool(row.active) != active:
                row.active = active
                row.scope_activation_toggle_date = _time.utcnow()
            s.flush()
            s.refresh(row)
            return ScopeStateRecord.from_row(row)


class ReprocessingSchedules(_Base):
    """Windows of scopes to rate again (``storage_scope_reprocessing_
    schedule``). A schedule is finished once its current time reached its
    end."""

    def create(self, scope_ids: str | Iterable[str],
               start: datetime.datetime, end: datetime.datetime,
               reason: str) -> list[ScheduleRecord]:
        """One schedule per scope id, in one transaction."""
        ids = _as_list(scope_ids) or []
        if end < start:
            raise exceptions.InvalidInput(
                "'end_reprocess_time' is before 'start_reprocess_time'.",
                field="end_reprocess_time")
        with db_api.session_scope(self._engine) as s:
            rows = [ReprocessingSchedule(
                identifier=scope_id, start_reprocess_time=_time.to_db(start),
                end_reprocess_time=_time.to_db(end), reason=reason)
                for scope_id in ids]
            s.add_all(rows)
            s.flush()
            return [ScheduleRecord.from_row(row) for row in rows]

    def list_schedules(self, scope_ids: str | Iterable[str] | None = None,
             order: str = "desc", offset: int = 0,
             limit: int | None = None) -> list[ScheduleRecord]:
        """Schedules (finished ones included) ordered by id; ``order`` is
        ``asc`` or ``desc`` (any case)."""
        direction = (order or "").lower()
        if direction not in ("asc", "desc"):
            raise exceptions.InvalidInput(
                f"Invalid order '{order}': use 'asc' or 'desc'.",
                field="order")
        column = ReprocessingSchedule.id
        query = sa.select(ReprocessingSchedule).order_by(
            column.asc() if direction == "asc" else column.desc())
        ids = _as_list(scope_ids)
        if ids is not None:
            query = query.where(ReprocessingSchedule.identifier.in_(ids))
        with db_api.session_scope(self._engine) as s:
            rows = s.scalars(_page(query, offset, limit)).all()
            return [ScheduleRecord.from_row(row) for row in rows]

    def get_unfinished(self, scope_ids: str | Iterable[str] | None = None
                       ) -> list[ScheduleRecord]:
        """Schedules whose current time is unset or before their end,
        oldest first."""
        table = ReprocessingSchedule
        query = sa.select(table).where(sa.or_(
            table.current_reprocess_time.is_(None),
            table.current_reprocess_time < table.end_reprocess_time,
        )).order_by(table.id)
        ids = _as_list(scope_ids)
        if ids is not None:
            query = query.where(table.identifier.in_(ids))
        with db_api.session_scope(self._engine) as s:
            return [ScheduleRecord.from_row(row)
                    for row in s.scalars(query).all()]

    def get_current_time(self, schedule_id: int, *,
                         session: Session | None = None,
                         for_update: bool = False
                         ) -> datetime.datetime | None:
        """Start of the last period reprocessed by a schedule (None before
        the first); ``for_update`` locks the row until ``session`` ends."""
        with self._session(session) as s:
            query = sa.select(ReprocessingSchedule).where(
                ReprocessingSchedule.id == schedule_id)
            if for_update:
                query = query.with_for_update()
            row = s.scalars(query).first()
            if row is None:
                raise exceptions.NotFound(
                    f"No reprocessing schedule with id {schedule_id}.",
                    field="id")
            return _time.from_db_or_none(row.current_reprocess_time)

    def set_current_time(self, schedule_id: int,
                         timestamp: datetime.datetime, *,
                         session: Session | None = None) -> None:
        """Record the start of the last period reprocessed by a schedule."""
        with self._session(session) as s:
            row = s.get(ReprocessingSchedule, schedule_id)
            if row is None:
                raise exceptions.NotFound(
                    f"No reprocessing schedule with id {schedule_id}.",
                    field="id")
            row.current_reprocess_time = _time.to_db(timestamp)
            s.flush()
