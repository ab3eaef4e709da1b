"""Prometheus collector: extra_args schema, query text, answer parsing."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.collector import metrics, prometheus

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 2, 1, 10, tzinfo=UTC)
END = START + datetime.timedelta(hours=1)


def make(conf: Any, defs: dict[str, Any]) -> prometheus.PrometheusCollector:
    validated = metrics.validate_metrics(
        {"metrics": defs}, scope_key="project_id",
        extra_args_schema=prometheus.PrometheusCollector.extra_args_schema)
    return prometheus.PrometheusCollector(conf, validated)


@pytest.fixture
def conf(make_conf: Any) -> Any:
    return make_conf({"collect": {"collector": "prometheus"},
                      "collector_prometheus": {
                          "prometheus_url": "http://127.0.0.1:1/api/v1"}})


def test_extra_args_defaults() -> None:
    schema = prometheus.PrometheusCollector.extra_args_schema
    assert schema is not None
    assert dict(schema({})) == {"aggregation_method": "max",
                                "query_prefix": "", "query_suffix": ""}


@pytest.mark.parametrize("key,value", [
    ("aggregation_method", "mean"), ("query_function", "log"),
    ("range_function", "increase"), ("query_prefix", 3), ("foo", "x")])
def test_extra_args_bad_values_are_rejected_naming_the_key(
        key: str, value: Any) -> None:
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        metrics.validate_metrics(
            {"metrics": {"m": {"unit": "u", "extra_args": {key: value}}}},
            scope_key="project_id",
            extra_args_schema=prometheus.EXTRA_ARGS_SCHEMA)
    assert info.value.option == f"extra_args.{key}"


@pytest.mark.parametrize("agg", prometheus.AGGREGATION_METHODS)
def test_every_aggregation_method_is_accepted(agg: str) -> None:
    assert prometheus.EXTRA_ARGS_SCHEMA(
        {"aggregation_method": agg})["aggregation_method"] == agg


def test_default_query_is_max_over_time_grouped_by_scope(conf: Any) -> None:
    collector = make(conf, {"cpu": {"unit": "instance"}})
    assert collector.query_for("cpu", START, END, "p1") == (
        'max(max_over_time(cpu{project_id="p1"}[3600s])) by (project_id)')


def test_query_with_every_option(conf: Any) -> None:
    collector = make(conf, {"m": {
        "unit": "u", "alt_name": "x", "groupby": ["foo", "bar"],
        "metadata": ["code", "instance"],
        "extra_args": {"aggregation_method": "avg", "query_function": "abs",
                       "range_function": "delta",
                       "query_prefix": "(", "query_suffix": ") * 2"}}})
    assert collector.query_for("m@#x", START, END, "X") == (
        '( avg(abs(delta(m{project_id="X"}[3600s]))) '
        'by (foo, bar, project_id, code, instance) ) * 2')


@pytest.mark.parametrize("fn", prometheus.QUERY_FUNCTIONS)
def test_each_query_function_wraps_the_over_time(conf: Any, fn: str) -> None:
    collector = make(conf, {"m": {"unit": "u", "extra_args": {
        "query_function": fn, "aggregation_method": "sum"}}})
    assert collector.query_for("m", START, END, "p") == (
        f'sum({fn}(sum_over_time(m{{project_id="p"}}[3600s]))) '
        'by (project_id)')


@pytest.mark.parametrize("fn", prometheus.RANGE_FUNCTIONS)
def test_each_range_function_replaces_the_over_time(conf: Any,
                                                     fn: str) -> None:
    collector = make(conf, {"m": {"unit": "u", "extra_args": {
        "range_function": fn}}})
    assert collector.query_for("m", START, START + datetime.timedelta(
        minutes=5), "p") == (
        f'max({fn}(m{{project_id="p"}}[300s])) by (project_id)')


def test_scope_value_is_escaped_in_the_query(conf: Any) -> None:
    collector = make(conf, {"m": {"unit": "u"}})
    assert 'project_id="a\\"b\\\\c"' in collector.query_for(
        "m", START, END, 'a"b\\c')


def test_batch_query_uses_a_regex_of_escaped_scopes(conf: Any) -> None:
    collector = make(conf, {"m": {"unit": "u"}})
    assert collector.batch_query_for("m", START, END, ["a.b", "c"]) == (
        'max(max_over_time(m{project_id=~"a\\\\.b|c"}[3600s])) '
        'by (project_id)')
    many = [str(i) for i in range(prometheus.MAX_SCOPES_IN_REGEX + 1)]
    assert collector.batch_query_for("m", START, END, many) == (
        "max(max_over_time(m{}[3600s])) by (project_id)")


def test_series_become_points_missing_labels_are_empty(conf: Any) -> None:
    collector = make(conf, {"m": {"unit": "GB", "groupby": ["id"],
                                  "metadata": ["type"], "factor": 2}})
    points = collector._points("m", "p", [
        {"metric": {"project_id": "p", "id": "v1"}, "value": [1, "1.5"]}])
    [(scope, point)] = points
    assert scope == "p"
    assert point.qty == Decimal("3.0") and point.price == 0
    assert dict(point.groupby) == {"id": "v1", "project_id": "p"}
    assert dict(point.metadata) == {"type": ""}


def test_quantity_uses_nine_digits_rounding_half_up(conf: Any) -> None:
    collector = make(conf, {"m": {"unit": "u", "factor": "1/3"}})
    [(_, a)] = collector._points("m", "p", [
        {"metric": {}, "value": [1, "1.234567895"]}])
    # 1.234567895 → 1.23456790 at nine digits, then ×(1/3)
    assert a.qty == Decimal("0.411522633")
    [(_, b)] = collector._points("m", "p", [
        {"metric": {}, "value": [1, "2.5000000050"]}])
    # 2.5000000050 → 2.50000001 (half up at nine digits) → /3
    assert b.qty == Decimal("0.833333337")


@pytest.mark.parametrize("item", [
    {"metric": {}, "value": [1, "NaN"]}, {"metric": {}, "value": [1]},
    {"value": [1, "2"]}, "garbage"])
def test_unusable_series_are_collect_errors(conf: Any, item: Any) -> None:
    collector = make(conf, {"m": {"unit": "u"}})
    with pytest.raises(exceptions.CollectError) as info:
        collector._points("m", "p", [item])
    assert "'prometheus'" in str(info.value) and "'m'" in str(info.value)


def test_missing_url_is_a_config_error(make_conf: Any) -> None:
    conf = make_conf({"collect": {"collector": "prometheus"}})
    with pytest.raises(exceptions.ConfigError) as info:
        prometheus.PrometheusCollector(conf, {})
    assert info.value.option == "prometheus_url"
