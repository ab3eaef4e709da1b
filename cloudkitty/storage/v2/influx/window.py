"""Clearing scopes' windows before they are written again, and writing
in the background while the SQL side of a unit of work runs.

InfluxDB 1.x answers a ``DELETE`` by walking every shard's index for the
matching series and tombstoning them, even when the window holds no
point: on a database with many series it is the slowest part of a write.
A catch-up mostly writes windows nobody wrote before, so
:func:`clear_scopes` first asks which of the scopes have a point in the
window — with the same conditions the ``DELETE`` would use, so a partial
write left by a crashed attempt is found — and deletes only for those.
"""
from __future__ import annotations

import concurrent.futures
import datetime
from collections.abc import Callable, Iterable, Sequence

from cloudkitty.storage.v2.influx import influxql
from cloudkitty.storage.v2.influx.client import InfluxClient

__all__ = ["clear_scopes", "scopes_with_points", "BackgroundWrite"]

#: Scopes per tag OR-list in one statement.
SCOPES_PER_STATEMENT = 200
#: Statements per request.
_STATEMENTS_PER_REQUEST = 50
_M = influxql.ident(influxql.MEASUREMENT)


def _conditions(scope_key: str, scope_ids: Sequence[str],
                begin: datetime.datetime, end: datetime.datetime
                ) -> str:
    return influxql.and_all([
        influxql.any_of(f"{influxql.ident(scope_key)}::tag", scope_ids),
        *influxql.time_window(begin, end)])


def _chunks(scope_ids: Sequence[str]) -> list[Sequence[str]]:
    return [scope_ids[i:i + SCOPES_PER_STATEMENT]
            for i in range(0, len(scope_ids), SCOPES_PER_STATEMENT)]


def _run(client: InfluxClient, statements: Sequence[str], write: bool
         ) -> list[list[dict[str, object]]]:
    results: list[list[dict[str, object]]] = []
    for i in range(0, len(statements), _STATEMENTS_PER_REQUEST):
        results += client.query(statements[i:i + _STATEMENTS_PER_REQUEST],
                                write=write)
    return results


def scopes_with_points(client: InfluxClient, scope_key: str,
                       scope_ids: Sequence[str], begin: datetime.datetime,
                       end: datetime.datetime) -> set[str]:
    """Which of ``scope_ids`` have a point (ours or upstream's) tagged
    with them in ``[begin, end)``: at most one point per scope is read."""
    ident = influxql.ident(scope_key)
    # Every point of the layout has the "groupby" field, so a point of
    # the window is never missed for lack of the selected field.
    statements = [f'SELECT "groupby" FROM {_M}'
                  f'{_conditions(scope_key, chunk, begin, end)}'
                  f' GROUP BY {ident} LIMIT 1'
                  for chunk in _chunks(scope_ids)]
    found: set[str] = set()
    for series in _run(client, statements, write=False):
        for serie in series:
            tags = serie.get("tags") or {}
            if isinstance(tags, dict) and tags.get(scope_key):
                found.add(str(tags[scope_key]))
    return found


def clear_scopes(client: InfluxClient, scope_key: str,
                 scope_ids: Sequence[str], begin: datetime.datetime,
                 end: datetime.datetime) -> list[str]:
    """Delete the points of ``scope_ids`` in ``[begin, end)``, sending a
    ``DELETE`` only for the scopes that have some; returns those."""
    present = scopes_with_points(client, scope_key, scope_ids, begin, end)
    stored = sorted(present.intersection(scope_ids))
    if stored:
        _run(client, [f"DELETE FROM {_M}"
                      f"{_conditions(scope_key, chunk, begin, end)}"
                      for chunk in _chunks(stored)], write=True)
    return stored


class BackgroundWrite:
    """A window's replacement, sent from a thread while the caller goes
    on encoding and then updating the SQL side of the unit of work.

    Tasks run in the order given: first clearing the scopes' window
    (:func:`clear_scopes`), then each batch of lines as soon as it is
    full. After a failure the remaining tasks are skipped, and
    :meth:`wait` raises it. Use as a context manager: leaving it waits
    for the thread, so no write is still on its way when the caller's
    transaction ends (a rolled-back attempt must not write after its
    retry cleared the window).
    """

    def __init__(self, client: InfluxClient, batch_size: int) -> None:
        self._client = client
        self._batch_size = batch_size
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="influx-write")
        self._futures: list[concurrent.futures.Future[object]] = []
        self._failed: BaseException | None = None
        self._pending: list[str] = []
        self.written = 0

    def _run(self, function: Callable[..., object], *args: object
             ) -> object:
        if self._failed is not None:
            return None
        try:
            return function(*args)
        except BaseException as exc:
            self._failed = exc
            raise

    def _submit(self, function: Callable[..., object], *args: object
                ) -> None:
        self._futures.append(self._pool.submit(self._run, function, *args))

    def clear(self, scope_key: str, scope_ids: Sequence[str],
              begin: datetime.datetime, end: datetime.datetime) -> None:
        """Queue :func:`clear_scopes`."""
        self._submit(clear_scopes, self._client, scope_key,
                     list(scope_ids), begin, end)

    def send(self, lines: Iterable[str]) -> None:
        """Queue ``lines``; full batches leave at once."""
        for line in lines:
            self._pending.append(line)
            if len(self._pending) >= self._batch_size:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._submit(self._client.write, self._pending,
                         self._batch_size)
            self.written += len(self._pending)
            self._pending = []

    def wait(self) -> int:
        """Send what is left, wait for every task; the number of lines
        written."""
        self._flush()
        for future in self._futures:
            future.result()
        return self.written

    def __enter__(self) -> BackgroundWrite:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, traceback: object) -> None:
        if exc is not None and self._failed is None:
            self._failed = exc  # batches not sent yet are not sent
        self._pool.shutdown(wait=True)
