"""[collector_gnocchi] options."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _clients, _keystone, _util

GROUP = "collector_gnocchi"

OPTS = _clients.gnocchi_opts()


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)
    _keystone.register(conf, GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS + _keystone.list_opts())]
