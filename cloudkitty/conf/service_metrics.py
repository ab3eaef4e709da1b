"""[service_metrics] options: the Prometheus metrics of the processor
and the API about themselves (see doc/source/admin/service-metrics.rst)."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _util

GROUP = "service_metrics"

OPTS = [
    cfg.BoolOpt("enabled", default=False,
                help="Measure the processor and the API and serve the "
                     "figures to Prometheus: the processor on "
                     "processor_host:processor_port, the API on its own "
                     "port at api_path. Read at start-up only."),
    cfg.HostAddressOpt("processor_host", default="127.0.0.1",
                       help="Address the processor's metrics endpoint "
                            "listens on (0.0.0.0 or :: to let a remote "
                            "Prometheus scrape it)."),
    cfg.PortOpt("processor_port", default=9780,
                help="Port of the processor's metrics endpoint (HTTP, "
                     "any path). 0 picks a free port, logged at "
                     "start-up."),
    cfg.StrOpt("api_path", default="/metrics",
               help="Path of the API under which it serves its own "
                    "metrics, answered before authentication (restrict "
                    "it in the front web server if needed). Empty: the "
                    "API counts its requests but does not serve them."),
    cfg.StrOpt("multiproc_dir",
               help="Directory where the processes of a service write "
                    "their figures for the one that serves them to "
                    "add up: the processor uses its 'processor' "
                    "sub-directory (emptied at start-up), the API its "
                    "'api' sub-directory. The processor uses a private "
                    "temporary directory when unset. Set it for an API "
                    "run by several processes (uwsgi, mod_wsgi): without "
                    "it each API process counts only its own requests. "
                    "Empty the 'api' sub-directory before (re)starting "
                    "the API; a tmpfs does that at boot."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
