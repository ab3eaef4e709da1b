"""A minimal client of the Prometheus HTTP API (instant queries only),
shared by the Prometheus collector and the Prometheus scope fetcher.

The client does not know which of them calls it: every failure is raised
through the ``error`` factory the caller gives, so the collector gets a
CollectError and the fetcher a FetchError, each naming itself.
"""
from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import requests

__all__ = ["PrometheusClient", "from_group", "promql_string"]

ErrorFactory = Callable[[str], Exception]


def promql_string(value: str) -> str:
    """``value`` as a double-quoted PromQL string literal."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n"))
    return f'"{escaped}"'


def _time_param(when: datetime.datetime) -> str:
    # Prometheus reads RFC 3339; a naive datetime is taken as UTC, like
    # every timestamp of the rating service.
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.isoformat()


class PrometheusClient:
    """Sends ``GET <url>/query`` and returns ``data.result``."""

    def __init__(self, url: str, *, user: str | None = None,
                 password: str | None = None, cafile: str | None = None,
                 insecure: bool = False, timeout: float = 60) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if user:
            self.session.auth = (user, password or "")
        # verify: False skips the check, a path pins the CA bundle.
        self.session.verify = False if insecure else (cafile or True)

    def query(self, promql: str, error: ErrorFactory,
              when: datetime.datetime | None = None) -> list[dict[str, Any]]:
        """Run an instant query (at ``when``, default: the server's now).

        Raises ``error(reason)`` when the server cannot be reached, times
        out, answers something other than a JSON object, or reports an
        error.
        """
        params = {"query": promql}
        if when is not None:
            params["time"] = _time_param(when)
        try:
            response = self.session.get(f"{self.url}/query", params=params,
                                        timeout=self.timeout)
        except requests.Timeout:
            raise error(f"no answer from {self.url} within "
                        f"{self.timeout:g}s") from None
        except requests.RequestException as exc:
            raise error(f"cannot reach {self.url}: "
                        f"{type(exc).__name__}: {exc}") from None
        return self._result(response, error)

    def _result(self, response: requests.Response,
                error: ErrorFactory) -> list[dict[str, Any]]:
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            raise error(f"HTTP {response.status_code} with a non-JSON "
                        f"body: {response.text[:200]!r}") from None
        if not isinstance(body, dict):
            raise error(f"HTTP {response.status_code}: unexpected JSON "
                        f"answer {str(body)[:200]!r}")
        if body.get("status") == "error":
            # The API's own error fields, as the operator would see them
            # in the Prometheus UI.
            raise error(f"{body.get('errorType')}: {body.get('error')}")
        if response.status_code != 200 or body.get("status") != "success":
            raise error(f"HTTP {response.status_code}: unexpected answer "
                        f"{response.text[:200]!r}")
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(
                data.get("result", []), list):
            raise error(f"malformed answer {response.text[:200]!r}")
        result: list[dict[str, Any]] = data.get("result") or []
        return result


def from_group(group: Any) -> PrometheusClient:
    """A client from a ``[collector_prometheus]``/``[fetcher_prometheus]``
    option group."""
    return PrometheusClient(
        group.prometheus_url, user=group.prometheus_user,
        password=group.prometheus_password, cafile=group.cafile,
        insecure=group.insecure, timeout=group.timeout)
