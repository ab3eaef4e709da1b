"""The API as a WSGI application: ``cloudkitty.wsgi.api:application``.

The configuration is read when this module is imported: the file named by
the ``CLOUDKITTY_CONFIG_FILE`` environment variable if set, otherwise the
usual oslo.config locations (``/etc/cloudkitty/cloudkitty.conf``,
``~/.cloudkitty/cloudkitty.conf``... and the matching ``.conf.d``
directories). The application server's own command line is not parsed.
Unless the server already uses eventlet, the libraries are kept from
importing it (see :mod:`cloudkitty.cli._lean`).
"""
from __future__ import annotations

import os
from typing import Any

from cloudkitty import service
from cloudkitty.cli import _lean

#: Environment variable naming the configuration file to read.
CONFIG_FILE_ENV = "CLOUDKITTY_CONFIG_FILE"


def _config_files() -> list[str] | None:
    path = os.environ.get(CONFIG_FILE_ENV)
    return [path] if path else None


def build() -> Any:
    """Read the configuration and build the application."""
    _lean.without_eventlet()
    from cloudkitty.api import app

    conf = service.prepare_service([], config_files=_config_files(),
                                   checks=app.API_CHECKS, source_auth=False)
    return app.build_wsgi_app(conf)


application = build()
