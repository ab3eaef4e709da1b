"""The ``sqlalchemy`` v2 storage backend: rated data in ``[database]``.

Runs on SQLite (embedded default), PostgreSQL and MySQL/MariaDB; the table
is created by the alembic tree (``cloudkitty-dbsync upgrade`` or
``cloudkitty-storage-init``). Table layout and money handling: see
:mod:`cloudkitty.storage.v2.sqlalchemy.models`.
"""
from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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
from cloudkitty.storage.v2.sqlalchemy import _query
from cloudkitty.storage.v2.sqlalchemy.models import TABLE_NAME, DecimalSum

_INSERT_CHUNK = 1000
_PLAIN_JSON = (str, int, float, bool, type(None))


def _jsonable(mapping: Any) -> dict[str, Any]:
    """A dict the JSON column can serialise: Decimals, datetimes and other
    values a rating module may leave in metadata become strings."""
    data = dict(mapping)
    if all(isinstance(value, _PLAIN_JSON) for value in data.values()):
        return data
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


class SQLAlchemyStorage(base.BaseStorage):
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

    # -- plumbing ---------------------------------------------------------
    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with db_api.session_scope(self.engine) as session:
                if self.dialect == "sqlite":
                    # Registered per use: the engine is shared and may hold
                    # connections opened before this backend existed.
                    raw = session.connection().connection.dbapi_connection
                    raw.create_aggregate(  # type: ignore[union-attr]
                        "ck_decimal_sum", 1, DecimalSum)
                yield session
        except sa.exc.DBAPIError as exc:
            raise exceptions.StorageError(
                f"SQL storage failed: {exc.orig}") from exc

    def _rows(self, frames: Iterable[DataFrame],
              scope_id: str | None) -> Iterator[dict[str, Any]]:
        for frame in frames:
            begin, end = _time.to_db(frame.start), _time.to_db(frame.end)
            for metric_type, point in frame.iterpoints():
                desc = point.desc
                point_scope = desc.get(self.scope_key, scope_id)
                yield {
                    "begin": begin, "end": end, "type": metric_type,
                    "scope_id": (None if point_scope is None
                                 else str(point_scope)),
                    "unit": point.unit, "qty": point.qty,
                    "price": point.price,
                    "groupby": _jsonable(point.groupby),
                    "metadata": _jsonable(point.metadata),
                    "description": point.description,
                }

    def _insert(self, session: Session, frames: Iterable[DataFrame],
                scope_id: str | None) -> None:
        chunk: list[dict[str, Any]] = []
        for row in self._rows(frames, scope_id):
            chunk.append(row)
            if len(chunk) >= _INSERT_CHUNK:
                session.execute(sa.insert(_query.TABLE), chunk)
                chunk = []
        if chunk:
            session.execute(sa.insert(_query.TABLE), chunk)

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
        """The table comes from the alembic tree; check it is there."""
        try:
            present = sa.inspect(self.engine).has_table(TABLE_NAME)
        except sa.exc.DBAPIError as exc:
            raise exceptions.StorageError(
                f"SQL storage unreachable: {exc.orig}") from exc
        if not present:
            raise exceptions.StorageError(
                f"Table {TABLE_NAME} is missing; run cloudkitty-dbsync "
                f"upgrade or cloudkitty-storage-init.")

    def push(self, frames: Iterable[DataFrame],
             scope_id: str | None = None) -> None:
        with self._session() as session:
            self._insert(session, frames, scope_id)

    def delete(self, begin: datetime.datetime | None = None,
               end: datetime.datetime | None = None,
               filters: base.Filters | None = None) -> None:
        clauses = self._where(begin, end, filters)
        with self._session() as session:
            session.execute(sa.delete(_query.TABLE).where(*clauses))

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

    def total(self, groupby: Sequence[str] | None = None,
              begin: datetime.datetime | None = None,
              end: datetime.datetime | None = None,
              metric_types: str | Sequence[str] | None = None,
              filters: base.Filters | None = None,
              custom_fields: str | None = None,
              offset: int = 0, limit: int = 1000,
              paginate: bool = True) -> base.TotalResult:
        fields = custom_fields_mod.parse(custom_fields)
        base.check_page(offset, limit if paginate else None)
        groups = _query.group_columns(base.normalize_groupby(groupby),
                                      self.scope_key)
        custom_fields_mod.check_names(fields, [key for key, _ in groups],
                                      given=custom_fields is not None)
        clauses = self._where(begin, end, filters, metric_types)
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
        if paginate:
            query = query.offset(offset).limit(limit)
        with self._session() as session:
            total = session.scalar(count) or 0
            rows = session.execute(query).all()
        window = (_time.from_db_or_none(_time.to_db_or_none(begin)),
                  _time.from_db_or_none(_time.to_db_or_none(end)))
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
        with self._session() as session:
            base.check_progress(self.conf, scope_id, schedule_id, expected,
                                session=session, engine=self.engine)
            session.execute(sa.delete(_query.TABLE).where(*window))
            self._insert(session, frames, scope_id)
            if schedule_id is None:
                state_api.StateManager(self.conf, self.engine) \
                    .set_last_processed_timestamp(scope_id, begin,
                                                  session=session)
            else:
                state_api.ReprocessingSchedules(self.conf, self.engine) \
                    .set_current_time(schedule_id, begin, session=session)

    def reset_scope(self, scope_id: str, timestamp: datetime.datetime,
                    scope_key: str | None = None, fetcher: str | None = None,
                    collector: str | None = None) -> None:
        """See :meth:`BaseStorage.reset_scope`; one transaction here."""
        manager = state_api.StateManager(self.conf, self.engine)
        key = scope_key or manager.current_keys()[0]
        clauses = self._where(timestamp, None, {key: scope_id})
        with self._session() as session:
            session.execute(sa.delete(_query.TABLE).where(*clauses))
            manager.set_last_processed_timestamp(
                scope_id, base.state_before(self.conf, timestamp), key,
                fetcher, collector, session=session)
