"""A small Gnocchi HTTP client shared by the Gnocchi collector and fetcher.

Only the two calls those need exist: the aggregates API and resource
search. Authentication follows the group's ``gnocchi_auth_type``:

* ``keystone``: a keystoneauth1 session built from the group's keystoneauth
  options (or its ``auth_section``); the endpoint of service type
  ``metric`` is looked up in the catalog with ``interface``/``region_name``
  on the first request; missing, incomplete or unknown credentials are a
  ``ConfigError`` when the client is built;
* ``basic``: plain ``requests`` against ``gnocchi_endpoint`` with the
  header Gnocchi's basic auth reads (``gnocchi_user`` and an empty
  password).

Every failure (connection, timeout, HTTP error status, non-JSON or
unexpected reply, Keystone refusal) raises the ``error`` class given to the
client, with a reason; the one exception is the aggregates API's "metric
does not exist", which means no data.

Only read requests are sent, so a pooled connection the server dropped is
retried once on a fresh one.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from oslo_config import cfg
from requests.adapters import HTTPAdapter

from cloudkitty import exceptions
from cloudkitty.conf import _keystone

__all__ = ["GnocchiClient", "SEARCH_PAGE_SIZE"]

#: Resources asked for per page of a search.
SEARCH_PAGE_SIZE = 1000
#: Seconds to wait for Gnocchi when the group sets no ``timeout``.
DEFAULT_TIMEOUT = 60.0

ErrorFactory = Callable[[str], exceptions.CloudKittyError]


class _HTTPStatus(Exception):
    """An HTTP error answer; kept inside this module (turned into the
    caller's error class before leaving it)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"HTTP {status}: {description}")
        self.status = status
        self.description = description


def _description(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300] or response.reason
    if isinstance(body, dict) and "description" in body:
        detail = body["description"]
        return detail if isinstance(detail, str) else json.dumps(detail)
    return json.dumps(body)[:300]


def _keystone_session(conf: cfg.ConfigOpts, group: str,
                      http: requests.Session) -> Any:
    """The keystoneauth session of ``group`` (or of its ``auth_section``).

    Raises :class:`ConfigError` naming the section when the credentials
    are missing, incomplete or name an unknown plugin, rather than failing
    on the first collection.
    """
    # Imported here: only the keystone mode needs it.
    from keystoneauth1 import loading as ks_loading

    auth = _keystone.load_auth(conf, group)
    if auth is None:
        raise exceptions.ConfigError(
            "no keystone credentials configured (set auth_type or "
            "auth_section, or gnocchi_auth_type = basic)",
            section=group, option="auth_type")
    return ks_loading.load_session_from_conf_options(
        conf, group, auth=auth, session=http)


class GnocchiClient:
    """Talks to the Gnocchi API configured in option group ``group``.

    ``error`` builds the exception raised on any failure from a reason
    (e.g. ``CollectError`` or ``FetchError``).
    """

    def __init__(self, conf: cfg.ConfigOpts, group: str,
                 error: ErrorFactory) -> None:
        self._error = error
        opts = getattr(conf, group)
        self._timeout = float(getattr(opts, "timeout", None)
                              or DEFAULT_TIMEOUT)
        http = requests.Session()
        adapter = HTTPAdapter(pool_maxsize=opts.http_pool_maxsize)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        self._auth_type: str = opts.gnocchi_auth_type
        self._ks_session: Any = None
        self._endpoint = ""
        if self._auth_type == "basic":
            if not opts.gnocchi_endpoint:
                raise exceptions.ConfigError(
                    f"[{group}] gnocchi_endpoint is required with "
                    "gnocchi_auth_type = basic")
            token = base64.b64encode(
                f"{opts.gnocchi_user}:".encode()).decode("ascii")
            http.headers["Authorization"] = f"basic {token}"
            self._endpoint = opts.gnocchi_endpoint.rstrip("/")
        else:
            self._ks_session = _keystone_session(conf, group, http)
            self._interface = opts.interface
            self._region = opts.region_name
        self._http = http

    # -- transport -----------------------------------------------------

    def _url(self, path: str) -> str:
        if self._auth_type == "basic":
            return f"{self._endpoint}{path}"
        if not self._endpoint:
            self._endpoint = self._catalog_endpoint()
        return f"{self._endpoint}{path}"

    def _catalog_endpoint(self) -> str:
        """Authenticate and find the ``metric`` endpoint of the catalog."""
        from keystoneauth1 import exceptions as ks_exc
        try:
            endpoint = self._ks_session.get_endpoint(
                service_type="metric", interface=self._interface,
                region_name=self._region)
        except ks_exc.ConnectionError as exc:
            # Raised before any request reached Gnocchi: say who is down.
            raise self._error(f"cannot reach Keystone: {exc}") from None
        except ks_exc.ClientException as exc:
            # Authentication refused, no such endpoint...
            raise self._error(f"Keystone: {exc}") from None
        if not endpoint:
            raise self._error(
                f"no {self._interface} endpoint of service type 'metric' "
                f"in region {self._region} of the Keystone catalog")
        return str(endpoint).rstrip("/")

    def _send(self, method: str, path: str, params: Any,
              body: Any) -> requests.Response:
        headers = {"Accept": "application/json"}
        if self._ks_session is None:
            return self._http.request(method, self._url(path),
                                      params=params, json=body,
                                      headers=headers,
                                      timeout=self._timeout)
        from keystoneauth1 import exceptions as ks_exc
        try:
            return self._ks_session.request(
                self._url(path), method, params=params, json=body,
                headers=headers, raise_exc=False, timeout=self._timeout)
        except ks_exc.ConnectTimeout as exc:
            raise requests.Timeout(str(exc)) from exc
        except ks_exc.ConnectionError as exc:
            raise requests.ConnectionError(str(exc)) from exc
        except ks_exc.ClientException as exc:
            # Authentication refused, no endpoint in the catalog...
            raise self._error(f"Keystone: {exc}") from None

    def request(self, method: str, path: str, *, params: Any = None,
                body: Any = None) -> Any:
        """Send one request and return its decoded JSON body.

        Raises :class:`_HTTPStatus` for an error status (callers in this
        module translate it) and the client's error for anything else.
        """
        try:
            try:
                response = self._send(method, path, params, body)
            except requests.Timeout:
                raise
            except requests.ConnectionError:
                # A pooled connection the server closed on its side (uWSGI's
                # HTTP router does so without saying) fails on reuse; every
                # call here only reads, so one more try is safe.
                response = self._send(method, path, params, body)
        except requests.Timeout:
            raise self._error(f"timed out after {self._timeout:g} s") \
                from None
        except requests.RequestException as exc:
            raise self._error(f"cannot reach Gnocchi: {exc}") from None
        except exceptions.CloudKittyError:
            raise
        except Exception as exc:  # keystoneauth auth/catalog failures
            raise self._error(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise _HTTPStatus(response.status_code, _description(response))
        try:
            return response.json()
        except ValueError:
            raise self._error(
                f"answer is not JSON (HTTP {response.status_code})"
            ) from None

    # -- API calls -----------------------------------------------------

    def aggregates(self, operations: str, *, resource_type: str,
                   search: Mapping[str, Any], start: str, stop: str,
                   groupby: list[str], granularity: int | None,
                   ) -> list[dict[str, Any]]:
        """``POST /v1/aggregates`` with ``use_history``; one entry per
        group (``{"group": {...}, "measures": {...}}``).

        A "metric does not exist" answer (also Gnocchi's answer when no
        resource matches the search) gives ``[]``.
        """
        params: list[tuple[str, Any]] = [
            ("start", start), ("stop", stop), ("use_history", "true"),
            ("needed_overlap", 0)]
        params.extend(("groupby", key) for key in groupby)
        if granularity:
            params.append(("granularity", granularity))
        payload = {"operations": operations, "resource_type": resource_type,
                   "search": dict(search)}
        try:
            result = self.request("POST", "/v1/aggregates", params=params,
                                  body=payload)
        except _HTTPStatus as exc:
            if exc.status == 404 and "does not exist" in exc.description \
                    and "etric" in exc.description:
                return []
            raise self._error(str(exc)) from None
        if isinstance(result, dict):
            # Without groupby Gnocchi answers with a single mapping.
            result = [{"group": {}, "measures": result}]
        if not isinstance(result, list):
            raise self._error("unexpected aggregates answer")
        return result

    def search_page(self, resource_type: str, query: Mapping[str, Any], *,
                    limit: int = SEARCH_PAGE_SIZE, marker: str | None = None,
                    ) -> list[dict[str, Any]]:
        """One page of ``POST /v1/search/resource/<type>``, sorted by id."""
        params: list[tuple[str, Any]] = [("limit", limit), ("sort", "id:asc")]
        if marker is not None:
            params.append(("marker", marker))
        try:
            page = self.request("POST", f"/v1/search/resource/{resource_type}",
                                params=params, body=dict(query))
        except _HTTPStatus as exc:
            raise self._error(str(exc)) from None
        if not isinstance(page, list):
            raise self._error("unexpected resource search answer")
        return page

    def search_resources(self, resource_type: str, query: Mapping[str, Any],
                         *, page_size: int | None = None,
                         ) -> Iterator[dict[str, Any]]:
        """All resources of ``resource_type`` matching ``query`` (latest
        revision of each), following the pages (marker = last id)."""
        page_size = page_size or SEARCH_PAGE_SIZE
        marker: str | None = None
        while True:
            page = self.search_page(resource_type, query, limit=page_size,
                                    marker=marker)
            yield from page
            if len(page) < page_size:
                return
            marker = str(page[-1]["id"])
