"""[collector_gnocchi] options."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _keystone, _util

GROUP = "collector_gnocchi"

OPTS = [
    cfg.StrOpt("gnocchi_auth_type", default="keystone",
               choices=["keystone", "basic"],
               help="How to authenticate against Gnocchi."),
    cfg.StrOpt("gnocchi_user", default="",
               help="User name with basic authentication."),
    cfg.StrOpt("gnocchi_endpoint", default="",
               help="Gnocchi URL with basic authentication."),
    cfg.StrOpt("interface", default="internalURL",
               help="Endpoint interface looked up in the Keystone "
                    "catalog."),
    cfg.StrOpt("region_name", default="RegionOne",
               help="Region looked up in the Keystone catalog."),
    cfg.IntOpt("http_pool_maxsize", default=10, min=1,
               help="Maximum number of pooled HTTP connections to "
                    "Gnocchi."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)
    _keystone.register(conf, GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS + _keystone.list_opts())]
