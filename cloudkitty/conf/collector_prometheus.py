"""[collector_prometheus] options."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _util

GROUP = "collector_prometheus"

OPTS = [
    cfg.StrOpt("prometheus_url", default="",
               help="Prometheus HTTP API base URL, including /api/v1."),
    cfg.StrOpt("prometheus_user",
               help="User name for HTTP basic authentication."),
    cfg.StrOpt("prometheus_password", secret=True,
               help="Password for HTTP basic authentication."),
    cfg.StrOpt("cafile",
               help="CA bundle used to verify Prometheus' certificate."),
    cfg.BoolOpt("insecure", default=False,
                help="Skip verification of Prometheus' certificate."),
    # A float as upstream, so existing files with fractional values load.
    cfg.FloatOpt("timeout", default=60, min=1,
                 help="Timeout in seconds of one Prometheus request."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
