"""Rollups: summaries in O(groups) instead of O(points).

Two tables in the ``[database]`` SQL database, whatever the storage
backend (scope states live there too, so a backend updates rollups in the
transaction that records progress):

* the ledger, ``cloudkitty_rollup_periods``: per scope, metric type,
  stored period and collector time keys (``day_of_the_year``,
  ``week_of_the_year``, ``month``, ``year``; NULL when a point has none),
  the exact sums of qty and price and the number of points;
* the days, ``cloudkitty_rollup_days``: the same per UTC day instead of
  period, one row per key, kept equal to the sum of the ledger rows of
  that day by increments (new ledger rows minus the ones they replace),
  which stays exact when two transactions write the same scope.

A backend calls :meth:`RollupStore.replace` / :meth:`~RollupStore.replace_many`
/ :meth:`~RollupStore.add` / :meth:`~RollupStore.forget` /
:meth:`~RollupStore.refresh` with the session of its write, and mixes in
:class:`RollupTotals`, whose ``total()`` answers with
:meth:`RollupStore.total` when :meth:`RollupStore.covers` says the request
can be: groupby within type,
the scope key and the time keys; filters on type and the scope key only.
The whole UTC days of the window are read from the days, the partial days
at its edges from the ledger.

Writes of the same day rows by concurrent transactions are increments
(upserts) in one key order; callers retry a transaction the database
rolled back as a deadlock victim.
"""
from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.storage import _time
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2.rollups import _read
from cloudkitty.storage.v2.rollups._sums import (
    PeriodSum,
    SumBuilder,
    day_key,
    from_frames,
    key_hash,
    key_text,
    midnight,
    point_scope,
)
from cloudkitty.storage.v2.rollups._totals import (
    RollupTotals,
    TotalRequest,
    result_keys,
    total_request,
)
from cloudkitty.storage.v2.sqlalchemy import _bulk
from cloudkitty.storage.v2.sqlalchemy.models import (
    EXACT,
    ROLLUP_TIME_KEYS,
    DecimalSum,
    RollupDay,
    RollupPeriod,
    quantize,
)

__all__ = ["RollupStore", "RollupTotals", "TotalRequest", "total_request",
           "result_keys", "PeriodSum", "SumBuilder", "point_scope",
           "ROLLUP_TIME_KEYS", "from_frames",
           "key_text", "prepare_sqlite", "midnight", "in_values"]

LEDGER = cast(sa.Table, RollupPeriod.__table__)
DAYS = cast(sa.Table, RollupDay.__table__)
#: Built once: SQLAlchemy then finds the compiled form in its cache.
_INSERT_LEDGER = sa.insert(LEDGER)
_LEDGER_COLUMNS = ("scope_id", "type", "begin", "end", "day",
                   *ROLLUP_TIME_KEYS, "qty", "price", "count")
#: Rows per executemany and values per IN list.
CHUNK = 1000
_ZERO = decimal.Decimal(0)


def _decimal_add(left: Any, right: Any) -> str:
    total = EXACT.add(decimal.Decimal(str(left or 0)),
                      decimal.Decimal(str(right or 0)))
    return format(total, "f")


def prepare_sqlite(session: Session) -> None:
    """Register the exact decimal functions on a SQLite session's
    connection (``ck_decimal_sum`` aggregate, ``ck_decimal_add``)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    raw = session.connection().connection.dbapi_connection
    raw.create_aggregate("ck_decimal_sum", 1,  # type: ignore[union-attr]
                         DecimalSum)
    raw.create_function("ck_decimal_add", 2,  # type: ignore[union-attr]
                        _decimal_add, deterministic=True)


def _chunks(values: Sequence[Any], size: int = CHUNK
            ) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def in_values(column: sa.ColumnElement[Any], values: Iterable[Any]
              ) -> sa.ColumnElement[bool]:
    """``column IN values``, where a None among ``values`` matches NULL."""
    values = list(values)
    present = [v for v in values if v is not None]
    clause: sa.ColumnElement[bool] = column.in_(present)
    if len(present) != len(values):
        clause = sa.or_(clause, column.is_(None))
    return clause


class RollupStore:
    """Rollup reads and writes on ``engine`` (the ``[database]`` one).

    Every write method takes the caller's session and writes nothing
    else; the caller commits. Datetimes may be aware or naive UTC.
    """

    def __init__(self, conf: cfg.ConfigOpts, engine: sa.Engine) -> None:
        self.conf = conf
        self.engine = engine
        self.dialect = engine.dialect.name
        self._upsert = self._upsert_statement()

    @property
    def scope_key(self) -> str:
        return cast(str, self.conf.collect.scope_key)

    # -- writes -----------------------------------------------------------
    def replace(self, session: Session, scope_id: str,
                begin: datetime.datetime, end: datetime.datetime,
                frames: Iterable[DataFrame]) -> None:
        """The scope's periods starting in ``[begin, end)`` now hold
        exactly ``frames`` (the rows of ``replace_scope_period``)."""
        self.replace_many(session, begin, end, [(scope_id, frames)])

    def replace_many(self, session: Session, begin: datetime.datetime,
                     end: datetime.datetime,
                     items: Sequence[tuple[str, Iterable[DataFrame]]]
                     ) -> None:
        """:meth:`replace` for many scopes of one window, in a few
        statements."""
        sums: list[PeriodSum] = []
        for scope_id, frames in items:
            sums += from_frames(frames, scope_id, self.scope_key)
        self.replace_sums(session, begin, end,
                          [scope_id for scope_id, _ in items], sums)

    def replace_sums(self, session: Session, begin: datetime.datetime,
                     end: datetime.datetime, scope_ids: Iterable[str],
                     sums: Sequence[PeriodSum]) -> set[str | None]:
        """:meth:`replace_many` from sums the caller computed
        (:class:`SumBuilder`). Returns the scopes that had ledger rows in
        the window: as the ledger counts every stored row, a scope not in
        it has no rated row there either (the SQL backend skips its
        DELETE)."""
        scopes = sorted(set(scope_ids))
        if not scopes:
            return set()
        where = self._window(LEDGER.c.begin, begin, end)
        return self._apply(session, [[*where, LEDGER.c.scope_id.in_(chunk)]
                                     for chunk in _chunks(scopes)], sums)

    def add(self, session: Session, frames: Iterable[DataFrame],
            scope_id: str | None = None) -> None:
        """Count ``frames`` in addition to what is there (``push``)."""
        self._apply(session, [], from_frames(frames, scope_id,
                                             self.scope_key))

    def add_sums(self, session: Session, sums: Sequence[PeriodSum]) -> None:
        """:meth:`add` from sums the caller computed."""
        self._apply(session, [], sums)

    def forget(self, session: Session, begin: datetime.datetime | None,
               end: datetime.datetime | None,
               scope_ids: str | Sequence[str | None] | None = None,
               metric_types: str | Sequence[str] | None = None) -> None:
        """Drop the sums of the periods starting in ``[begin, end)`` (None:
        unbounded), of ``scope_ids`` and ``metric_types`` when given (a
        delete by window, scope and type)."""
        self.refresh(session, [], begin, end, scope_ids, metric_types)

    def refresh(self, session: Session, sums: Iterable[PeriodSum],
                begin: datetime.datetime | None,
                end: datetime.datetime | None,
                scope_ids: str | Sequence[str | None] | None = None,
                metric_types: str | Sequence[str] | None = None) -> None:
        """Replace the sums of the periods starting in ``[begin, end)``
        (of ``scope_ids`` / ``metric_types`` when given) by ``sums``,
        computed by the backend from its raw rows (e.g. after a delete
        whose filters rollups do not keep). ``sums`` must lie within that
        selection."""
        where = self._window(LEDGER.c.begin, begin, end)
        types = base.normalize_metric_types(metric_types)
        if types is not None:
            where.append(LEDGER.c.type.in_(types))
        if isinstance(scope_ids, str):
            scope_ids = [scope_ids]
        if scope_ids is None:
            removed = [where]
        else:
            removed = [[*where, in_values(LEDGER.c.scope_id, chunk)]
                       for chunk in _chunks(list(scope_ids))]
        self._apply(session, removed, list(sums))

    def rebuild(self, session: Session, sums: Iterable[PeriodSum]) -> None:
        """Start over from ``sums`` (every stored point's)."""
        prepare_sqlite(session)
        session.execute(sa.delete(LEDGER))
        session.execute(sa.delete(DAYS))
        self._apply(session, [], list(sums))

    def analyze(self) -> None:
        """Refresh the database's planner statistics of the rollup tables
        (PostgreSQL, MySQL/MariaDB; nothing elsewhere). Run by the
        backends' ``init()``: a summary over tables never analyzed (bulk
        loads, or a server without autovacuum) gets a sort-based plan
        several times slower than the hashed one. Raises StorageError."""
        tables = (DAYS.name, LEDGER.name)
        if self.dialect == "postgresql":
            statement = f"ANALYZE {', '.join(tables)}"
        elif self.dialect in ("mysql", "mariadb"):
            statement = f"ANALYZE TABLE {', '.join(tables)}"
        else:
            return
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text(statement)).close()
                connection.commit()
        except sa.exc.DBAPIError as exc:
            raise exceptions.StorageError(
                f"Statistics of the rollup tables not refreshed: "
                f"{exc.orig}") from exc

    # -- reads ------------------------------------------------------------
    def covers(self, groupby: Sequence[str] | None,
               filters: base.Filters | None,
               metric_types: str | Sequence[str] | None = None,
               begin: datetime.datetime | None = None,
               end: datetime.datetime | None = None,
               scope_key: str | None = None) -> bool:
        """Whether :meth:`total` can answer this request: every groupby
        element is ``type``, the scope key or a collector time key
        (``time-d``/``-w``/``-m``/``-y``; not ``time``), and filters are on
        ``type`` and the scope key only. Any window and ``metric_types``
        are covered. Raises InvalidInput for malformed arguments, as the
        raw path would."""
        return _read.covers(groupby, filters, scope_key or self.scope_key)

    def total(self, session: Session, groupby: Sequence[str] | None = None,
              begin: datetime.datetime | None = None,
              end: datetime.datetime | None = None,
              metric_types: str | Sequence[str] | None = None,
              filters: base.Filters | None = None,
              custom_fields: str | None = None,
              offset: int = 0, limit: int = 1000,
              paginate: bool = True) -> base.TotalResult:
        """:meth:`BaseStorage.total` from the rollups, for a request
        :meth:`covers` accepts: the same rows, order, types and
        pagination as the SQL backend's raw answer."""
        prepare_sqlite(session)
        return _read.total(session, self.dialect, self.scope_key,
                           groupby, begin, end, metric_types, filters,
                           custom_fields, offset, limit, paginate)

    # -- plumbing ---------------------------------------------------------
    @staticmethod
    def _window(column: sa.ColumnElement[Any],
                begin: datetime.datetime | None,
                end: datetime.datetime | None
                ) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = []
        if begin is not None:
            clauses.append(column >= _time.to_db(begin))
        if end is not None:
            clauses.append(column < _time.to_db(end))
        return clauses

    def _apply(self, session: Session,
               removed: Sequence[Sequence[sa.ColumnElement[bool]]],
               added: Sequence[PeriodSum]) -> set[str | None]:
        """Delete the ledger rows of each ``removed`` selection, insert
        ``added``, and move the day rows by the difference, computed here
        from both. Returns the scopes of the deleted ledger rows."""
        prepare_sqlite(session)
        deltas: dict[Any, list[Any]] = {}

        def move(key: Any, qty: Any, price: Any, count: int) -> None:
            entry = deltas.get(key)
            if entry is None:
                deltas[key] = [qty, price, count]
                return
            entry[0] = EXACT.add(entry[0], qty)
            entry[1] = EXACT.add(entry[1], price)
            entry[2] += count

        scopes: set[str | None] = set()
        for row in self._remove(session, removed):
            scopes.add(row[0])
            move(day_key(row[0], row[1], row[2], row[3:7]),
                 EXACT.minus(row[7]), EXACT.minus(row[8]), -row[9])
        rows: list[dict[str, Any]] = []
        days: dict[datetime.datetime, datetime.datetime] = {}
        for item in added:
            day = days.get(item.begin)
            if day is None:
                day = days[item.begin] = midnight(item.begin)
            day_of_the_year, week_of_the_year, month, year = item.time_keys
            rows.append({
                "scope_id": item.scope_id, "type": item.type,
                "begin": item.begin, "end": item.end, "day": day,
                "day_of_the_year": day_of_the_year,
                "week_of_the_year": week_of_the_year,
                "month": month, "year": year,
                "qty": item.qty, "price": item.price, "count": item.points,
            })
            move((item.scope_id, item.type, day, item.time_keys),
                 item.qty, item.price, item.points)
        if rows and _bulk.uses_copy(session.get_bind().dialect):
            # COPY costs the server a fraction of INSERTs.
            # (Money rounded as ExactDecimal would.)
            _bulk.copy(session, LEDGER.name, _LEDGER_COLUMNS, [
                "\t".join([_bulk.copy_field(row[name])
                           for name in _LEDGER_COLUMNS[:-3]]
                          + [format(quantize(row["qty"]), "f"),
                             format(quantize(row["price"]), "f"),
                             str(row["count"])]) for row in rows])
        else:
            for chunk in _chunks(rows):
                session.execute(_INSERT_LEDGER, list(chunk))
        self._move_days(session, deltas)
        return scopes

    def _remove(self, session: Session,
                removed: Sequence[Sequence[sa.ColumnElement[bool]]]
                ) -> list[Sequence[Any]]:
        """Delete the ledger rows of each selection; their ``(scope_id,
        type, begin, *time keys, qty, price, count)``. One DELETE ...
        RETURNING per selection where the database has it, else the rows
        are read and locked first and deleted by id."""
        c = LEDGER.c
        columns = [c.scope_id, c.type, c.begin,
                   *[c[name] for name in ROLLUP_TIME_KEYS],
                   c.qty, c.price, c["count"]]
        result: list[Sequence[Any]] = []
        returning = session.get_bind().dialect.delete_returning
        for where in removed:
            if returning:
                result += session.execute(
                    sa.delete(LEDGER).where(*where).returning(*columns)
                ).all()
                continue
            old = session.execute(
                sa.select(c.id, *columns).where(*where).order_by(c.id)
                .with_for_update()).all()
            result += [row[1:] for row in old]
            for ids in _chunks([row[0] for row in old]):
                session.execute(sa.delete(LEDGER).where(c.id.in_(ids)))
        return result

    def _move_days(self, session: Session,
                   deltas: dict[Any, list[Any]]) -> None:
        rows = []
        for key, (qty, price, count) in deltas.items():
            if not count and not qty and not price:
                continue
            scope_id, metric_type, day, time_keys = key
            rows.append({
                "key_hash": key_hash(key), "scope_id": scope_id,
                "type": metric_type, "day": day,
                **dict(zip(ROLLUP_TIME_KEYS, time_keys, strict=True)),
                "qty": qty, "price": price, "count": count,
            })
        # One order for every writer, so concurrent upserts cannot
        # deadlock.
        rows.sort(key=lambda row: row["key_hash"])
        for chunk in _chunks(rows):
            session.execute(self._upsert, list(chunk))
        # Only a decrement can bring a key to no points.
        hashes = [row["key_hash"] for row in rows if row["count"] < 0]
        for chunk in _chunks(hashes):
            session.execute(sa.delete(DAYS).where(
                DAYS.c.key_hash.in_(chunk), DAYS.c["count"] <= 0))

    def _upsert_statement(self) -> Any:
        """INSERT of a day row adding to the row of its key if any."""
        d = DAYS.c
        if self.dialect in ("mysql", "mariadb"):
            my = mysql.insert(DAYS)
            return my.on_duplicate_key_update(
                qty=d.qty + my.inserted.qty,
                price=d.price + my.inserted.price,
                count=d["count"] + my.inserted["count"])
        if self.dialect == "postgresql":
            pg = postgresql.insert(DAYS)
            # RETURNING lets SQLAlchemy send the rows in multi-row
            # statements (insertmanyvalues); without it an ON CONFLICT
            # INSERT goes one row per round trip. The rows of one call
            # have distinct keys, as a multi-row upsert needs.
            return pg.on_conflict_do_update(
                index_elements=[d.key_hash],
                set_={"qty": d.qty + pg.excluded.qty,
                      "price": d.price + pg.excluded.price,
                      "count": d["count"] + pg.excluded["count"]}
            ).returning(d.id)
        lite = sqlite.insert(DAYS)
        return lite.on_conflict_do_update(
            index_elements=[d.key_hash],
            set_={"qty": sa.func.ck_decimal_add(d.qty, lite.excluded.qty),
                  "price": sa.func.ck_decimal_add(d.price,
                                                  lite.excluded.price),
                  "count": d["count"] + lite.excluded["count"]})
