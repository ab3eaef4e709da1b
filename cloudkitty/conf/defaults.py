"""Defaults CloudKitty sets on options owned by oslo libraries."""
from __future__ import annotations

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_middleware import cors

DEFAULT_DB_CONNECTION = "sqlite:////var/lib/cloudkitty/cloudkitty.sqlite"

_CORS_ALLOW_HEADERS = [
    "X-Auth-Token", "X-Subject-Token", "X-Roles", "X-User-Id",
    "X-Domain-Id", "X-Project-Id", "X-Tenant-Id", "X-OpenStack-Request-ID",
]
_CORS_EXPOSE_HEADERS = [
    "X-Auth-Token", "X-Subject-Token", "X-Service-Token",
    "X-OpenStack-Request-ID",
]
_CORS_METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH"]


def set_config_defaults(conf: cfg.ConfigOpts | None = None) -> None:
    """Set CloudKitty's defaults for the CORS middleware options.

    Also the ``oslo.config.opts.defaults`` entry point, so the generated
    sample shows them.
    """
    import oslo_messaging  # imported late: heavy, and only its defaults

    # Upstream's exchange, so mixed deployments share the queues.
    oslo_messaging.set_transport_defaults(control_exchange="cloudkitty")
    cors.set_defaults(allow_headers=_CORS_ALLOW_HEADERS,
                      expose_headers=_CORS_EXPOSE_HEADERS,
                      allow_methods=_CORS_METHODS)
    # On the option objects themselves, so the generated sample shows the
    # SQLite default too (set_db_defaults only changes one ConfigOpts).
    cfg.set_defaults(db_options.database_opts,
                     connection=DEFAULT_DB_CONNECTION)


def set_db_defaults(conf: cfg.ConfigOpts) -> None:
    db_options.set_defaults(conf, connection=DEFAULT_DB_CONNECTION)
