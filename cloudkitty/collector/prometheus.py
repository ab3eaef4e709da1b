"""Collector reading usage from Prometheus with instant queries.

One query per metric, scope and period (COMPAT §5.3)::

    <prefix> <agg>(<func>(<range>(M{K="S"}[Ps])))
        by (<groupby>, <metadata>) <suffix>

where ``<range>`` is the metric's ``range_function`` or else
``<agg>_over_time``, ``<func>`` the optional ``query_function`` and ``P`` the
period length in seconds; it is evaluated at the period end. Each returned
series becomes one point; its labels give groupby and metadata.

:meth:`PrometheusCollector.fetch_all_scopes` asks for many scopes with one
query per metric and period and splits the answer by the scope label.
"""
from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.collector import _prometheus_client as client_mod
from cloudkitty.collector import base
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.dataframe import DataPoint

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["AGGREGATION_METHODS", "QUERY_FUNCTIONS", "RANGE_FUNCTIONS",
           "PrometheusCollector", "build_query"]

AGGREGATION_METHODS = ("avg", "count", "max", "min", "stddev", "stdvar",
                       "sum")
QUERY_FUNCTIONS = ("abs", "ceil", "exp", "floor", "ln", "log2", "log10",
                   "round", "sqrt")
RANGE_FUNCTIONS = ("changes", "delta", "deriv", "idelta", "irange", "irate",
                   "rate")

#: Above this many scopes the batch query drops the scope matcher and
#: filters the answer instead: a huge regex costs Prometheus more than the
#: few series of scopes not asked for.
MAX_SCOPES_IN_REGEX = 200

_REGEX_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")
#: The arithmetic context values are read and converted under.
_VALUE_CONTEXT = decimal.Context(prec=9, rounding=decimal.ROUND_HALF_UP)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise vol.Invalid("expected a string")
    return value


EXTRA_ARGS_SCHEMA = vol.Schema({
    vol.Optional("aggregation_method", default="max"): vol.In(
        AGGREGATION_METHODS,
        msg=f"expected one of {', '.join(AGGREGATION_METHODS)}"),
    vol.Optional("query_function"): vol.In(
        QUERY_FUNCTIONS, msg=f"expected one of {', '.join(QUERY_FUNCTIONS)}"),
    vol.Optional("range_function"): vol.In(
        RANGE_FUNCTIONS, msg=f"expected one of {', '.join(RANGE_FUNCTIONS)}"),
    vol.Optional("query_prefix", default=""): _str,
    vol.Optional("query_suffix", default=""): _str,
})


def build_query(metric: str, matcher: str, seconds: int,
                group_labels: Iterable[str], extra_args: dict[str, Any],
                ) -> str:
    """The PromQL text for ``metric`` restricted by ``matcher`` (the inside
    of ``{...}``, may be empty) over ``seconds``, grouped by
    ``group_labels``."""
    agg = extra_args.get("aggregation_method") or "max"
    selector = f"{metric}{{{matcher}}}[{seconds}s]"
    range_function = extra_args.get("range_function")
    inner = (f"{range_function}({selector})" if range_function
             else f"{agg}_over_time({selector})")
    query_function = extra_args.get("query_function")
    if query_function:
        inner = f"{query_function}({inner})"
    query = f"{agg}({inner}) by ({', '.join(group_labels)})"
    prefix = extra_args.get("query_prefix") or ""
    suffix = extra_args.get("query_suffix") or ""
    if prefix:
        query = f"{prefix} {query}"
    if suffix:
        query = f"{query} {suffix}"
    return query


def _regex_literal(value: str) -> str:
    return _REGEX_SPECIAL.sub(r"\\\1", value)


class PrometheusCollector(base.BaseCollector):
    """The ``prometheus`` collector (options in ``[collector_prometheus]``)."""

    collector_name: ClassVar[str] = "prometheus"
    extra_args_schema: ClassVar[metrics_mod.ExtraArgsValidator | None] = \
        EXTRA_ARGS_SCHEMA

    def __init__(self, conf: cfg.ConfigOpts,
                 metrics: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(conf, metrics)
        group = conf.collector_prometheus
        if not group.prometheus_url:
            raise exceptions.ConfigError(
                "required with the prometheus collector",
                section="collector_prometheus", option="prometheus_url")
        self.client = client_mod.from_group(group)

    # -- queries -------------------------------------------------------

    def _labels(self, metric: dict[str, Any]) -> list[str]:
        return [*metric["groupby"], *metric["metadata"]]

    def query_for(self, metric_key: str, start: datetime.datetime,
                  end: datetime.datetime, scope_id: str) -> str:
        """The query :meth:`fetch_all` sends for one scope."""
        metric = self.metric(metric_key)
        matcher = (f"{self.scope_key}="
                   f"{client_mod.promql_string(scope_id)}")
        return build_query(metrics_mod.metric_name(metric_key), matcher,
                           _seconds(start, end), self._labels(metric),
                           metric["extra_args"])

    def batch_query_for(self, metric_key: str, start: datetime.datetime,
                        end: datetime.datetime, scope_ids: list[str]) -> str:
        """The query :meth:`fetch_all_scopes` sends for ``scope_ids``."""
        metric = self.metric(metric_key)
        matcher = ""
        if len(scope_ids) <= MAX_SCOPES_IN_REGEX:
            alternation = "|".join(_regex_literal(s) for s in scope_ids)
            matcher = (f"{self.scope_key}=~"
                       f"{client_mod.promql_string(alternation)}")
        return build_query(metrics_mod.metric_name(metric_key), matcher,
                           _seconds(start, end), self._labels(metric),
                           metric["extra_args"])

    # -- fetching ------------------------------------------------------

    def _run(self, metric_key: str, scope: str | None, query: str,
             end: datetime.datetime) -> list[dict[str, Any]]:
        def error(reason: str) -> exceptions.CollectError:
            return self.collect_error(metric_key, scope, reason)
        return self.client.query(query, error, end)

    def _points(self, metric_key: str, scope: str | None,
                result: list[dict[str, Any]]) -> list[tuple[str, DataPoint]]:
        """``(scope label value, point)`` for every series of an answer."""
        out: list[tuple[str, DataPoint]] = []
        scope_key = self.scope_key
        # Upstream reads the values and converts them under this context;
        # quantities match it digit for digit.
        with decimal.localcontext(_VALUE_CONTEXT):
            for item in result:
                labels = item.get("metric") if isinstance(item, dict) \
                    else None
                value = item.get("value") if isinstance(item, dict) else None
                if (not isinstance(labels, dict)
                        or not isinstance(value, list) or len(value) != 2):
                    raise self.collect_error(
                        metric_key, scope, f"malformed series {item!r}")
                try:
                    raw = +decimal.Decimal(str(value[1]))
                    point = self._point(metric_key, raw, labels)
                except (decimal.InvalidOperation, ValueError,
                        exceptions.DataFrameError) as exc:
                    raise self.collect_error(
                        metric_key, scope,
                        f"unusable value {value[1]!r}: {exc}") from None
                out.append((str(labels.get(scope_key, "")), point))
        return out

    def fetch_all(self, metric_key: str, start: datetime.datetime,
                  end: datetime.datetime, scope_id: str) -> list[DataPoint]:
        query = self.query_for(metric_key, start, end, scope_id)
        result = self._run(metric_key, scope_id, query, end)
        return [point for _scope, point
                in self._points(metric_key, scope_id, result)]

    def fetch_all_scopes(self, metric_key: str, start: datetime.datetime,
                         end: datetime.datetime, scope_ids: Iterable[str],
                         ) -> dict[str, list[DataPoint]]:
        scopes = list(dict.fromkeys(scope_ids))
        found: dict[str, list[DataPoint]] = {scope: [] for scope in scopes}
        if not scopes:
            return found
        query = self.batch_query_for(metric_key, start, end, scopes)
        result = self._run(metric_key, None, query, end)
        for scope, point in self._points(metric_key, None, result):
            # Series of other scopes appear when the matcher was dropped.
            if scope in found:
                found[scope].append(point)
        return found


def _seconds(start: datetime.datetime, end: datetime.datetime) -> int:
    return int((end - start).total_seconds())
