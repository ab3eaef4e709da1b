"""The ``sqlalchemy`` v2 storage backend: rated data in ``[database]``.

Runs on SQLite (embedded default), PostgreSQL and MySQL/MariaDB; the table
is created by the alembic tree (``cloudkitty-dbsync upgrade`` or
``cloudkitty-storage-init``). Table layout and money handling: see
:mod:`cloudkitty.storage.v2.sqlalchemy.models`.

Every write keeps the rollups (:mod:`cloudkitty.storage.v2.rollups`) exact
in its own transaction; ``total()`` (:class:`RollupTotals`) answers from
them when they cover the request and from the rated rows otherwise
(``raw_total()``).
"""
from __future__ import annotations

import datetime
import decimal
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataFrameBuilder, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.storage import _time
from cloudkitty.storage import state as state_api
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2 import custom_fields as custom_fields_mod
from cloudkitty.storage.v2 import rollups as rollups_mod

# The submodule: rollups imports this package's models (and so this module).
from cloudkitty.storage.v2.rollups._totals import RollupTotals, TotalRequest
from cloudkitty.storage.v2.sqlalchemy import _bulk, _query
from cloudkitty.storage.v2.sqlalchemy.models import (
    ROLLUP_TIME_KEYS,
    TABLE_NAME,
    RollupDay,
    RollupPeriod,
)

#: Values per IN list.
_IN_CHUNK = 1000
#: Tries of a write transaction the database chose as a deadlock victim.
_ATTEMPTS = 5
#: PostgreSQL deadlock and serialization failures; MySQL/MariaDB deadlock.
_PG_RETRY = frozenset({"40P01", "40001"})
_MYSQL_RETRY = frozenset({1213})
_T = TypeVar("_T")


def _is_deadlock(error: BaseException | None) -> bool:
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    orig = error.orig
    if getattr(orig, "pgcode", None) in _PG_RETRY:
        return True
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    return bool(args) and args[0] in _MYSQL_RETRY


class SQLAlchemyStorage(RollupTotals, base.BaseStorage):
    """v2 storage in the relational database of ``[database]connection``.

    Every public method is one transaction; errors of the database become
    :class:`cloudkitty.exceptions.StorageError`.
    """

    def __init__(self, conf: cfg.ConfigOpts,
                 engine: sa.Engine | None = None) -> None:
        super().__init__(conf)
        self.engine = engine if engine is not None else \
            db_api.get_engine(conf)
        self.dialect = self.engine.dialect.name
        self.rollups = rollups_mod.RollupStore(conf, self.engine)

    # -- plumbing ---------------------------------------------------------
    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with db_api.session_scope(self.engine) as session:
                # Registered per use: the engine is shared and may hold
                # connections opened before this backend existed.
                rollups_mod.prepare_sqlite(session)
                yield session
        except sa.exc.DBAPIError as exc:
            raise exceptions.StorageError(
                f"SQL storage failed: {exc.orig}") from exc

    def _write(self, work: Callable[[Session], _T]) -> _T:
        """Run ``work`` in one transaction, again (after a short random
        pause) when the database rolled it back to break a deadlock:
        writers of different scopes may meet on index gaps (MariaDB) or
        on shared rollup rows."""
        for attempt in range(_ATTEMPTS):
            try:
                with self._session() as session:
                    return work(session)
            except exceptions.StorageError as exc:
                if attempt + 1 == _ATTEMPTS or not _is_deadlock(
                        exc.__cause__):
                    raise
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
        raise AssertionError("unreachable")

    def _prepare(self, items: Iterable[tuple[Iterable[DataFrame],
                                             str | None]]
                 ) -> _bulk.Prepared:
        return _bulk.prepare(items, self.scope_key, self.engine.dialect)

    def _insert(self, session: Session, frames: Iterable[DataFrame],
                scope_id: str | None) -> None:
        """Insert the rated rows of ``frames`` (no rollups)."""
        _bulk.insert(session, self._prepare([(frames, scope_id)]))

    def _raw_sums(self, session: Session,
                  clauses: Sequence[sa.ColumnElement[bool]]
                  ) -> list[rollups_mod.PeriodSum]:
        """Rollup ledger sums of the stored rows matching ``clauses``."""
        c = _query.COLUMNS
        inner = sa.select(
            c.scope_id, c.type, c.begin, c.end,
            *[_query.json_text(c.groupby, key).label(key)
              for key in ROLLUP_TIME_KEYS],
            c.qty, c.price).where(*clauses).subquery()
        keys = [inner.c[name] for name in
                ("scope_id", "type", "begin", "end", *ROLLUP_TIME_KEYS)]
        query = sa.select(
            *keys, _query.money_sum(self.dialect, inner.c.qty),
            _query.money_sum(self.dialect, inner.c.price),
            sa.func.count()).group_by(*keys)
        return [rollups_mod.PeriodSum(
            row[0], row[1], _time.to_db(row[2]), _time.to_db(row[3]),
            tuple(row[4:8]), row[8], row[9], int(row[10]))
            for row in session.execute(query)]

    def _rollups_after_delete(self, session: Session,
                              begin: datetime.datetime | None,
                              end: datetime.datetime | None,
                              filters: dict[str, list[str]]) -> None:
        """Bring the rollups of a deleted selection back in line: dropped
        when the filters are ones rollups keep (type, scope), recomputed
        from the remaining rows of the window otherwise."""
        scope_ids = filters.get(self.scope_key)
        types = filters.get("type")
        if set(filters) <= {"type", self.scope_key}:
            self.rollups.forget(session, begin, end, scope_ids, types)
            return
        kept = {key: values for key, values in filters.items()
                if key in ("type", self.scope_key)}
        sums = self._raw_sums(session, self._where(begin, end, kept))
        self.rollups.refresh(session, sums, begin, end, scope_ids, types)

    def _where(self, begin: datetime.datetime | None,
               end: datetime.datetime | None,
               filters: base.Filters | None,
               metric_types: str | Sequence[str] | None = None
               ) -> list[sa.ColumnElement[bool]]:
        return _query.where_clauses(
            begin, end, base.normalize_filters(filters),
            base.normalize_metric_types(metric_types), self.scope_key)

    # -- contract ---------------------------------------------------------
    def init(self) -> None:
        """The tables come from the alembic tree; check they are there,
        and refresh the rollup tables' statistics."""
        tables = (TABLE_NAME, RollupPeriod.__tablename__,
                  RollupDay.__tablename__)
        try:
            inspector = sa.inspect(self.engine)
            missing = [name for name in tables
                       if not inspector.has_table(name)]
        except sa.exc.DBAPIError as exc:
            raise exceptions.StorageError(
                f"SQL storage unreachable: {exc.orig}") from exc
        if missing:
            raise exceptions.StorageError(
                f"Table {missing[0]} is missing; run cloudkitty-dbsync "
                f"upgrade or cloudkitty-storage-init.")
        self.rollups.analyze()

    def push(self, frames: Iterable[DataFrame],
             scope_id: str | None = None) -> None:
        frames = list(frames)

        prepared = self._prepare([(frames, scope_id)])

        def work(session: Session) -> None:
            _bulk.insert(session, prepared)
            self.rollups.add_sums(session, prepared.sums.sums())
        self._write(work)

    def delete(self, begin: datetime.datetime | None = None,
               end: datetime.datetime | None = None,
               filters: base.Filters | None = None) -> None:
        clauses = self._where(begin, end, filters)

        def work(session: Session) -> None:
            session.execute(sa.delete(_query.TABLE).where(*clauses))
            self._rollups_after_delete(session, begin, end,
                                       base.normalize_filters(filters))
        self._write(work)

    def retrieve(self, begin: datetime.datetime | None = None,
                 end: datetime.datetime | None = None,
                 filters: base.Filters | None = None,
                 metric_types: str | Sequence[str] | None = None,
                 offset: int = 0, limit: int = 1000,
                 paginate: bool = True) -> base.RetrieveResult:
        base.check_page(offset, limit if paginate else None)
        clauses = self._where(begin, end, filters, metric_types)
        c = _query.COLUMNS
        page = (sa.select(_query.TABLE).where(*clauses)
                .order_by(c.begin, c.end, c.id))
        if paginate:
            page = page.offset(offset).limit(limit)
        count = sa.select(sa.func.count()).select_from(_query.TABLE) \
            .where(*clauses)
        with self._session() as session:
            total = session.scalar(count) or 0
            rows = session.execute(page).all()
        return {"total": int(total), "dataframes": self._frames(rows)}

    @staticmethod
    def _frames(rows: Sequence[sa.Row[Any]]) -> list[DataFrame]:
        frames: list[DataFrame] = []
        builder: DataFrameBuilder | None = None
        for row in rows:
            start, end = _time.from_db(row.begin), _time.from_db(row.end)
            if builder is None or (builder.start, builder.end) != (start,
                                                                   end):
                if builder is not None:
                    frames.append(builder.build())
                builder = DataFrameBuilder(start, end)
            builder.add_point(DataPoint(
                row.unit, row.qty, row.price, row.groupby, row.metadata,
                row.description), row.type)
        if builder is not None:
            frames.append(builder.build())
        # Types in sorted order, as frames built from dicts have them.
        return [frame.with_usage(dict(sorted(frame.usage.items())))
                for frame in frames]

    def _rollup_session(self) -> AbstractContextManager[Session]:
        return self._session()

    def _raw_total(self, request: TotalRequest
                   ) -> base.TotalResult:
        """:meth:`total` summed from the rated rows themselves."""
        fields = request.fields
        groups = _query.group_columns(request.groupby, self.scope_key)
        clauses = _query.where_clauses(request.begin, request.end,
                                       request.filters, request.metric_types,
                                       self.scope_key)
        c = _query.COLUMNS
        # Grouped values are computed in a subquery and grouped by label:
        # PostgreSQL cannot match a JSON key bound twice as parameters in
        # SELECT and GROUP BY.
        inner = sa.select(
            *[expr.label(f"g{i}") for i, (_, expr) in enumerate(groups)],
            c.qty, c.price).where(*clauses).subquery()
        keys = [inner.c[f"g{i}"] for i in range(len(groups))]
        query = sa.select(
            *keys,
            *[self._aggregate(field, inner).label(f"f{i}")
              for i, field in enumerate(fields)],
        ).select_from(inner)
        if keys:
            query = query.group_by(*keys)
        else:
            # No group: one row, but only if some point matched.
            query = query.having(sa.func.count() > 0)
        count = sa.select(sa.func.count()).select_from(query.subquery())
        order = [part for key in keys for part in _query.nulls_last(key)]
        query = query.order_by(*order)
        if request.paginate:
            query = query.offset(request.offset).limit(request.limit)
        with self._session() as session:
            total = session.scalar(count) or 0
            rows = session.execute(query).all()
        window = (_time.from_db_or_none(_time.to_db_or_none(request.begin)),
                  _time.from_db_or_none(_time.to_db_or_none(request.end)))
        return {"total": int(total),
                "results": [self._total_row(row, groups, fields, window)
                            for row in rows]}

    def _aggregate(self, field: custom_fields_mod.Aggregate,
                   inner: Any) -> sa.ColumnElement[Any]:
        column = inner.c[field.column]
        if field.function == "count":
            return sa.func.count(column)
        return _query.money_sum(self.dialect, column)

    @staticmethod
    def _total_row(row: Any,
                   groups: list[tuple[str, sa.ColumnElement[Any]]],
                   fields: Sequence[custom_fields_mod.Aggregate],
                   window: tuple[datetime.datetime | None,
                                 datetime.datetime | None]
                   ) -> dict[str, Any]:
        result: dict[str, Any] = {"begin": window[0], "end": window[1]}
        for index, field in enumerate(fields, start=len(groups)):
            value = row[index]
            if field.function == "count":
                result[field.name] = int(value or 0)
            else:
                result[field.name] = value or decimal.Decimal(0)
        for index, (key, _) in enumerate(groups):
            value = row[index]
            if key in ("begin", "end"):
                value = _time.from_db(value)
            result[key] = value
        return result

    # -- units of work ----------------------------------------------------
    def replace_scope_period(
            self, scope_id: str, begin: datetime.datetime,
            end: datetime.datetime, frames: Iterable[DataFrame], *,
            schedule_id: int | None = None,
            expected: datetime.datetime | None | object = base.UNCHECKED,
    ) -> None:
        """See :meth:`BaseStorage.replace_scope_period`; here the progress
        check (row locked), the delete, the insert and the progress update
        are one transaction."""
        window = [_query.COLUMNS.scope_id == scope_id,
                  _query.COLUMNS.begin >= _time.to_db(begin),
                  _query.COLUMNS.begin < _time.to_db(end)]
        prepared = self._prepare([(frames, scope_id)])
        sums = prepared.sums.sums()
        manager = state_api.StateManager(self.conf, self.engine)

        def work(session: Session) -> None:
            current: datetime.datetime | None = None
            if schedule_id is None:
                # Writers of one scope take turns on its state row (when
                # it exists), so their deletes see each other's rows.
                current = manager.get_last_processed_timestamps(
                    [scope_id], session=session, for_update=True)[scope_id]
                if expected is not base.UNCHECKED and current != expected:
                    raise exceptions.StaleProgress(
                        f"The scope '{scope_id}' state is at {current}, "
                        f"not at {expected} as when the frame was "
                        f"collected; the frame was dropped.")
            else:
                base.check_progress(self.conf, scope_id, schedule_id,
                                    expected, session=session,
                                    engine=self.engine)
            # The ledger counts every stored row: no ledger row of the
            # scope in the window, no rated row to delete either.
            if self.rollups.replace_sums(session, begin, end, [scope_id],
                                         sums):
                session.execute(sa.delete(_query.TABLE).where(*window))
            _bulk.insert(session, prepared)
            if schedule_id is None:
                manager.set_last_processed_timestamps(
                    [scope_id], begin, session=session,
                    present=() if current is None else (scope_id,))
            else:
                state_api.ReprocessingSchedules(self.conf, self.engine) \
                    .set_current_time(schedule_id, begin, session=session)
        self._write(work)

    def reset_scope(self, scope_id: str, timestamp: datetime.datetime,
                    scope_key: str | None = None, fetcher: str | None = None,
                    collector: str | None = None) -> None:
        """See :meth:`BaseStorage.reset_scope`; one transaction here."""
        manager = state_api.StateManager(self.conf, self.engine)
        key = scope_key or manager.current_keys()[0]
        clauses = self._where(timestamp, None, {key: scope_id})

        def work(session: Session) -> None:
            session.execute(sa.delete(_query.TABLE).where(*clauses))
            self._rollups_after_delete(session, timestamp, None,
                                       {key: [scope_id]})
            manager.set_last_processed_timestamp(
                scope_id, base.state_before(self.conf, timestamp), key,
                fetcher, collector, session=session)
        self._write(work)

    def replace_scope_periods(self, begin: datetime.datetime,
                              end: datetime.datetime,
                              items: Sequence[base.ScopePeriod]
                              ) -> list[str]:
        """See :meth:`BaseStorage.replace_scope_periods`: one transaction
        for every scope. The scopes' state rows are locked and checked
        first; the stale scopes are left out of the rest: the rollups of
        all scopes (whose ledger tells which scopes have rated rows in the
        window), one DELETE per chunk of those scopes, the bulk insert of
        every point (:mod:`._bulk`), one state UPDATE per chunk (plus an
        INSERT for scopes without a state row). Rows and sums are built
        before the transaction opens."""
        # Frames read once, whatever iterable each scope gave.
        items = [item._replace(frames=list(item.frames)) for item in items]
        manager = state_api.StateManager(self.conf, self.engine)

        def work(session: Session) -> list[str]:
            stale, fresh, present = base.split_stale(manager, items,
                                                     session)
            prepared = prepare(fresh)
            scope_ids = sorted({item.scope_id for item in fresh})
            # The ledger counts every stored row: only the scopes it had
            # rows of in the window have rated rows to delete.
            had = sorted(scope for scope in self.rollups.replace_sums(
                session, begin, end, scope_ids, prepared.sums.sums())
                if scope is not None)
            c = _query.COLUMNS
            for start in range(0, len(had), _IN_CHUNK):
                session.execute(sa.delete(_query.TABLE).where(
                    c.scope_id.in_(had[start:start + _IN_CHUNK]),
                    c.begin >= _time.to_db(begin), c.begin < _time.to_db(end)))
            _bulk.insert(session, prepared)
            manager.set_last_processed_timestamps(
                scope_ids, begin, session=session,
                present=present)
            return stale

        # Rows and sums are built once, outside the transaction, unless a
        # scope turns out stale (then again without it).
        cache: dict[frozenset[str], _bulk.Prepared] = {}

        def prepare(fresh: Sequence[base.ScopePeriod]) -> _bulk.Prepared:
            key = frozenset(item.scope_id for item in fresh)
            if key not in cache:
                cache.clear()
                cache[key] = self._prepare(
                    [(item.frames, item.scope_id) for item in fresh])
            return cache[key]
        prepare(items)
        return self._write(work)
