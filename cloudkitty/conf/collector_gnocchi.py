"""[collector_gnocchi] options."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _clients, _keystone, _util

GROUP = "collector_gnocchi"

OPTS = _clients.gnocchi_opts()

#: Groups carrying keystoneauth options, each with the ``(group, option,
#: value)`` that selects the client reading them.
KEYSTONE_AUTH: dict[str, tuple[str, str, str]] = {
    GROUP: ("collect", "collector", "gnocchi"),
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the group's own options; its keystoneauth options are
    registered by :func:`cloudkitty.conf.register_source_auth`."""
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS + _keystone.list_opts())]
