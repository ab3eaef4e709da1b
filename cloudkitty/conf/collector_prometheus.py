"""[collector_prometheus] options."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _clients, _util

GROUP = "collector_prometheus"

OPTS = _clients.prometheus_opts(url_default="")


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
