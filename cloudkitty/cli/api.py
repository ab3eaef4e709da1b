"""``cloudkitty-api``: serve the API for development and tests.

Serves the same WSGI application as ``cloudkitty.wsgi.api`` with the
standard library's WSGI server (one thread per request) on ``[api]
host_ip`` and ``[api] port``. Production deployments run
``cloudkitty.wsgi.api:application`` under uwsgi, mod_wsgi or gunicorn.
"""
from __future__ import annotations

import socket
import socketserver
import sys
from collections.abc import Sequence
from typing import Any
from wsgiref import simple_server

from oslo_config import cfg
from oslo_log import log

from cloudkitty import service
from cloudkitty.cli import _lean
from cloudkitty.cli._run import run

LOG = log.getLogger(__name__)


class _Handler(simple_server.WSGIRequestHandler):
    """Request log lines go to the service log, not stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        LOG.info("%s %s", self.address_string(), format % args)


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(conf: cfg.ConfigOpts, application: Any
                ) -> simple_server.WSGIServer:
    """A threaded WSGI server bound to ``[api] host_ip``:``[api] port``."""
    host, port = conf.api.host_ip, conf.api.port
    server_class = _Server6 if ":" in host else _Server
    return simple_server.make_server(host, port, application,
                                     server_class=server_class,
                                     handler_class=_Handler)


def serve(argv: Sequence[str] | None = None) -> int:
    from cloudkitty.api import app

    conf = service.prepare_service(
        sys.argv[1:] if argv is None else argv, checks=app.API_CHECKS,
        source_auth=False)
    application = app.build_wsgi_app(conf)
    server = make_server(conf, application)
    host, port = server.server_address[:2]
    LOG.info("cloudkitty-api serving on http://%s:%s (auth_strategy=%s)",
             host, port, conf.auth_strategy)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main() -> None:
    _lean.without_eventlet()
    run(serve)
