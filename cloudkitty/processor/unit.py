"""The processor's unit of work: rate collected scope-periods and store
each together with its scope's progress (one scope-period, or the
scope-periods of many scopes for one period, in bulk).

Everything that makes a scope-period count exactly once happens here, in
order: the modules enabled now are loaded with the rules in force at the
period's start (for a batch, those of all its scopes at once), the frame
is rated, the skip expressions drop what must not be stored, and the
storage replaces the scope's window and advances the progress in one unit
(one SQL transaction), provided the progress is still where the collector
saw it.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, NamedTuple

from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.processor import failpoints
from cloudkitty.processor import skip as skip_mod
from cloudkitty.rating import RatingProcessor, modules
from cloudkitty.service_metrics import processor as service_metrics
from cloudkitty.storage.v2.base import BaseStorage, ScopePeriod

__all__ = ["BatchItem", "RatingUnit"]

LOG = log.getLogger(__name__)


class BatchItem(NamedTuple):
    """One scope's collected frame and the progress it was collected
    at."""

    scope_id: str
    frame: DataFrame
    expected: datetime.datetime | None


class RatingUnit:
    """What a rating worker needs to rate and store frames."""

    def __init__(self, conf: cfg.ConfigOpts, storage: BaseStorage,
                 skipper: skip_mod.Skipper,
                 manager: modules.ModuleManager | None = None) -> None:
        self.conf = conf
        self.storage = storage
        self.skipper = skipper
        self.manager = manager or modules.ModuleManager(conf)

    def rate(self, scope_id: str, frame: DataFrame) -> DataFrame:
        """``frame`` priced by the modules enabled now, with the rules in
        force at its start, minus the points the skip expressions drop."""
        processors = self.manager.load_enabled(scope_id, frame.start)
        return self.skipper.apply(modules.rate(frame, processors))

    def _load_many(self, scope_ids: Sequence[str],
                   at: datetime.datetime
                   ) -> dict[str, list[RatingProcessor]] | None:
        """The processors of each scope, loaded together; ``None`` when
        that fails, so that each scope loads (and fails) on its own."""
        if not scope_ids:
            return {}
        try:
            return self.manager.load_enabled_many(scope_ids, at)
        except exceptions.CloudKittyError as exc:
            LOG.warning("Could not load the rating modules of %d scopes "
                        "for period %s at once (%s); loading them scope "
                        "by scope", len(scope_ids), at.isoformat(),
                        exc.message)
            return None

    def rate_and_store(self, scope_id: str, frame: DataFrame,
                       expected: datetime.datetime | None,
                       schedule_id: int | None = None) -> dict[str, Any]:
        """Rate ``frame`` and store it as the scope's ``[start, end)``
        window, moving the progress (the scope state, or schedule
        ``schedule_id``) from ``expected`` to the frame's start.

        Raises :class:`StaleProgress` (nothing written) when the progress
        is no longer ``expected``.
        """
        failpoints.hit("rate")
        rated = self.rate(scope_id, frame)
        frames = [rated] if len(rated) else []
        self.storage.replace_scope_period(
            scope_id, frame.start, frame.end, frames,
            schedule_id=schedule_id, expected=expected)
        failpoints.hit("after-store")
        points = len(rated)
        service_metrics.scope_period_rated(
            scope_id, frame.end, points,
            reprocessing=schedule_id is not None)
        LOG.info("Rated scope %s period %s: %d points%s", scope_id,
                 frame.start.isoformat(), points,
                 "" if schedule_id is None
                 else f" (reprocessing schedule {schedule_id})")
        return {"status": "stored", "points": points}

    def rate_and_store_many(self, begin: datetime.datetime,
                            end: datetime.datetime,
                            items: Sequence[BatchItem]) -> dict[str, Any]:
        """Rate the frame of each item (period ``[begin, end)``) and store
        them all with one bulk write, each scope moving its state from its
        ``expected`` to ``begin``.

        Each scope is all or nothing: one whose rating fails or whose
        progress moved (stale) gets nothing written; the others are
        stored. Returns ``{"status": "done", "stored": {scope: points},
        "stale": {scope: reason}, "failed": {scope: reason}}``.
        """
        failpoints.hit("rate")
        failed: dict[str, str] = {}
        periods: list[ScopePeriod] = []
        points: dict[str, int] = {}
        batch: list[BatchItem] = []
        for item in items:
            if item.frame.start != begin or item.frame.end != end:
                failed[item.scope_id] = (
                    f"frame [{item.frame.start.isoformat()}, "
                    f"{item.frame.end.isoformat()}) is not the period of "
                    f"the batch")
                continue
            batch.append(item)
        loaded = self._load_many([item.scope_id for item in batch], begin)
        for item in batch:
            try:
                if loaded is None:
                    rated = self.rate(item.scope_id, item.frame)
                else:
                    rated = self.skipper.apply(modules.rate(
                        item.frame, loaded[item.scope_id]))
            except exceptions.CloudKittyError as exc:
                LOG.error("Could not rate scope %s period %s: %s",
                          item.scope_id, begin.isoformat(), exc.message)
                failed[item.scope_id] = exc.message
                continue
            points[item.scope_id] = len(rated)
            periods.append(ScopePeriod(item.scope_id,
                                       [rated] if len(rated) else [],
                                       item.expected))
        stale_ids = set(self.storage.replace_scope_periods(begin, end,
                                                           periods))
        failpoints.hit("after-store")
        stale: dict[str, str] = {}
        stored: dict[str, int] = {}
        for period in periods:
            scope_id = period.scope_id
            if scope_id in stale_ids:
                stale[scope_id] = (
                    f"The scope '{scope_id}' state is no longer at "
                    f"{period.expected} as when the frame was collected; "
                    f"the frame was dropped.")
                LOG.warning("Dropped a stale frame of scope %s period %s",
                            scope_id, begin.isoformat())
                continue
            stored[scope_id] = points[scope_id]
            service_metrics.scope_period_rated(scope_id, end,
                                               points[scope_id])
            LOG.info("Rated scope %s period %s: %d points", scope_id,
                     begin.isoformat(), points[scope_id])
        return {"status": "done", "stored": stored, "stale": stale,
                "failed": failed}
