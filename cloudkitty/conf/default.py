"""[DEFAULT] options owned by CloudKitty."""
from __future__ import annotations

import socket

from oslo_config import cfg

from cloudkitty.conf import _util

GROUP = "DEFAULT"

OPTS = [
    cfg.StrOpt("api_paste_config", default="api_paste.ini",
               help="Paste deployment file of the API. A relative path is "
                    "looked up next to the configuration files."),
    cfg.StrOpt("auth_strategy", default="keystone",
               choices=["noauth", "keystone"],
               help="How API requests are authenticated."),
    cfg.HostAddressOpt("host", default=socket.getfqdn(),
                       sample_default="<server-hostname.example.com>",
                       help="Name of this host, used as the RPC server "
                            "name of the processor."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    _util.register(conf, GROUP, OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
