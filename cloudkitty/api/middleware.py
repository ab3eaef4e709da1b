"""WSGI middlewares of the paste pipelines (``etc/cloudkitty/api_paste.ini``).

Paste only passes strings to factories, so the service's ``ConfigOpts`` is
registered under a key (:func:`register_conf`) that :func:`app.build_wsgi_app`
puts in the paste global configuration as ``cloudkitty_conf_key``; the
factories below look it up, so every middleware reads the same options as
the application instead of the global ``cfg.CONF``.
"""
from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import webob
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_middleware import cors, healthcheck, http_proxy_to_wsgi

from cloudkitty import exceptions

__all__ = ["AuthTokenMiddleware", "CONF_KEY", "conf_from_paste",
           "cors_filter_factory", "healthcheck_filter_factory",
           "http_proxy_to_wsgi_filter_factory", "register_conf"]

#: Name of the paste global option holding the configuration's key.
CONF_KEY = "cloudkitty_conf_key"

WSGIApp = Callable[..., Any]
Filter = Callable[[WSGIApp], WSGIApp]

# Weak: a configuration lives as long as the application built from it.
_CONFS: weakref.WeakValueDictionary[str, cfg.ConfigOpts] = \
    weakref.WeakValueDictionary()


def register_conf(conf: cfg.ConfigOpts) -> str:
    """Register ``conf`` for the paste factories; returns its key."""
    key = uuid.uuid4().hex
    _CONFS[key] = conf
    return key


def conf_from_paste(global_conf: Mapping[str, Any]) -> cfg.ConfigOpts:
    """The ``ConfigOpts`` a paste global configuration refers to."""
    key = global_conf.get(CONF_KEY)
    conf = _CONFS.get(key) if key else None
    if conf is None:
        raise exceptions.ConfigError(
            f"the paste pipeline must be loaded by "
            f"cloudkitty.api.app.build_wsgi_app (no '{CONF_KEY}')",
            section="DEFAULT", option="api_paste_config")
    return conf


def cors_filter_factory(global_conf: Mapping[str, Any],
                        **_local: Any) -> Filter:
    """oslo.middleware CORS, configured by the ``[cors]`` options."""
    conf = conf_from_paste(global_conf)
    return lambda app: cors.CORS(app, conf)


def http_proxy_to_wsgi_filter_factory(global_conf: Mapping[str, Any],
                                      **_local: Any) -> Filter:
    """oslo.middleware HTTPProxyToWSGI (honours ``X-Forwarded-Proto``...
    when ``[oslo_middleware] enable_proxy_headers_parsing`` is true)."""
    conf = conf_from_paste(global_conf)
    return lambda app: http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)


def healthcheck_filter_factory(global_conf: Mapping[str, Any],
                               **local_conf: Any) -> Filter:
    """Serve oslo.middleware's health check on ``path`` (default
    ``/healthcheck``) ahead of the rest of the pipeline.

    oslo.middleware only ships the health check as an application; this
    filter keeps it in the pipeline, before authentication, without a URL
    map. The options (``backends``, ``disable_by_file_path``...) are
    oslo.middleware's.
    """
    path = _normalise(local_conf.get("path", "/healthcheck"))
    check = healthcheck.Healthcheck.app_factory(dict(global_conf),
                                                **local_conf)

    def _filter(app: WSGIApp) -> WSGIApp:
        def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
            if _normalise(environ.get("PATH_INFO", "")) == path:
                return check(environ, start_response)
            return app(environ, start_response)
        return dispatch

    return _filter


def _normalise(path: str) -> str:
    return path.rstrip("/") or "/"


class AuthTokenMiddleware(auth_token.AuthProtocol):
    """keystonemiddleware auth_token that lets public paths through.

    A request whose path, without its trailing slash, is one of
    ``public_routes`` needs no token; its identity headers are still
    stripped so they cannot be forged.
    """

    def __init__(self, app: WSGIApp, conf: dict[str, Any],
                 public_routes: Iterable[str]) -> None:
        self.public_routes = frozenset(_normalise(p) for p in public_routes)
        super().__init__(app, conf)

    def process_request(self, request: webob.Request) -> Any:
        if _normalise(request.path_info) in self.public_routes:
            request.remove_auth_headers()
            return None
        return super().process_request(request)

    @classmethod
    def factory(cls, global_conf: Mapping[str, Any],
                **local_conf: Any) -> Filter:
        """Paste filter factory; ``acl_public_routes`` is a comma-separated
        list of paths, the other options are keystonemiddleware's (they
        override ``[keystone_authtoken]``)."""
        conf = conf_from_paste(global_conf)
        routes = [p.strip() for p in
                  local_conf.pop("acl_public_routes", "").split(",")
                  if p.strip()]
        options: dict[str, Any] = dict(local_conf)
        options["oslo_config_config"] = conf
        return lambda app: cls(app, dict(options), routes)
