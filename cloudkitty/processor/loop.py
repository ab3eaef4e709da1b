"""The collector workers' loop: discover scopes, lock them in batches,
hand their due periods to the rating workers.

A cycle visits every scope once (in random order, so processors sharing
the scopes spread out); each batch of locked scopes is caught up period
by period, the scopes due at the same period together.
Cycles start ``[collect] period`` seconds apart, measured from the start
of the previous one, or sooner after a cycle in which something failed
(``[orchestrator] retry_interval``). Nothing here touches the rated data
or the progress: the rating worker does, in one unit, when it
acknowledges a frame.
"""
from __future__ import annotations

import abc
import contextlib
import datetime
import math
import random
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import NamedTuple

from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.collector.base import BaseCollector
from cloudkitty.dataframe import DataFrame
from cloudkitty.fetcher.base import BaseFetcher
from cloudkitty.processor import locks, reset, rpcapi, schedule
from cloudkitty.processor.collect import (
    BatchCollection,
    collect_frame,
    collect_frames,
)
from cloudkitty.processor.handover import Rating
from cloudkitty.processor.rpcapi import ScopeFrame
from cloudkitty.storage import state as state_api

__all__ = ["CollectingLoop", "CollectorLoop", "Loop"]

LOG = log.getLogger(__name__)


class Loop(abc.ABC):
    """A worker loop that stops between units of work."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.stopping = threading.Event()

    @abc.abstractmethod
    def run_cycle(self) -> bool:
        """One pass over the work; True when everything went well."""

    def interval(self, ok: bool) -> float:
        period = float(self.conf.collect.period)
        if ok:
            return period
        return min(period, float(self.conf.orchestrator.retry_interval))

    def run(self) -> None:
        """Cycle until :meth:`stop`; a failing cycle is logged, never
        fatal."""
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                ok = self.run_cycle()
            except Exception:
                LOG.exception("Processor cycle failed")
                ok = False
            elapsed = time.monotonic() - started
            self.stopping.wait(max(0.0, self.interval(ok) - elapsed))

    def stop(self) -> None:
        self.stopping.set()


class CollectingLoop(Loop):
    """A loop that collects scope-periods and hands them to rating
    workers, its collection bounded by one thread pool."""

    def __init__(self, conf: cfg.ConfigOpts, *,
                 coordinator: locks.Coordinator, collector: BaseCollector,
                 rating: Rating) -> None:
        super().__init__(conf)
        self.coordinator = coordinator
        self.collector = collector
        self.rating = rating
        self.pool = futures.ThreadPoolExecutor(
            max_workers=conf.orchestrator.max_threads,
            thread_name_prefix=type(self).__name__)
        self.period = datetime.timedelta(seconds=conf.collect.period)

    def collect(self, scope_id: str, begin: datetime.datetime
                ) -> DataFrame:
        """The usage of ``scope_id`` over the period starting at
        ``begin``."""
        return collect_frame(
            self.collector, scope_id, begin, begin + self.period,
            pool=self.pool,
            timeout=self.conf.orchestrator.collector_request_timeout)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class CollectorLoop(CollectingLoop):
    """Catch every scope up, period by period, in batches of scopes.

    A worker locks up to ``[orchestrator] max_scopes_per_batch`` scopes
    it finds free (and no more than its share of them), reads their
    states at once and catches them up together: the scopes due at the
    same period are collected with one request per metric and handed to
    a rating worker in one call, which stores them in bulk. The earliest
    due period goes first, so scopes behind the others catch up with
    them and then move along together. Each scope is still all or
    nothing per period: one that failed or was found stale leaves the
    batch (and is retried next cycle) while the others go on. Every
    :attr:`LOCK_HOLD` seconds the batch's locks are let go for a moment
    (a scope reset waiting for one takes it) and taken again.
    """

    #: Seconds a batch keeps its locks before letting them go for
    #: :attr:`RELOCK_PAUSE` seconds, well within the time a scope reset
    #: waits for a lock.
    LOCK_HOLD = reset.DEFAULT_LOCK_TIMEOUT / 2
    RELOCK_PAUSE = 0.3

    def __init__(self, conf: cfg.ConfigOpts, *,
                 coordinator: locks.Coordinator, fetcher: BaseFetcher,
                 collector: BaseCollector, rating: Rating,
                 state: state_api.StateManager | None = None) -> None:
        super().__init__(conf, coordinator=coordinator, collector=collector,
                         rating=rating)
        self.fetcher = fetcher
        self.state = state or state_api.StateManager(conf)
        # Drives the read-ahead (whose requests run on ``pool``).
        self._reader = futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="read-ahead")

    def close(self) -> None:
        self._reader.shutdown(wait=False, cancel_futures=True)
        super().close()

    def batch_size(self, scopes: int) -> int:
        """Scopes one batch takes: at most ``max_scopes_per_batch`` and
        at most this worker's share."""
        workers = max(1, int(self.conf.orchestrator.max_workers))
        share = max(1, math.ceil(scopes / workers))
        return min(int(self.conf.orchestrator.max_scopes_per_batch), share)

    def run_cycle(self) -> bool:
        try:
            scopes = self.fetcher.get_scopes()
        except exceptions.CloudKittyError as exc:
            LOG.error("Could not list the scopes: %s", exc.message)
            return False
        random.shuffle(scopes)
        ok = True
        size = self.batch_size(len(scopes))
        pending = iter(scopes)
        while not self.stopping.is_set():
            with contextlib.ExitStack() as held:
                batch = self._lock_batch(pending, size, held)
                if not batch:
                    break
                while batch:
                    done, batch = self._catch_up(
                        batch, time.monotonic() + self.LOCK_HOLD)
                    ok = done and ok
                    if not batch or self.stopping.is_set():
                        break
                    # Let whoever waits for one of these locks (a scope
                    # reset) have it, then go on with those still free.
                    held.close()
                    self.stopping.wait(self.RELOCK_PAUSE)
                    batch = self._lock_batch(iter(batch), len(batch), held)
        return ok

    def _lock_batch(self, scopes: Iterator[str], size: int,
                    held: contextlib.ExitStack) -> list[str]:
        """Take the locks of the next ``size`` free scopes (released when
        ``held`` closes)."""
        key, fetcher, collector = self.state.current_keys()
        batch: list[str] = []
        for scope_id in scopes:
            name = locks.scope_lock_name(scope_id, collector, fetcher, key)
            if held.enter_context(self.coordinator.try_lock(name)):
                batch.append(scope_id)
                if len(batch) >= size:
                    break
            else:
                LOG.debug("Scope %s is locked by another worker", scope_id)
        return batch

    def catch_up(self, scope_id: str) -> bool:
        """Rate the due periods of ``scope_id`` (its lock held); False
        when one failed (the scope is retried next cycle)."""
        return self.catch_up_batch([scope_id])

    def _progress(self, scope_ids: list[str]
                  ) -> dict[str, datetime.datetime | None]:
        """Where each active scope of ``scope_ids`` stands (None: never
        rated), read in one query."""
        key, fetcher, collector = self.state.current_keys()
        records = {record.scope_id: record for record in
                   self.state.list_states(scope_ids, key, fetcher,
                                          collector)}
        progress: dict[str, datetime.datetime | None] = {}
        for scope_id in scope_ids:
            record = records.get(scope_id)
            if record is not None and not record.active:
                LOG.debug("Scope %s is inactive", scope_id)
                continue
            progress[scope_id] = None if record is None \
                else record.last_processed_timestamp
        return progress

    def catch_up_batch(self, scope_ids: list[str]) -> bool:
        """Rate the due periods of ``scope_ids`` (their locks held);
        False when a scope failed (it is retried next cycle)."""
        return self._catch_up(scope_ids, None)[0]

    def _catch_up(self, scope_ids: list[str], until: float | None
                  ) -> tuple[bool, list[str]]:
        """:meth:`catch_up_batch`, pausing at the first period boundary
        after ``until`` (a ``time.monotonic()`` value; None: never).
        Returns whether nothing failed and the scopes left to catch up.

        While a period is being rated, the next one is collected for the
        scopes expected to be due then (read ahead): a worker holds the
        frames of two periods of its batch at most.
        """
        try:
            progress = self._progress(scope_ids)
        except exceptions.CloudKittyError as exc:
            LOG.error("Could not read the state of %d scopes: %s",
                      len(scope_ids), exc.message)
            return False, []
        ok = True
        ahead: _ReadAhead | None = None
        try:
            while progress and not self.stopping.is_set():
                if until is not None and time.monotonic() >= until:
                    return ok, list(progress)
                now = schedule.utcnow()
                due = self._next_group(progress, now)
                if due is None:
                    break
                begin, scopes = due
                collected = self._collected(ahead, begin, scopes)
                ahead = None
                failed = {scope_id: self._failed(scope_id, reason)
                          for scope_id, reason in collected.failed.items()}
                expected = {scope_id: progress[scope_id]
                            for scope_id in collected.frames}
                after = {scope_id: begin if scope_id in expected else last
                         for scope_id, last in progress.items()
                         if scope_id not in failed}
                upcoming = self._next_group(after, now)
                if upcoming is not None and not self.stopping.is_set():
                    ahead = _ReadAhead(*upcoming, self._reader.submit(
                        self._collect, *upcoming))
                failed.update(self._hand_over(begin, collected, expected))
                del collected
                for scope_id in failed:
                    del progress[scope_id]
                    ok = False
                for scope_id in expected:
                    if scope_id in progress:
                        progress[scope_id] = begin
        finally:
            if ahead is not None:
                ahead.job.cancel()
        return ok, []

    def _next_group(self, progress: dict[str, datetime.datetime | None],
                    now: datetime.datetime,
                    ) -> tuple[datetime.datetime, list[str]] | None:
        """The earliest due period of the scopes of ``progress`` and the
        scopes due then; scopes with nothing due are removed."""
        due: dict[datetime.datetime, list[str]] = {}
        for scope_id, last in list(progress.items()):
            begin = schedule.next_timestamp(self.conf, last, now)
            if begin is None:
                del progress[scope_id]
            else:
                due.setdefault(begin, []).append(scope_id)
        if not due:
            return None
        begin = min(due)
        return begin, due[begin]

    def _collect(self, begin: datetime.datetime, scopes: list[str]
                 ) -> BatchCollection:
        try:
            return collect_frames(
                self.collector, scopes, begin, begin + self.period,
                pool=self.pool,
                timeout=self.conf.orchestrator.collector_request_timeout)
        except exceptions.CloudKittyError as exc:
            return BatchCollection({}, dict.fromkeys(scopes, exc.message))

    def _collected(self, ahead: _ReadAhead | None,
                   begin: datetime.datetime, scopes: list[str]
                   ) -> BatchCollection:
        """The period at ``begin`` of ``scopes``: what was read ahead when
        it covers them, else collected now."""
        if ahead is None or ahead.begin != begin \
                or not set(scopes) <= set(ahead.scopes):
            if ahead is not None:
                ahead.job.cancel()
            return self._collect(begin, scopes)
        got = ahead.job.result()
        return BatchCollection(
            {s: got.frames[s] for s in scopes if s in got.frames},
            {s: got.failed[s] for s in scopes if s in got.failed})

    def _hand_over(self, begin: datetime.datetime,
                   collected: BatchCollection,
                   expected: dict[str, datetime.datetime | None]
                   ) -> dict[str, str]:
        """Have the frames of ``collected`` rated and stored (in calls
        of bounded size, in parallel); returns the scopes that were not
        stored (failed or stale, logged) with the reason."""
        end = begin + self.period
        out: dict[str, str] = {}
        chunks = list(rpcapi.chunk_by_points([
            ScopeFrame(scope_id, frame, expected[scope_id])
            for scope_id, frame in collected.frames.items()]))
        calls = [self.pool.submit(self.rating.rate_frames, begin, end, chunk)
                 for chunk in chunks]
        for chunk, call in zip(chunks, calls, strict=True):
            try:
                reply = call.result()
            except exceptions.CloudKittyError as exc:
                for item in chunk:
                    out[item.scope_id] = self._failed(item.scope_id,
                                                      exc.message)
                continue
            for scope_id, reason in reply.stale.items():
                LOG.warning("Scope %s: %s", scope_id, reason)
                out[scope_id] = reason
            for scope_id, reason in reply.failed.items():
                out[scope_id] = self._failed(scope_id, reason)
            for item in chunk:
                if item.scope_id not in reply.stored:
                    out.setdefault(item.scope_id, self._failed(
                        item.scope_id, "the rating worker did not store "
                        "it"))
        return out

    @staticmethod
    def _failed(scope_id: str, reason: str) -> str:
        LOG.error("Scope %s not rated further this cycle: %s", scope_id,
                  reason)
        return reason


class _ReadAhead(NamedTuple):
    """The next period, being collected while the current one is rated."""

    begin: datetime.datetime
    scopes: list[str]
    job: futures.Future[BatchCollection]
