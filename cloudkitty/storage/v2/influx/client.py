"""A small InfluxDB 1.x HTTP client over a pooled ``requests`` session.

Only what the storage backend needs: ``/query`` (GET for reads, POST for
statements that change something), ``/write`` in line protocol and
``/ping``. Every failure — connection refused, timeout, an HTTP error, an
``error`` in any statement's result, a partial write — becomes
:class:`cloudkitty.exceptions.StorageError` with InfluxDB's message.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import requests
from oslo_config import cfg

from cloudkitty import exceptions

__all__ = ["CHUNK_ROWS", "InfluxClient", "Series", "series_rows"]

LOG = logging.getLogger(__name__)

#: One series of a statement's result: ``{"name", "tags", "columns",
#: "values"}`` as InfluxDB returns it.
Series = dict[str, Any]
#: Rows per chunk of a streamed read (:meth:`InfluxClient.query_chunked`).
CHUNK_ROWS = 5000


def series_rows(series: Series) -> Iterator[dict[str, Any]]:
    """The rows of ``series`` as ``{column: value}`` dicts."""
    columns = series.get("columns", [])
    for values in series.get("values", []):
        yield dict(zip(columns, values, strict=False))


def _results(body: dict[str, Any]) -> list[list[Series]]:
    """Each statement's series list of a decoded ``/query`` answer (or of
    one chunk of it); raises StorageError with InfluxDB's message when
    the answer or a statement failed."""
    if "error" in body:
        raise exceptions.StorageError(
            f"InfluxDB query failed: {body['error']}")
    results: list[list[Series]] = []
    for result in body.get("results", []):
        if "error" in result:
            raise exceptions.StorageError(
                f"InfluxDB query failed: {result['error']}")
        results.append(result.get("series", []))
    return results


class InfluxClient:
    """Talks to the server of ``[storage_influxdb]``."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        opts = conf.storage_influxdb
        scheme = "https" if opts.use_ssl else "http"
        host = opts.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        self.url = f"{scheme}://{host}:{opts.port}"
        self.database: str | None = opts.database
        self.retention_policy: str = opts.retention_policy
        self.timeout: int = opts.timeout
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4,
                                                pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if opts.username:
            self.session.auth = (opts.username, opts.password or "")
        if opts.use_ssl:
            self.session.verify = (False if opts.insecure
                                   else (opts.cafile or True))

    @property
    def db(self) -> str:
        if not self.database:
            raise exceptions.StorageError(
                "[storage_influxdb] database is not set.")
        return self.database

    def close(self) -> None:
        self.session.close()

    def _request(self, method: str, path: str, **kwargs: Any
                 ) -> requests.Response:
        try:
            response = self.session.request(
                method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise exceptions.StorageError(
                f"InfluxDB at {self.url} unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise exceptions.StorageError(
                f"InfluxDB at {self.url} answered {response.status_code} "
                f"to {method} {path}: {_error_text(response)}")
        return response

    def ping(self) -> None:
        self._request("GET", "/ping")

    def _query_request(self, params: dict[str, str], *,
                       database: str | None = None, write: bool = False,
                       stream: bool = False) -> requests.Response:
        """Send ``/query`` with ``params`` (``q`` among them) to
        ``database`` (default: the configured one): a GET, unless the
        statement changes something (``write``) or is too long for a URL.
        """
        db = database if database is not None else self.database
        if db:
            params = {**params, "db": db}
        if write or len(params["q"]) >= 4000:
            return self._request("POST", "/query", data=params,
                                 stream=stream)
        return self._request("GET", "/query", params=params, stream=stream)

    def query(self, statements: str | Sequence[str], *,
              database: str | None = None, write: bool = False
              ) -> list[list[Series]]:
        """Run ``statements`` (joined by ``;``) in one request; returns
        each statement's series list. ``write`` sends a POST (needed by
        statements that change data or the schema)."""
        if not isinstance(statements, str):
            statements = ";\n".join(statements)
        response = self._query_request(
            {"q": statements, "epoch": "ns"},
            database=database, write=write)
        try:
            body = response.json()
        except ValueError as exc:
            raise exceptions.StorageError(
                f"InfluxDB at {self.url} sent a body that is not JSON: "
                f"{response.text[:200]!r}") from exc
        return _results(body)

    def query_chunked(self, statement: str,
                      chunk_size: int = CHUNK_ROWS) -> Iterator[Series]:
        """The series of one read-only ``statement``, streamed: InfluxDB
        sends the rows in chunks of ``chunk_size`` (a series may come in
        several parts), each decoded while the next is on its way, so a
        large answer never sits whole in memory."""
        response = self._query_request(
            {"q": statement, "epoch": "ns", "chunked": "true",
             "chunk_size": str(chunk_size)}, stream=True)
        with response:
            for line in response.iter_lines():
                if not line:
                    continue
                try:
                    body = json.loads(line)
                except ValueError as exc:
                    raise exceptions.StorageError(
                        f"InfluxDB at {self.url} sent a chunk that is not "
                        f"JSON: {line[:200]!r}") from exc
                for series in _results(body):
                    yield from series

    def write(self, lines: Iterable[str], batch_size: int) -> int:
        """POST ``lines`` to the database's retention policy,
        ``batch_size`` lines per request; returns the number written."""
        params = {"db": self.db, "rp": self.retention_policy,
                  "precision": "n"}
        written = 0
        batch: list[str] = []
        for text in lines:
            batch.append(text)
            if len(batch) >= batch_size:
                self._post_lines(batch, params)
                written += len(batch)
                batch = []
        if batch:
            self._post_lines(batch, params)
            written += len(batch)
        return written

    def _post_lines(self, batch: list[str], params: dict[str, str]) -> None:
        data = "\n".join(batch).encode("utf-8")
        self._request("POST", "/write", params=params, data=data,
                      headers={"Content-Type": "text/plain; charset=utf-8"})


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return response.text[:500]
