"""WSGI middlewares of the paste pipelines (``etc/cloudkitty/api_paste.ini``).

Paste only passes strings to factories, so the service's ``ConfigOpts`` is
registered under a key (:func:`register_conf`) that :func:`app.build_wsgi_app`
puts in the paste global configuration as ``cloudkitty_conf_key``; the
factories below look it up, so every middleware reads the same options as
the application instead of the global ``cfg.CONF``.

Each middleware's library is imported by its factory, when a pipeline uses
it: the ``noauth`` pipeline never loads keystonemiddleware (with
keystoneclient, oslo.cache and cryptography behind it), which would only
cost resident memory in every API process.
"""
from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from cloudkitty import exceptions

if TYPE_CHECKING:
    from cloudkitty.api._authtoken import AuthTokenMiddleware

__all__ = ["AuthTokenMiddleware", "CONF_KEY", "conf_from_paste",
           "cors_filter_factory", "healthcheck_filter_factory",
           "http_proxy_to_wsgi_filter_factory", "normalise_path",
           "register_conf"]

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
    from oslo_middleware import cors

    from cloudkitty.conf import defaults

    conf = conf_from_paste(global_conf)
    defaults.set_cors_defaults()
    return lambda app: cors.CORS(app, conf)


def http_proxy_to_wsgi_filter_factory(global_conf: Mapping[str, Any],
                                      **_local: Any) -> Filter:
    """oslo.middleware HTTPProxyToWSGI (honours ``X-Forwarded-Proto``...
    when ``[oslo_middleware] enable_proxy_headers_parsing`` is true)."""
    from oslo_middleware import http_proxy_to_wsgi

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
    from oslo_middleware import healthcheck

    path = normalise_path(local_conf.get("path", "/healthcheck"))
    check = healthcheck.Healthcheck.app_factory(dict(global_conf),
                                                **local_conf)

    def _filter(app: WSGIApp) -> WSGIApp:
        def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
            if normalise_path(environ.get("PATH_INFO", "")) == path:
                return check(environ, start_response)
            return app(environ, start_response)
        return dispatch

    return _filter


def normalise_path(path: str) -> str:
    """``path`` without its trailing slash (``/`` stays ``/``)."""
    return path.rstrip("/") or "/"


def __getattr__(name: str) -> Any:
    # ``AuthTokenMiddleware`` (named by the keystone pipeline as
    # ``cloudkitty.api.middleware:AuthTokenMiddleware.factory``) is loaded
    # on first use only: it subclasses keystonemiddleware's auth_token.
    if name == "AuthTokenMiddleware":
        from cloudkitty.api import _authtoken

        return _authtoken.AuthTokenMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
