"""Plumbing of the ``influxdb`` backend: encoding and writing points,
reading and decoding them, and bringing the rollups in line with the raw
points (after deletes the rollups cannot express, and when adopting a
database written by upstream). :class:`InfluxStorage
<cloudkitty.storage.v2.influx.backend.InfluxStorage>` builds the storage
contract on it.
"""
from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataFrameBuilder
from cloudkitty.db import api as db_api
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2 import rollups as rollups_mod
from cloudkitty.storage.v2.influx import encoder as encoder_mod
from cloudkitty.storage.v2.influx import influxql, reader
from cloudkitty.storage.v2.influx import points as points_mod
from cloudkitty.storage.v2.influx.client import InfluxClient, series_rows
from cloudkitty.storage.v2.rollups import PeriodSum, from_frames

__all__ = ["StorageCore", "CHUNK", "BULK_CHUNK", "MEASUREMENT"]

LOG = logging.getLogger(__name__)

#: Lines per POST: upstream's chunk for pushes, bigger for bulk writes.
CHUNK = 500
BULK_CHUNK = 5000
#: Statements per request when there are many.
_STATEMENTS_PER_REQUEST = 200
#: Window walked at a time when rebuilding rollups from raw points.
_REBUILD_STEP = datetime.timedelta(days=7)
#: The measurement, quoted for queries.
MEASUREMENT = influxql.ident(influxql.MEASUREMENT)
_M = MEASUREMENT


class StorageCore(base.BaseStorage):
    """What the backend's public methods share."""

    def __init__(self, conf: cfg.ConfigOpts,
                 engine: sa.Engine | None = None) -> None:
        super().__init__(conf)
        if conf.storage_influxdb.version != 1:
            raise exceptions.ConfigError(
                "only InfluxDB 1.x is supported", section="storage_influxdb",
                option="version")
        self.client = InfluxClient(conf)
        self._engine = engine
        self._rollups: rollups_mod.RollupStore | None = None

    # -- plumbing ---------------------------------------------------------
    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db_api.get_engine(self.conf)
        return self._engine

    @property
    def rollups(self) -> rollups_mod.RollupStore:
        if self._rollups is None:
            self._rollups = rollups_mod.RollupStore(self.conf, self.engine)
        return self._rollups

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with db_api.session_scope(self.engine) as session:
                yield session
        except sa.exc.DBAPIError as exc:
            raise exceptions.StorageError(
                f"SQL part of the storage failed: {exc.orig}") from exc

    def _encode(self, frames: Iterable[DataFrame], scope_id: str | None
                ) -> list[tuple[int, points_mod.Encoded]]:
        seq = time.time_ns()
        encoded: list[tuple[int, points_mod.Encoded]] = []
        for frame in frames:
            time_ns = influxql.ns(frame.start)
            period = int((frame.end - frame.start).total_seconds())
            for metric_type, point in frame.iterpoints():
                encoded.append((time_ns, points_mod.encode(
                    metric_type, point, period, seq, self.scope_key,
                    scope_id)))
                seq += 1
        return encoded

    def _encoder(self, taken: encoder_mod.Taken | None = None
                 ) -> encoder_mod.BatchEncoder:
        return encoder_mod.BatchEncoder(self.scope_key, taken)

    def _taken(self, encoded: Sequence[tuple[int, points_mod.Encoded]]
               ) -> encoder_mod.Taken:
        """How many copies of the pushed points' series each time holds
        already (only series of the pushed types and scopes are read)."""
        wanted: dict[int, tuple[set[str], set[str] | None]] = {}
        for time_ns, point in encoded:
            types, scopes = wanted.setdefault(time_ns, (set(), set()))
            types.add(point.tags["type"])
            scope = point.tags.get(self.scope_key)
            if scope is None or scopes is None:
                wanted[time_ns] = (types, None)
            else:
                scopes.add(scope)
        starts = sorted(wanted)
        statements = []
        for t in starts:
            types, scopes = wanted[t]
            where = [f"time >= {t}", f"time <= {t}",
                     influxql.any_of('"type"::tag', sorted(types))]
            if scopes is not None:
                where.append(influxql.any_of(
                    f"{influxql.ident(self.scope_key)}::tag", sorted(scopes)))
            statements.append(f'SELECT COUNT("groupby") FROM {_M}'
                              f'{influxql.and_all(where)} GROUP BY *')
        taken: encoder_mod.Taken = {}
        results = self._query_all(statements)
        for start, result in zip(starts, results, strict=True):
            for serie in result:
                tags = {k: v for k, v in (serie.get("tags") or {}).items()
                        if v != "" and k != points_mod.DUP_TAG}
                dup = int((serie.get("tags") or {}).get(
                    points_mod.DUP_TAG) or 0)
                key = (start, encoder_mod.series_key(tags))
                taken[key] = max(taken.get(key, 0), dup + 1)
        return taken

    def _query_all(self, statements: Sequence[str], write: bool = False
                   ) -> list[list[dict[str, Any]]]:
        results: list[list[dict[str, Any]]] = []
        for i in range(0, len(statements), _STATEMENTS_PER_REQUEST):
            results += self.client.query(
                statements[i:i + _STATEMENTS_PER_REQUEST], write=write)
        return results

    def _where(self, begin: datetime.datetime | None,
               end: datetime.datetime | None,
               filters: dict[str, list[str]],
               metric_types: Sequence[str] | None,
               tags: Sequence[str] = (), fields: Sequence[str] = (),
               extra: bool = True) -> reader.Selection:
        return reader.selection(begin, end, filters, metric_types, tags,
                                fields, extra)

    def _read(self, begin: datetime.datetime | None,
              end: datetime.datetime | None,
              filters: dict[str, list[str]],
              metric_types: Sequence[str] | None,
              tags: Sequence[str], fields: Sequence[str],
              extra: bool = True, where: Sequence[str] = ()
              ) -> Iterator[reader.Row]:
        """Rows matching ``filters``; ``where`` adds InfluxQL
        conditions."""
        if any(not values for values in filters.values()) or \
                metric_types == []:
            return
        sel = self._where(begin, end, filters, metric_types, tags, fields,
                          extra)
        sel.where += where
        for row in sel.rows(self.client):
            if reader.matches(row, filters):
                yield row

    def _keys(self) -> tuple[list[str], dict[str, str]]:
        """Tag keys and ``{field key: type}`` of the measurement."""
        tags_result, fields_result = self.client.query([
            f"SHOW TAG KEYS FROM {_M}", f"SHOW FIELD KEYS FROM {_M}"])
        tags = [row["tagKey"] for serie in tags_result
                for row in series_rows(serie)]
        fields = {row["fieldKey"]: row["fieldType"] for serie in fields_result
                  for row in series_rows(serie)}
        return tags, fields

    def _decode(self, row: reader.Row) -> points_mod.StoredPoint:
        return points_mod.decode({"time": row.time_ns}, row.tags, row.fields)

    def _period(self, value: int | None) -> datetime.timedelta:
        return datetime.timedelta(
            seconds=value if value is not None else self.conf.collect.period)

    def _frames(self, stored: Sequence[points_mod.StoredPoint]
                ) -> list[DataFrame]:
        frames: list[DataFrame] = []
        builder: DataFrameBuilder | None = None
        for item in stored:
            start = item.start
            end = start + self._period(item.period)
            if builder is None or (builder.start, builder.end) != (start,
                                                                   end):
                if builder is not None:
                    frames.append(builder.build())
                builder = DataFrameBuilder(start, end)
            builder.add_point(item.point, item.metric_type)
        if builder is not None:
            frames.append(builder.build())
        return [frame.with_usage(dict(sorted(frame.usage.items())))
                for frame in frames]

    def _affected(self, begin: datetime.datetime | None,
                  end: datetime.datetime | None,
                  filters: dict[str, list[str]]
                  ) -> set[tuple[str | None, str | None]]:
        return {(reader.filter_value(row, self.scope_key),
                 row.tags.get("type"))
                for row in self._read(begin, end, filters, None,
                                      [self.scope_key], [self.scope_key])}

    def _refresh_rollups(self, session: Session,
                         begin: datetime.datetime | None,
                         end: datetime.datetime | None,
                         scopes: Sequence[str | None]) -> None:
        """Recompute the rollups of ``scopes`` in the window from the raw
        points left."""
        known = [s for s in scopes if s is not None]
        filters = {self.scope_key: known} if None not in scopes else {}
        sums = self._sums(begin, end, filters)
        self.rollups.refresh(session, sums, begin, end,
                             None if None in scopes else known)

    def _sums(self, begin: datetime.datetime | None,
              end: datetime.datetime | None,
              filters: dict[str, list[str]]) -> list[PeriodSum]:
        """Rollup sums of the raw points of the window."""
        tags, fields = self._keys()
        by_scope: dict[str | None, list[points_mod.StoredPoint]] = {}
        for row in self._read(begin, end, filters, None, tags,
                              [*reader.BASE_FIELDS, *fields]):
            scope = reader.filter_value(row, self.scope_key)
            by_scope.setdefault(scope, []).append(self._decode(row))
        sums: list[PeriodSum] = []
        for scope, stored in by_scope.items():
            stored.sort(key=lambda p: (p.time_ns, p.period or 0))
            sums += from_frames(self._frames(stored), scope,
                                            self.scope_key)
        return sums

    def _rebuild_rollups_if_empty(self) -> None:
        ledger = rollups_mod.LEDGER
        with self._session() as session:
            if session.scalar(sa.select(sa.func.count()).select_from(
                    ledger)):
                return
            first, last = self.client.query([
                f'SELECT FIRST("groupby") FROM {_M}',
                f'SELECT LAST("groupby") FROM {_M}'])
            if not first or not last:
                return
            start = points_mod.from_ns(first[0]["values"][0][0])
            stop = points_mod.from_ns(last[0]["values"][0][0])
            LOG.info("Building the rollups from the InfluxDB points of %s "
                     "to %s", start, stop)
            sums: list[PeriodSum] = []
            cursor = start
            while cursor <= stop:
                sums += self._sums(cursor, cursor + _REBUILD_STEP, {})
                cursor += _REBUILD_STEP
            self.rollups.rebuild(session, sums)
