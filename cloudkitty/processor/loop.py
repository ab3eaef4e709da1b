"""The collector workers' loop: discover scopes, lock one at a time, hand
its due periods to the rating workers.

A cycle visits every scope once (in random order, so processors sharing
the scopes spread out); each locked scope is caught up period by period.
Cycles start ``[collect] period`` seconds apart, measured from the start
of the previous one, or sooner after a cycle in which something failed
(``[orchestrator] retry_interval``). Nothing here touches the rated data
or the progress: the rating worker does, in one unit, when it
acknowledges a frame.
"""
from __future__ import annotations

import abc
import datetime
import random
import threading
import time
from concurrent import futures

from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.collector.base import BaseCollector
from cloudkitty.dataframe import DataFrame
from cloudkitty.fetcher.base import BaseFetcher
from cloudkitty.processor import locks, schedule
from cloudkitty.processor.collect import collect_frame
from cloudkitty.processor.rpcapi import RatingClient
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
                 rating: RatingClient) -> None:
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
    """Catch every scope up, one scope-period at a time."""

    def __init__(self, conf: cfg.ConfigOpts, *,
                 coordinator: locks.Coordinator, fetcher: BaseFetcher,
                 collector: BaseCollector, rating: RatingClient,
                 state: state_api.StateManager | None = None) -> None:
        super().__init__(conf, coordinator=coordinator, collector=collector,
                         rating=rating)
        self.fetcher = fetcher
        self.state = state or state_api.StateManager(conf)

    def run_cycle(self) -> bool:
        try:
            scopes = self.fetcher.get_scopes()
        except exceptions.CloudKittyError as exc:
            LOG.error("Could not list the scopes: %s", exc.message)
            return False
        random.shuffle(scopes)
        ok = True
        key, fetcher, collector = self.state.current_keys()
        for scope_id in scopes:
            if self.stopping.is_set():
                break
            name = locks.scope_lock_name(scope_id, collector, fetcher, key)
            with self.coordinator.try_lock(name) as taken:
                if not taken:
                    LOG.debug("Scope %s is locked by another worker",
                              scope_id)
                    continue
                ok = self.catch_up(scope_id) and ok
        return ok

    def catch_up(self, scope_id: str) -> bool:
        """Rate the due periods of ``scope_id`` (its lock held); False
        when one failed (the scope is retried next cycle)."""
        while not self.stopping.is_set():
            try:
                state = self.state.get_state(scope_id)
                if state is not None and not state.active:
                    LOG.debug("Scope %s is inactive", scope_id)
                    return True
                last = None if state is None \
                    else state.last_processed_timestamp
                begin = schedule.next_timestamp(self.conf, last)
                if begin is None:
                    return True
                self.rating.rate_frame(scope_id,
                                       self.collect(scope_id, begin), last)
            except exceptions.StaleProgress as exc:
                LOG.warning("Scope %s: %s", scope_id, exc.message)
                return False
            except exceptions.CloudKittyError as exc:
                LOG.error("Scope %s not rated further this cycle: %s",
                          scope_id, exc.message)
                return False
        return True
