"""Serve one side's API for the side-by-side benchmarks.

    <venv>/bin/python _sidebyside_wsgi.py {upstream|ours} CONFIG_FILE PORT

Run with the Python of the side's own virtualenv, so upstream CloudKitty
25.0.0 and ours each serve their real WSGI application, behind the same
small server (the standard library's, one thread per request) on
127.0.0.1:PORT. Only the standard library is imported here besides the
side's own ``cloudkitty`` package.
"""
from __future__ import annotations

import socketserver
import sys
from typing import Any
from wsgiref import simple_server


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Access lines would only cost time; the benchmark times calls."""


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


def build(side: str, config_file: str) -> Any:
    if side == "upstream":
        # Upstream's hashmap controllers read [keystone_authtoken] to name
        # the rule's author even under noauth, where nothing registers that
        # group; importing keystonemiddleware registers it, as in a
        # keystone deployment (no token is sent, so the author is
        # "unknown" and Keystone is never called).
        import keystonemiddleware.auth_token  # noqa: F401

        from cloudkitty.api import app as upstream_app

        # Upstream's prepare_service() parses sys.argv itself.
        sys.argv = [sys.argv[0], "--config-file", config_file]
        return upstream_app.build_wsgi_app()
    from cloudkitty.cli import _lean

    _lean.without_eventlet()  # as cloudkitty.wsgi.api does
    from cloudkitty import service
    from cloudkitty.api import app

    conf = service.prepare_service(["--config-file", config_file],
                                   checks=app.API_CHECKS, source_auth=False)
    return app.build_wsgi_app(conf)


def main() -> None:
    side, config_file, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    application = build(side, config_file)
    server = simple_server.make_server(
        "127.0.0.1", port, application, server_class=_Server,
        handler_class=_QuietHandler)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
