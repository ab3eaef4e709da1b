"""The reprocessing workers' loop (COMPAT §7.2).

Each unfinished schedule is locked and advanced period by period from its
start to its end (the period starting at the end included, as upstream
does): the scope's window is collected again and handed to a rating
worker, which replaces the stored window with the frame rated by the rules
in force for that period and records the schedule's progress in the same
unit. The scope's regular state is never touched.
"""
from __future__ import annotations

import random

from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.collector.base import BaseCollector
from cloudkitty.processor import locks
from cloudkitty.processor.handover import Rating
from cloudkitty.processor.loop import CollectingLoop
from cloudkitty.storage import state as state_api

__all__ = ["ReprocessLoop"]

LOG = log.getLogger(__name__)


class ReprocessLoop(CollectingLoop):
    def __init__(self, conf: cfg.ConfigOpts, *,
                 coordinator: locks.Coordinator, collector: BaseCollector,
                 rating: Rating,
                 schedules: state_api.ReprocessingSchedules | None = None,
                 ) -> None:
        super().__init__(conf, coordinator=coordinator, collector=collector,
                         rating=rating)
        self.schedules = schedules or state_api.ReprocessingSchedules(conf)

    def interval(self, ok: bool) -> float:
        # Schedules arrive at any time: look for new ones often.
        return min(super().interval(ok),
                   float(self.conf.orchestrator.retry_interval))

    def run_cycle(self) -> bool:
        schedules = self.schedules.get_unfinished()
        random.shuffle(schedules)
        ok = True
        for item in schedules:
            if self.stopping.is_set():
                break
            name = locks.reprocessing_lock_name(
                item.scope_id, item.start_reprocess_time,
                item.end_reprocess_time)
            with self.coordinator.try_lock(name) as taken:
                if taken:
                    ok = self.advance(item) and ok
        return ok

    def advance(self, item: state_api.ScheduleRecord) -> bool:
        """Run schedule ``item`` to its end (its lock held)."""
        while not self.stopping.is_set():
            try:
                current = self.schedules.get_current_time(item.id)
                begin = item.start_reprocess_time if current is None \
                    else current + self.period
                if begin > item.end_reprocess_time:
                    return True
                self.rating.rate_frame(item.scope_id,
                                       self.collect(item.scope_id, begin),
                                       current, schedule_id=item.id)
            except exceptions.CloudKittyError as exc:
                LOG.error("Reprocessing schedule %s of scope %s paused: %s",
                          item.id, item.scope_id, exc.message)
                return False
        return True
