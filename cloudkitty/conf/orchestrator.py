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
               help="Number of rating workers; 0 disables them."),
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
                    "true are not stored. Trusted operator input."),
    cfg.IntOpt("collector_request_timeout", default=300, min=30,
               help="Seconds allowed to collect all metrics of one scope "
                    "and period."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
