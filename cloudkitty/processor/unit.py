"""The processor's unit of work: rate one collected scope-period and store
it together with the scope's progress.

Everything that makes a scope-period count exactly once happens here, in
order: the modules enabled now are loaded with the rules in force at the
period's start, the frame is rated, the skip expressions drop what must
not be stored, and the storage replaces the scope's window and advances
the progress in one unit (one SQL transaction), provided the progress is
still where the collector saw it.
"""
from __future__ import annotations

import datetime
from typing import Any

from oslo_config import cfg
from oslo_log import log

from cloudkitty.dataframe import DataFrame
from cloudkitty.processor import failpoints
from cloudkitty.processor import skip as skip_mod
from cloudkitty.rating import modules
from cloudkitty.storage.v2.base import BaseStorage

__all__ = ["RatingUnit"]

LOG = log.getLogger(__name__)


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
        LOG.info("Rated scope %s period %s: %d points%s", scope_id,
                 frame.start.isoformat(), points,
                 "" if schedule_id is None
                 else f" (reprocessing schedule {schedule_id})")
        return {"status": "stored", "points": points}
