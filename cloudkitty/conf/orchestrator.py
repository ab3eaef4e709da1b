"""[orchestrator] options: processor workers, locking, skip expression."""
from __future__ import annotations

import os

from oslo_config import cfg

from cloudkitty.conf import _util

GROUP = "orchestrator"

_CPUS = os.cpu_count() or 1

OPTS = [
    cfg.StrOpt("coordination_url", default="file:///var/lib/cloudkitty/locks",
               secret=True,
               help="tooz coordination backend URL used for the per-scope "
                    "locks shared by processors."),
    cfg.IntOpt("max_workers", default=_CPUS, sample_default=4, min=0,
               help="Number of collector workers (they collect scope-periods "
                    "and hand them to rating workers); 0 disables them."),
    cfg.IntOpt("max_workers_rating", default=_CPUS, sample_default=4,
               min=0,
               help="Number of rating workers: how many frames (or "
                    "batches of frames) the processor rates and stores at "
                    "once. The collector and reprocessing workers of a "
                    "worker process rate through its rating workers "
                    "directly; the rating workers also serve the frames "
                    "that processors without rating workers send over "
                    "the message bus. 0 sends this processor's frames to "
                    "the rating workers of other processors sharing the "
                    "message bus (not possible with transport_url = "
                    "fake://, where workers always rate in their own "
                    "process)."),
    cfg.IntOpt("worker_processes", default=1, min=1,
               help="Processes the workers run in (as threads). One runs "
                    "in the cloudkitty-processor process itself, using the "
                    "least memory; more run under a supervising process "
                    "and share the workers out evenly, each process "
                    "using a CPU core of its own."),
    cfg.IntOpt("retry_interval", default=60, min=1,
               help="Seconds before the next cycle after a cycle in which "
                    "a scope could not be rated (collection error, no "
                    "rating worker...), when shorter than the collect "
                    "period; reprocessing workers also look for new "
                    "schedules this often."),
    cfg.IntOpt("max_workers_reprocessing", default=_CPUS, sample_default=4,
               min=0,
               help="Number of reprocessing workers; 0 disables them."),
    cfg.IntOpt("max_threads", default=16, min=1,
               deprecated_name="max_greenthreads",
               help="Threads one worker uses to collect the metrics of a "
                    "scope in parallel."),
    cfg.StrOpt("skip_datapoints_expression", default="False",
               help="Expression evaluated for each rated data point (as "
                    "'datapoint', its dict form); points for which it is "
                    "true are not stored. Written in the skip-expression "
                    "language (admin guide); a bad one stops start-up."),
    cfg.IntOpt("collector_request_timeout", default=300, min=30,
               help="Seconds allowed to collect all metrics of one scope "
                    "and period (of one batch of scopes and period when "
                    "scopes are collected together)."),
    cfg.IntOpt("max_scopes_per_batch", default=100, min=1,
               help="Most scopes a collector worker locks and catches up "
                    "together: each metric is queried once per period for "
                    "all of them, and their rated periods are handed to "
                    "the rating workers and stored in bulk. Bounds the "
                    "scope list of one collector query and the memory of "
                    "a worker (the frames of one batch and period). A "
                    "worker also takes no more than its share of the "
                    "scopes (scopes / max_workers), so every worker gets "
                    "some; 1 catches scopes up one by one."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
