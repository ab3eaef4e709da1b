"""[collect] options: what is collected, how often, from which collector."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _util

GROUP = "collect"

OPTS = [
    cfg.StrOpt("collector", default="gnocchi",
               help="Collector backend (an entry point of "
                    "cloudkitty.collector.backends)."),
    cfg.IntOpt("period", default=3600, min=1,
               help="Length in seconds of one rating period."),
    cfg.IntOpt("wait_periods", default=2, min=0,
               help="Number of whole periods to wait after a period ends "
                    "before it is collected, so late metrics arrive."),
    cfg.StrOpt("metrics_conf", default="/etc/cloudkitty/metrics.yml",
               help="Path of the metrics definition file (metrics.yml)."),
    cfg.StrOpt("scope_key", default="project_id",
               help="Groupby key that identifies a scope in collected "
                    "data."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
