"""The API's request counts and latencies.

:func:`wrap` puts :class:`MetricsMiddleware` around the whole deployed
pipeline, so every request is counted, those refused by authentication
included, and ``[service_metrics] api_path`` is answered before
authentication. :class:`RouteHook` (a Pecan hook) tells the middleware
which route served a request.

Labels stay bounded whatever clients send: ``method`` is one of the
HTTP methods the API knows (else ``other``), ``status`` the 3-digit
status code, and ``route`` the request path with the segments the
controller received as arguments replaced by ``{name}`` (e.g.
``/v1/rating/module_config/hashmap/mappings/{mapping_id}``),
``/healthcheck`` for the health check; a request no controller took
(unknown path, refused by authentication) is ``other``, and past
:data:`MAX_ROUTES` distinct routes in a process new ones are ``other``
too.
"""
from __future__ import annotations

import inspect
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pecan
from oslo_config import cfg
from oslo_log import log
from prometheus_client import CollectorRegistry, Counter, Histogram

from cloudkitty.service_metrics import exposition

__all__ = ["APIMetrics", "MAX_ROUTES", "MetricsMiddleware", "ROUTE_KEY",
           "RouteHook", "wrap"]

LOG = log.getLogger(__name__)

#: Where :class:`RouteHook` leaves the route in the WSGI environment.
ROUTE_KEY = "cloudkitty.metrics.route"
#: Distinct ``route`` label values one process reports at most.
MAX_ROUTES = 200
OTHER = "other"
#: Answered by a middleware (oslo.middleware's healthcheck), not Pecan.
HEALTHCHECK = "/healthcheck"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                     "OPTIONS"})

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class APIMetrics:
    """The API's metrics, registered in ``registry`` (``None`` in
    multi-process mode)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "cloudkitty_api_requests", "API requests answered.", labels,
            registry=registry)
        self.duration = Histogram(
            "cloudkitty_api_request_duration_seconds",
            "Time from receiving an API request to the end of its "
            "response body.", labels, registry=registry)
        self._routes: set[str] = set()
        self._lock = threading.Lock()

    def bounded_route(self, route: str | None) -> str:
        if not route:
            return OTHER
        if route in self._routes:
            return route
        with self._lock:
            if len(self._routes) >= MAX_ROUTES:
                return OTHER
            self._routes.add(route)
        return route

    def record(self, method: str, route: str | None, status: str,
               seconds: float) -> None:
        labels = (method if method in METHODS else OTHER,
                  self.bounded_route(route), status)
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)


def _parameter_names(controller: Any) -> list[str]:
    """The positional parameters Pecan fills from the path, in order."""
    spec = getattr(controller, "_pecan", {}).get("argspec")
    if spec is not None:
        names = list(spec.args)
    else:
        try:
            names = [p.name for p in
                     inspect.signature(controller).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY,
                                   p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            names = []
    if names and names[0] == "self":
        names = names[1:]
    return names


def route_template(path: str, controller: Any, args: Iterable[Any],
                   varargs: Iterable[Any]) -> str:
    """``path`` with the segments passed to ``controller`` as positional
    arguments replaced by ``{their name}`` (``{args}`` for ``*args``)."""
    # Pecan puts the controller instance first for generic handlers.
    values = [a for a in args if isinstance(a, str)]
    names: dict[str, str] = {}
    for name, value in zip(_parameter_names(controller), values,
                           strict=False):
        names.setdefault(value, name)
    for value in varargs:
        names.setdefault(str(value), "args")
    segments = [f"{{{names[s]}}}" if s in names else s
                for s in path.strip("/").split("/")]
    return "/" + "/".join(s for s in segments if s)


class RouteHook(pecan.hooks.PecanHook):
    """Leave the route of the controller serving the request in the WSGI
    environment (for :class:`MetricsMiddleware`)."""

    priority = 1

    def before(self, state: Any) -> None:
        arguments = getattr(state, "arguments", None)
        controller = getattr(state, "controller", None)
        if controller is None:
            return
        request = state.request
        state.request.environ[ROUTE_KEY] = route_template(
            request.path_info, controller,
            getattr(arguments, "args", ()) or (),
            getattr(arguments, "varargs", ()) or ())


class _Body:
    """A response body that records the request once it is sent."""

    def __init__(self, body: Iterable[bytes],
                 done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


class MetricsMiddleware:
    """Count and time every request to ``app``; serve the metrics at
    ``path`` (not at all when it is empty)."""

    def __init__(self, app: WSGIApp, metrics: APIMetrics, path: str,
                 served: exposition.Exposition) -> None:
        self.app = app
        self.metrics = metrics
        # An empty path (or "/") serves nothing: "/" is the API's own.
        self.path = "/" + path.strip("/") if path.strip("/") else None
        self.served = served

    def _serve(self, environ: dict[str, Any],
               start_response: StartResponse) -> list[bytes]:
        body, content_type = self.served.render(environ.get("HTTP_ACCEPT"))
        start_response("200 OK", [("Content-Type", content_type),
                                  ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if self.path is not None and path.rstrip("/") == self.path \
                and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self._serve(environ, start_response)
        started = time.perf_counter()
        status = ["500"]

        def recording_start(status_line: str, headers: Any,
                            exc_info: Any = None) -> Any:
            status[0] = status_line[:3]
            return start_response(status_line, headers, exc_info)

        def done() -> None:
            route = environ.get(ROUTE_KEY)
            if route is None and path.rstrip("/") == HEALTHCHECK:
                route = HEALTHCHECK
            self.metrics.record(str(environ.get("REQUEST_METHOD", "")),
                                route, status[0],
                                time.perf_counter() - started)

        try:
            body = self.app(environ, recording_start)
        except BaseException:
            done()
            raise
        return _Body(body, done)


_SHARED: APIMetrics | None = None
_SHARED_LOCK = threading.Lock()


def _shared_metrics() -> APIMetrics:
    """One set per process in multi-process mode: two metric objects of
    the same name would overwrite each other's figures in the file."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = APIMetrics(None)
        return _SHARED


def wrap(app: WSGIApp, conf: cfg.ConfigOpts) -> WSGIApp:
    """``app`` measured and serving its metrics when ``[service_metrics]
    enabled``; else ``app`` itself."""
    group = conf.service_metrics
    if not group.enabled:
        return app
    directory = None
    if group.multiproc_dir:
        directory = os.path.join(group.multiproc_dir, "api")
    elif os.environ.get(exposition.ENV):
        directory = os.environ[exposition.ENV]
    if directory is None:
        registry = CollectorRegistry(auto_describe=False)
        metrics = APIMetrics(registry)
        served = exposition.Exposition(registry=registry)
    else:
        exposition.use_shared_directory(directory)
        metrics = _shared_metrics()
        served = exposition.Exposition(directory=directory)
    LOG.info("API metrics served at %s (%s)", group.api_path,
             f"processes sharing {directory}" if directory
             else "this process only")
    return MetricsMiddleware(app, metrics, group.api_path, served)
