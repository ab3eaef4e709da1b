"""[api] options."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _util

GROUP = "api"

OPTS = [
    cfg.HostAddressOpt("host_ip", default="0.0.0.0",
                       help="Address the development API server "
                            "(cloudkitty-api) listens on."),
    cfg.PortOpt("port", default=8889,
                help="Port the development API server listens on."),
    cfg.BoolOpt("pecan_debug", default=False,
                help="Run Pecan in debug mode (never in production: it "
                     "shows tracebacks to clients)."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
