"""The ``influxdb`` v2 storage backend: rated points in InfluxDB 1.x.

Points keep upstream CloudKitty's layout (see
:mod:`cloudkitty.storage.v2.influx.points`), so a database written by
upstream is read as it is and upstream reads what we write. Scope states,
reprocessing schedules and the rollups stay in the ``[database]`` SQL
database: the processor's unit of work takes the scope's state row lock,
replaces the scope's window in InfluxDB, then updates rollups and state
in that one SQL transaction. InfluxDB writes are idempotent for a window
(delete, then write), so a failure before the commit leaves the state
where it was and the next run writes the window again.

Reads select the points of the window and compute in Python, from the
exact decimals: retrieve() pages in Python too, in push order, and raw
totals sum exactly. Summaries the rollups cover (groupby and filters on
type, scope and the collector's time keys) never touch InfluxDB.
"""
from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.storage import _time
from cloudkitty.storage import state as state_api
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2.influx import core, influxql, reader, window
from cloudkitty.storage.v2.influx import points as points_mod
from cloudkitty.storage.v2.influx.client import series_rows
from cloudkitty.storage.v2.rollups import (
    RollupTotals,
    TotalRequest,
    result_keys,
)

__all__ = ["InfluxStorage"]

LOG = logging.getLogger(__name__)

_M = core.MEASUREMENT


class InfluxStorage(RollupTotals, core.StorageCore):
    """v2 storage in the InfluxDB 1.x database of ``[storage_influxdb]``."""

    # -- contract ---------------------------------------------------------
    def init(self) -> None:
        """Create the database if missing (when allowed), check the
        retention policy, build the rollups from the raw points when
        they are empty (a database written by upstream CloudKitty) and
        refresh their statistics."""
        database = self.client.db
        policy = self.client.retention_policy
        [databases] = self.client.query("SHOW DATABASES")
        names = {row["name"] for serie in databases
                 for row in series_rows(serie)}
        if database not in names:
            LOG.info("Creating InfluxDB database %s", database)
            try:
                self.client.query(
                    f"CREATE DATABASE {influxql.ident(database)}",
                    write=True)
            except exceptions.StorageError as exc:
                raise exceptions.StorageError(
                    f"InfluxDB database '{database}' ([storage_influxdb] "
                    f"database) does not exist and cannot be created: "
                    f"{exc}") from exc
        [policies] = self.client.query(
            f"SHOW RETENTION POLICIES ON {influxql.ident(database)}")
        known = {row["name"] for serie in policies
                 for row in series_rows(serie)}
        if policy not in known:
            raise exceptions.StorageError(
                f"Retention policy '{policy}' ([storage_influxdb] "
                f"retention_policy) does not exist in InfluxDB database "
                f"'{database}' (it has: {', '.join(sorted(known)) or 'none'})"
                f".")
        self._rebuild_rollups_if_empty()
        self.rollups.analyze()

    def push(self, frames: Iterable[DataFrame],
             scope_id: str | None = None) -> None:
        frames = list(frames)
        taken = self._taken(self._encode(frames, scope_id))
        lines = self._encoder(taken).lines(frames, scope_id)
        with self._session() as session:
            self.client.write(lines, core.CHUNK)
            self.rollups.add(session, frames, scope_id)

    def retrieve(self, begin: datetime.datetime | None = None,
                 end: datetime.datetime | None = None,
                 filters: base.Filters | None = None,
                 metric_types: str | Sequence[str] | None = None,
                 offset: int = 0, limit: int = 1000,
                 paginate: bool = True) -> base.RetrieveResult:
        """Points in push order within each period. Paginated reads
        first order the window on a few columns, then read whole points
        only for the period range of the page."""
        base.check_page(offset, limit if paginate else None)
        normalized = base.normalize_filters(filters)
        types = base.normalize_metric_types(metric_types)
        if not paginate:
            stored = [self._decode(row) for row in self._full_rows(
                begin, end, normalized, types)]
            stored.sort(key=reader.push_order)
            return {"total": len(stored),
                    "dataframes": self._frames(stored)}
        number = reader.int_or_none
        span = self._page_span(begin, end, normalized, types, offset, limit)
        if span is None:
            # Filters checked in Python: the whole window's index.
            where: list[str] = []
            skip = offset
        else:
            total, skip, where = span
            if not where:
                return {"total": total, "dataframes": []}
        light = [reader.Light(row.time_ns,
                              number(row.fields.get(points_mod.PERIOD)),
                              number(row.fields.get(points_mod.SEQ)))
                 for row in self._read(begin, end, normalized, types, [],
                                       ["qty", points_mod.PERIOD,
                                        points_mod.SEQ], extra=False,
                                       where=where)]
        if span is None:
            total = len(light)
        keyed = reader.occurrences(light)
        order = sorted(range(len(light)), key=lambda i: reader.push_order(
            light[i]))
        page = [keyed[i] for i in order[skip:skip + limit]]
        # The index goes before the page's points are read.
        light.clear()
        del order, keyed
        if not page:
            return {"total": total, "dataframes": []}
        low = min(key[0] for key in page)
        high = max(key[0] for key in page)
        # The page's points are those of its keys: when they all have a
        # push sequence, its range leaves out the rest of the periods
        # (every point of a key's time and sequence is still read, so
        # the ranks of occurrences() do not change).
        seqs = [key[1] for key in page if key[1] is not None]
        where = []
        if len(seqs) == len(page):
            column = f"{influxql.ident(points_mod.SEQ)}::field"
            where = [f"{column} >= {min(seqs)}", f"{column} <= {max(seqs)}"]
        rows = list(self._full_rows(
            points_mod.from_ns(low),
            points_mod.from_ns(high) + datetime.timedelta(microseconds=1),
            normalized, types, where))
        full = dict(zip(reader.occurrences([
            reader.Light(row.time_ns, 0,
                         number(row.fields.get(points_mod.SEQ)))
            for row in rows]), rows, strict=True))
        stored = [self._decode(full[key]) for key in page if key in full]
        return {"total": total, "dataframes": self._frames(stored)}

    def _page_span(self, begin: datetime.datetime | None,
                   end: datetime.datetime | None,
                   filters: dict[str, list[str]],
                   metric_types: list[str] | None, offset: int, limit: int,
                   ) -> tuple[int, int, list[str]] | None:
        """Where the page ``[offset, offset + limit)`` lies, asked of the
        server so that only the points of the page's periods are read:
        ``(total, skip, where)``, the page being the points ``[skip, skip
        + limit)`` in push order of those ``where`` selects (no
        condition: an empty page). Points are in time order first, so
        the page spans the times of its first and last points; counting
        happens on the server, which only works when the WHERE clause
        selects exactly the matches: None when filters other than the
        type are checked in Python."""
        if any(key != "type" for key in filters):
            return None
        if any(not values for values in filters.values()) or \
                metric_types == []:
            return 0, 0, []
        sel = self._where(begin, end, filters, metric_types, [], ["qty"],
                          extra=False)
        qty = f"{influxql.ident('qty')}::field"
        source = f"FROM {_M}"

        def probe(nth: int) -> str:
            return (f"SELECT {qty} {source}{influxql.and_all(sel.where)} "
                    f"LIMIT 1 OFFSET {nth}")

        def count(where: list[str]) -> str:
            return f"SELECT COUNT({qty}) {source}{influxql.and_all(where)}"

        counted, first, last = self.client.query([
            count(sel.where), probe(offset), probe(offset + limit - 1)])
        total = int(_first_value(counted, 1) or 0)
        low = _first_value(first, 0)
        if low is None:
            return total, 0, []
        high = _first_value(last, 0)
        span = [f"time >= {low}"]
        if high is not None:
            span.append(f"time <= {high}")
        [before] = self.client.query(count([*sel.where, f"time < {low}"]))
        skipped = int(_first_value(before, 1) or 0)
        # Points written between the queries can only move the page.
        return total, max(0, offset - skipped), span

    def _full_rows(self, begin: datetime.datetime | None,
                   end: datetime.datetime | None,
                   filters: dict[str, list[str]],
                   metric_types: list[str] | None,
                   where: Sequence[str] = ()) -> Iterator[reader.Row]:
        tags, fields = self._keys()
        return self._read(begin, end, filters, metric_types, tags,
                          [*reader.BASE_FIELDS, *fields], where=where)

    def _rollup_session(self) -> AbstractContextManager[Session]:
        return self._session()

    def _raw_total(self, request: TotalRequest
                   ) -> base.TotalResult:
        """:meth:`total` summed from the points in InfluxDB (exact
        decimals, in Python)."""
        keys, fields = request.groupby, request.fields
        begin, end = request.begin, request.end
        columns = {field.column for field in fields
                   if field.function == "sum"}
        wanted: list[str] = []
        if "qty" in columns:
            wanted += [points_mod.QTY, "qty"]
        if "price" in columns:
            wanted += [points_mod.PRICE, "price"]
        if "time" in keys:
            wanted.append(points_mod.PERIOD)
        if not wanted:
            wanted.append("groupby")
        tags = [k for k in keys if k not in ("time", "type")
                and k not in points_mod.RESERVED_TAGS]
        if self.scope_key in keys:
            wanted.append(self.scope_key)  # the scope may be in metadata
        groups: dict[tuple[Any, ...], list[Any]] = {}
        # __ck_extra holds groupby values tags cannot (see points).
        extra = any(k not in ("time", "type") for k in keys)
        for row in self._read(begin, end, request.filters,
                              request.metric_types, tags, wanted, extra):
            group = tuple(self._group_values(row, keys))
            acc = groups.get(group)
            if acc is None:
                acc = groups[group] = [[] for _ in fields]
            for index, field in enumerate(fields):
                if field.function == "count":
                    acc[index].append(None)
                elif field.column == "qty":
                    acc[index].append(points_mod.raw_money(
                        row.fields.get(points_mod.QTY),
                        row.fields.get("qty")))
                else:
                    acc[index].append(points_mod.raw_money(
                        row.fields.get(points_mod.PRICE),
                        row.fields.get("price")))
        ordered = sorted(groups.items(), key=lambda item: tuple(
            part for value in item[0]
            for part in (value is None, value if value is not None else "")))
        total = len(ordered)
        if request.paginate:
            ordered = ordered[request.offset:request.offset + request.limit]
        window = (_time.from_db_or_none(_time.to_db_or_none(begin)),
                  _time.from_db_or_none(_time.to_db_or_none(end)))
        results = []
        for group, acc in ordered:
            row_out: dict[str, Any] = {"begin": window[0], "end": window[1]}
            for field, values in zip(fields, acc, strict=True):
                row_out[field.name] = (
                    len(values) if field.function == "count"
                    else points_mod.exact_sum(values))
            for key, value in zip(result_keys(keys), group,
                                  strict=True):
                row_out[key] = value
            results.append(row_out)
        return {"total": total, "results": results}

    def _group_values(self, row: reader.Row, keys: Sequence[str]
                      ) -> Iterator[Any]:
        for key in keys:
            if key == "time":
                start = points_mod.from_ns(row.time_ns)
                yield start
                yield start + self._period(row.fields.get(points_mod.PERIOD))
            elif key == "type":
                yield row.tags.get("type")
            elif key == self.scope_key:
                yield reader.filter_value(row, key)
            else:
                yield reader.group_value(row, key)

    def delete(self, begin: datetime.datetime | None = None,
               end: datetime.datetime | None = None,
               filters: base.Filters | None = None) -> None:
        normalized = base.normalize_filters(filters)
        with self._session() as session:
            self._delete(session, begin, end, normalized)

    def _delete(self, session: Session, begin: datetime.datetime | None,
                end: datetime.datetime | None,
                filters: dict[str, list[str]]) -> None:
        if any(not values for values in filters.values()):
            return
        tag_keys, field_types = self._keys()
        rollup_only = set(filters) <= {"type", self.scope_key}
        if rollup_only:
            # Remove the rollups first: forget() needs the raw points gone
            # or not, it only uses the selection.
            self.rollups.forget(session, begin, end,
                                filters.get(self.scope_key),
                                filters.get("type"))
        fast = all(
            key == "type" or (key not in field_types
                              and key not in points_mod.RESERVED_TAGS
                              and "" not in values)
            for key, values in filters.items())
        affected: set[tuple[str | None, str | None]] = set()
        if fast:
            if not rollup_only:
                affected = self._affected(begin, end, filters)
            where = influxql.time_window(begin, end)
            for key, values in filters.items():
                where.append(influxql.any_of(
                    f"{influxql.ident(key)}::tag", values))
            self.client.query(f"DELETE FROM {_M}{influxql.and_all(where)}",
                              write=True)
        else:
            statements = []
            for row in self._read(begin, end, filters, None, tag_keys,
                                  [self.scope_key]):
                affected.add((reader.filter_value(row, self.scope_key),
                              row.tags.get("type")))
                conditions = [
                    f"{influxql.ident(k)}::tag = "
                    f"{influxql.string(str(row.tags.get(k) or ''))}"
                    for k in tag_keys]
                conditions += [f"time >= {row.time_ns}",
                               f"time <= {row.time_ns}"]
                statements.append(
                    f"DELETE FROM {_M}{influxql.and_all(conditions)}")
            self._query_all(statements, write=True)
        if affected and not rollup_only:
            self._refresh_rollups(session, begin, end,
                                  sorted({s for s, _ in affected},
                                         key=lambda s: (s is None, s or "")))

    # -- units of work ----------------------------------------------------
    def _lock_progress(self, session: Session, scope_id: str,
                       schedule_id: int | None,
                       expected: datetime.datetime | None | object) -> None:
        """Check ``expected`` with the row locked; lock it anyway, so
        concurrent writers of one scope queue up and a broken SQL side
        fails before InfluxDB is touched."""
        if expected is not base.UNCHECKED:
            base.check_progress(self.conf, scope_id, schedule_id, expected,
                                session=session, engine=self.engine)
        elif schedule_id is None:
            state_api.StateManager(self.conf, self.engine) \
                .get_last_processed_timestamp(scope_id, session=session,
                                              for_update=True)
        else:
            state_api.ReprocessingSchedules(self.conf, self.engine) \
                .get_current_time(schedule_id, session=session,
                                  for_update=True)

    def replace_scope_period(
            self, scope_id: str, begin: datetime.datetime,
            end: datetime.datetime, frames: Iterable[DataFrame], *,
            schedule_id: int | None = None,
            expected: datetime.datetime | None | object = base.UNCHECKED,
    ) -> None:
        """See :meth:`BaseStorage.replace_scope_period`: progress check
        (row locked), InfluxDB window replaced, rollups and progress
        updated, in one SQL transaction."""
        frames = list(frames)
        lines = self._encoder().lines(frames, scope_id)
        with self._session() as session:
            self._lock_progress(session, scope_id, schedule_id, expected)
            with window.BackgroundWrite(self.client, core.CHUNK) as writing:
                writing.clear(self.scope_key, [scope_id], begin, end)
                writing.send(lines)
                self.rollups.replace(session, scope_id, begin, end, frames)
                if schedule_id is None:
                    state_api.StateManager(self.conf, self.engine) \
                        .set_last_processed_timestamp(scope_id, begin,
                                                      session=session)
                else:
                    state_api.ReprocessingSchedules(self.conf, self.engine) \
                        .set_current_time(schedule_id, begin,
                                          session=session)
                writing.wait()

    def replace_scope_periods(self, begin: datetime.datetime,
                              end: datetime.datetime,
                              items: Sequence[base.ScopePeriod]
                              ) -> list[str]:
        """See :meth:`BaseStorage.replace_scope_periods`: the state rows
        of every scope locked and checked with a few statements, one
        existence query (and a delete only for the scopes it finds),
        batched writes sent from a thread while the points are encoded
        and the rollups and states updated, one SQL transaction."""
        items = [item._replace(frames=list(item.frames)) for item in items]
        manager = state_api.StateManager(self.conf, self.engine)
        with self._session() as session:
            stale, kept, _ = base.split_stale(manager, items, session)
            scope_ids = sorted({item.scope_id for item in kept})
            encoder = self._encoder()
            # Encoding overlaps with InfluxDB clearing the window and
            # storing the first batches; the SQL side with the rest.
            with window.BackgroundWrite(self.client,
                                        core.BULK_CHUNK) as writing:
                writing.clear(self.scope_key, scope_ids, begin, end)
                for item in kept:
                    writing.send(encoder.lines(item.frames, item.scope_id))
                self.rollups.replace_many(
                    session, begin, end,
                    [(item.scope_id, item.frames) for item in kept])
                manager.set_last_processed_timestamps(scope_ids, begin,
                                                      session=session)
                writing.wait()
        return stale

    def reset_scope(self, scope_id: str, timestamp: datetime.datetime,
                    scope_key: str | None = None, fetcher: str | None = None,
                    collector: str | None = None) -> None:
        """See :meth:`BaseStorage.reset_scope`; state and rollups in one
        SQL transaction, after the InfluxDB delete."""
        manager = state_api.StateManager(self.conf, self.engine)
        key = scope_key or manager.current_keys()[0]
        with self._session() as session:
            self._delete(session, timestamp, None, {key: [scope_id]})
            manager.set_last_processed_timestamp(
                scope_id, base.state_before(self.conf, timestamp), key,
                fetcher, collector, session=session)


def _first_value(series: list[Any], column: int) -> Any:
    """Column ``column`` of the first row of a statement's series (time is
    column 0), None when it returned no row."""
    for serie in series:
        for values in serie.get("values") or []:
            return values[column]
    return None
