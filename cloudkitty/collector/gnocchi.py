"""Collector reading measures from Gnocchi's aggregates API (COMPAT §5.4).

One request per metric, scope and period::

    POST /v1/aggregates?start=..&stop=..&use_history=true&groupby=..
    {"operations": "(aggregate <re_agg> (metric <M> <agg>))",
     "resource_type": <type>,
     "search": {"and": [{"=": {"type": <type>}},
                        {"=": {<scope_key>: <scope>}}]}}

Each group of the answer becomes one point whose quantity is the first
aggregated value. When the metric declares ``metadata``, the attributes
come from a resource search over the period widened by one period on each
side, matched on ``resource_key``; a group whose resource is not found
there is dropped.
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.collector._gnocchi_client import GnocchiClient
from cloudkitty.collector.base import BaseCollector
from cloudkitty.dataframe import DataPoint

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["GnocchiCollector", "aggregation_method", "build_operations",
           "extra_args_schema", "first_value"]

_BASIC_METHODS = ("mean", "sum", "last", "max", "min", "std", "median",
                  "first", "count")
_PERCENTILE = re.compile(r"^([1-9][0-9]?)pct$")


def aggregation_method(value: Any) -> str:
    """Voluptuous validator of an aggregation method: a basic method, or
    ``Npct`` with N in 1..99, optionally prefixed by ``rate:``."""
    if not isinstance(value, str):
        raise vol.Invalid("an aggregation method must be a string")
    method = value[len("rate:"):] if value.startswith("rate:") else value
    if method in _BASIC_METHODS or _PERCENTILE.match(method):
        return value
    raise vol.Invalid(
        f"unknown aggregation method {value!r}; expected one of "
        f"{', '.join(_BASIC_METHODS)}, Npct (N = 1..99), each optionally "
        "prefixed by 'rate:'")


extra_args_schema = vol.Schema({
    vol.Required("resource_type"): vol.All(str, vol.Length(min=1)),
    vol.Optional("resource_key", default="id"): vol.All(
        str, vol.Length(min=1)),
    vol.Optional("aggregation_method", default="max"): aggregation_method,
    vol.Optional("re_aggregation_method", default="max"): aggregation_method,
    # 0 leaves the choice of granularity to Gnocchi.
    vol.Optional("force_granularity", default=3600): vol.All(
        int, vol.Range(min=0)),
    vol.Optional("use_all_resource_revisions", default=True): bool,
    vol.Optional("custom_query", default=""): str,
})


def build_operations(metric_name: str, extra: Mapping[str, Any]) -> str:
    """The aggregates ``operations`` string of a metric."""
    template = extra.get("custom_query") or \
        "(aggregate RE_AGGREGATION_METHOD (metric METRIC_NAME " \
        "AGGREGATION_METHOD))"
    # RE_AGGREGATION_METHOD first: AGGREGATION_METHOD is a suffix of it.
    return (template
            .replace("RE_AGGREGATION_METHOD", extra["re_aggregation_method"])
            .replace("AGGREGATION_METHOD", extra["aggregation_method"])
            .replace("METRIC_NAME", metric_name))


def first_value(measures: Any) -> Any:
    """The value of the first aggregated measure of one answer group, or
    None when there is none.

    ``aggregate`` operations answer ``{"measures": {"aggregated": [...]}}``;
    a custom query without ``aggregate`` nests per metric and method, so
    the first list found is used.
    """
    node = measures
    if isinstance(node, Mapping) and "measures" in node:
        node = node["measures"]
    if isinstance(node, Mapping) and "aggregated" in node:
        node = node["aggregated"]
    while isinstance(node, Mapping):
        if not node:
            return None
        node = next(iter(node.values()))
    if not isinstance(node, list) or not node:
        return None
    measure = node[0]
    if not isinstance(measure, (list, tuple)) or len(measure) < 3:
        return None
    return measure[2]


def _iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


class GnocchiCollector(BaseCollector):
    """Collector backed by Gnocchi (entry point ``gnocchi``)."""

    collector_name: ClassVar[str] = "gnocchi"
    extra_args_schema: ClassVar[metrics_mod.ExtraArgsValidator | None] = \
        extra_args_schema

    def __init__(self, conf: cfg.ConfigOpts,
                 metrics: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(conf, metrics)
        self.client = GnocchiClient(conf, "collector_gnocchi",
                                    exceptions.CollectError)

    def _extra(self, metric: Mapping[str, Any]) -> dict[str, Any]:
        # Metrics given directly (tests, callers) may carry raw extra_args.
        return dict(extra_args_schema(dict(metric.get("extra_args") or {})))

    def fetch_all(self, metric_key: str, start: datetime.datetime,
                  end: datetime.datetime, scope_id: str) -> list[DataPoint]:
        metric = self.metric(metric_key)
        try:
            return self._fetch(metric_key, metric, start, end, scope_id)
        except exceptions.CollectError as exc:
            raise self.collect_error(metric_key, scope_id,
                                     exc.message) from None

    def _fetch(self, metric_key: str, metric: Mapping[str, Any],
               start: datetime.datetime, end: datetime.datetime,
               scope_id: str) -> list[DataPoint]:
        extra = self._extra(metric)
        resource_type: str = extra["resource_type"]
        resource_key: str = extra["resource_key"]
        granularity: int = extra["force_granularity"]
        groupby = list(dict.fromkeys([*metric["groupby"], resource_key]))
        collapse = not extra["use_all_resource_revisions"] \
            and "id" in groupby
        request_groupby = groupby + (["revision_start"] if collapse else [])

        query_start = start
        if extra["re_aggregation_method"].startswith("rate:"):
            # A rate needs the measure before the period to have a value
            # for its first point.
            step = granularity or int(self.conf.collect.period)
            query_start = start - datetime.timedelta(seconds=step)

        groups = self.client.aggregates(
            build_operations(metrics_mod.metric_name(metric_key), extra),
            resource_type=resource_type,
            search={"and": [{"=": {"type": resource_type}},
                            {"=": {self.scope_key: scope_id}}]},
            start=_iso(query_start), stop=_iso(end),
            groupby=request_groupby, granularity=granularity or None)

        rows: list[tuple[dict[str, Any], Any]] = []
        for group in groups:
            value = first_value(group.get("measures"))
            if value is None:
                continue
            rows.append((dict(group.get("group") or {}), value))
        if collapse:
            rows = _collapse_revisions(rows)

        resources: dict[str, dict[str, Any]] | None = None
        if metric["metadata"] and rows:
            resources = self._resources(resource_type, resource_key,
                                        start, end, scope_id)

        points = []
        for attrs, value in rows:
            meta_source: Mapping[str, Any] = attrs
            if resources is not None:
                resource = resources.get(str(attrs.get(resource_key)))
                if resource is None:
                    continue
                meta_source = resource
            qty = metrics_mod.convert_quantity(value, metric)
            points.append(DataPoint(
                metric["unit"], qty, 0,
                {k: _text(attrs.get(k)) for k in groupby},
                {k: _text(meta_source.get(k)) for k in metric["metadata"]}))
        return points

    def _resources(self, resource_type: str, resource_key: str,
                   start: datetime.datetime, end: datetime.datetime,
                   scope_id: str) -> dict[str, dict[str, Any]]:
        """Resources of the scope alive around the period, by
        ``resource_key``."""
        period = datetime.timedelta(seconds=int(self.conf.collect.period))
        query = {"and": [
            {"=": {self.scope_key: scope_id}},
            {"or": [{"=": {"ended_at": None}},
                    {">=": {"ended_at": _iso(start - period)}}]},
            {"<=": {"started_at": _iso(end + period)}},
        ]}
        return {str(res.get(resource_key)): res
                for res in self.client.search_resources(resource_type, query)}


def _collapse_revisions(rows: list[tuple[dict[str, Any], Any]],
                        ) -> list[tuple[dict[str, Any], Any]]:
    """One row per resource ``id``: the attributes of its latest revision
    and the sum of the values of all its revisions."""
    merged: dict[Any, tuple[dict[str, Any], Any, str]] = {}
    for attrs, value in rows:
        rid = attrs.get("id")
        revision = str(attrs.get("revision_start") or "")
        if rid not in merged:
            merged[rid] = (attrs, value, revision)
            continue
        old_attrs, old_value, old_revision = merged[rid]
        total = metrics_mod.to_decimal(old_value) + \
            metrics_mod.to_decimal(value)
        if revision >= old_revision:
            merged[rid] = (attrs, total, revision)
        else:
            merged[rid] = (old_attrs, total, old_revision)
    return [(attrs, value) for attrs, value, _ in merged.values()]


def _text(value: Any) -> Any:
    return "" if value is None else value
