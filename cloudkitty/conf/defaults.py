"""Defaults CloudKitty sets on options owned by oslo libraries.

The database default is set in every process. The CORS and messaging
defaults change option objects of oslo.middleware and oslo.messaging,
which are heavy to import and which some processes never use (the API
under ``noauth`` never sends an RPC until a rating module changes, the
processor serves no CORS): they are set when the library is already
loaded, and otherwise by the code that loads it, before it registers
the options (:func:`set_cors_defaults`, :func:`set_messaging_defaults`).
"""
from __future__ import annotations

import sys

from oslo_config import cfg
from oslo_db import options as db_options

__all__ = ["DEFAULT_DB_CONNECTION", "CONTROL_EXCHANGE", "set_config_defaults",
           "set_cors_defaults", "set_db_defaults", "set_messaging_defaults"]

DEFAULT_DB_CONNECTION = "sqlite:////var/lib/cloudkitty/cloudkitty.sqlite"

#: Upstream's exchange, so mixed deployments share the queues.
CONTROL_EXCHANGE = "cloudkitty"

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
    """Set CloudKitty's defaults for the options of oslo libraries.

    Also the ``oslo.config.opts.defaults`` entry point, so the generated
    sample shows them (the generator has loaded the libraries of its
    namespaces by then).
    """
    if "oslo_messaging" in sys.modules:
        set_messaging_defaults()
    if "oslo_middleware.cors" in sys.modules:
        set_cors_defaults()
    # On the option objects themselves, so the generated sample shows the
    # SQLite default too (set_db_defaults only changes one ConfigOpts).
    cfg.set_defaults(db_options.database_opts,
                     connection=DEFAULT_DB_CONNECTION)


def set_messaging_defaults() -> None:
    """oslo.messaging's ``control_exchange`` default. Imports
    oslo.messaging: call it where RPC is about to be used, before its
    options are registered."""
    import oslo_messaging

    oslo_messaging.set_transport_defaults(control_exchange=CONTROL_EXCHANGE)


def set_cors_defaults() -> None:
    """The ``[cors]`` defaults. Imports oslo.middleware's CORS."""
    from oslo_middleware import cors

    cors.set_defaults(allow_headers=_CORS_ALLOW_HEADERS,
                      expose_headers=_CORS_EXPOSE_HEADERS,
                      allow_methods=_CORS_METHODS)


def set_db_defaults(conf: cfg.ConfigOpts) -> None:
    db_options.set_defaults(conf, connection=DEFAULT_DB_CONNECTION)
