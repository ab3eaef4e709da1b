"""Where a service's figures live, how they are rendered and served.

A service run by one process keeps its figures in memory (a private
:class:`~prometheus_client.CollectorRegistry`). A service run by several
processes (processor worker processes, uwsgi workers) has each process
write its figures to memory-mapped files in a directory they share
(prometheus_client's multi-process mode); whoever serves them adds up
the files of every process, the dead ones included, so counters never
go back when a worker process is replaced.
"""
from __future__ import annotations

import glob
import http.server
import os
import socket
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from oslo_log import log
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.openmetrics import exposition as openmetrics

__all__ = ["ENV", "Exporter", "Exposition", "empty_directory",
           "use_shared_directory"]

LOG = log.getLogger(__name__)

#: The variable prometheus_client reads the shared directory from.
ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Families computed at scrape time from the families collected.
Derive = Callable[[list[Metric]], Iterable[Metric]]


def use_shared_directory(path: str) -> None:
    """Have every metric created from now on in this process (and in the
    processes it forks) write its figures under ``path``.

    prometheus_client picks its value store when first imported, from
    ``PROMETHEUS_MULTIPROC_DIR``; when it was imported before the
    variable was set here, the store is switched too.
    """
    from prometheus_client import values

    os.makedirs(path, exist_ok=True)
    os.environ[ENV] = path
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()


def empty_directory(path: str) -> None:
    """Remove the figure files left in ``path`` by earlier processes."""
    for name in glob.glob(os.path.join(path, "*.db")):
        try:
            os.remove(name)
        except FileNotFoundError:
            pass


class _Source:
    """A collector yielding the families of a registry or a shared
    directory, then those derived from them."""

    def __init__(self, registry: CollectorRegistry | None,
                 directory: str | None, derive: Derive | None) -> None:
        self._registry = registry
        self._directory = directory
        self._derive = derive

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        families: list[Metric] = []
        if self._directory is not None:
            families.extend(
                MultiProcessCollector(None, self._directory).collect())
        if self._registry is not None:
            families.extend(self._registry.collect())
        yield from families
        if self._derive is not None:
            yield from self._derive(families)


class Exposition:
    """The text a scrape gets: the figures of ``registry`` (this
    process) or of ``directory`` (every process sharing it), plus what
    ``derive`` computes from them."""

    def __init__(self, *, registry: CollectorRegistry | None = None,
                 directory: str | None = None,
                 derive: Derive | None = None) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Source(registry, directory, derive))

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The body and its content type: OpenMetrics 1.0 text, or the
        classic Prometheus text format (0.0.4) for a client that accepts
        ``text/plain`` but not OpenMetrics."""
        accept = (accept or "").lower()
        if "text/plain" in accept and "openmetrics" not in accept:
            return (text_format.generate_latest(self._registry),
                    text_format.CONTENT_TYPE_PLAIN_0_0_4)
        return (openmetrics.generate_latest(self._registry),
                openmetrics.CONTENT_TYPE_LATEST)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        try:
            body, content_type = self.server.exposition.render(
                self.headers.get("Accept"))
        except Exception:
            LOG.exception("Could not render the service metrics")
            self.send_error(500)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        LOG.debug("metrics scrape from %s: %s", self.address_string(),
                  format % args)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int],
                 exposition: Exposition) -> None:
        self.exposition = exposition
        super().__init__(address, _Handler)


class _Server6(_Server):
    address_family = socket.AF_INET6


#: Exporters of this process: their sockets are closed in forked
#: children, which must not keep the port of their parent's endpoint.
_EXPORTERS: weakref.WeakSet[Exporter] = weakref.WeakSet()


def _close_in_child() -> None:
    for exporter in list(_EXPORTERS):
        exporter.forget()


os.register_at_fork(after_in_child=_close_in_child)


class Exporter:
    """An HTTP endpoint serving ``exposition`` at any path, from a
    daemon thread. Raises :class:`OSError` when the address cannot be
    bound."""

    def __init__(self, host: str, port: int,
                 exposition: Exposition) -> None:
        server_class = _Server6 if ":" in host else _Server
        self._server: _Server | None = server_class((host, port),
                                                    exposition)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="service-metrics",
            daemon=True)
        _EXPORTERS.add(self)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread.is_alive():
            server.shutdown()
        server.server_close()
        _EXPORTERS.discard(self)

    def forget(self) -> None:
        """In a forked child: close the inherited socket (the serving
        thread did not survive the fork)."""
        server, self._server = self._server, None
        if server is not None:
            server.socket.close()
