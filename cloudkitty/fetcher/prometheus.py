"""Fetcher discovering scopes from the label values of a Prometheus metric.

It sends one instant query, ``max(<metric>{<filters>}) by
(<scope_attribute>)``, evaluated at the server's current time, and returns
every value the scope label takes. Options are in ``[fetcher_prometheus]``.
"""
from __future__ import annotations

from typing import Any, ClassVar

from cloudkitty import exceptions
from cloudkitty.collector import _prometheus_client as client_mod
from cloudkitty.fetcher.base import BaseFetcher

__all__ = ["PrometheusFetcher", "build_query"]


def build_query(metric: str, scope_attribute: str,
                filters: dict[str, str]) -> str:
    """The discovery query; filters are exact-match label matchers."""
    matchers = ", ".join(f"{key}={client_mod.promql_string(str(value))}"
                         for key, value in filters.items())
    selector = f"{metric}{{{matchers}}}" if matchers else metric
    return f"max({selector}) by ({scope_attribute})"


class PrometheusFetcher(BaseFetcher):
    """The ``prometheus`` fetcher."""

    name: ClassVar[str] = "prometheus"

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        group = conf.fetcher_prometheus
        for option in ("metric", "prometheus_url"):
            if not getattr(group, option):
                raise exceptions.ConfigError(
                    "required with the prometheus fetcher",
                    section="fetcher_prometheus", option=option)
        self.scope_attribute: str = group.scope_attribute
        self.query = build_query(group.metric, self.scope_attribute,
                                 dict(group.filters or {}))
        self.client = client_mod.from_group(group)

    def get_scopes(self) -> list[str]:
        result = self.client.query(self.query, self._error)
        scopes: list[str] = []
        for item in result:
            labels = item.get("metric") if isinstance(item, dict) else None
            if not isinstance(labels, dict):
                raise self._error(f"malformed series {item!r}")
            value = labels.get(self.scope_attribute)
            if value:
                scopes.append(str(value))
        return self._normalize(scopes)
