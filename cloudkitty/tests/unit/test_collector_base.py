"""BaseCollector: retrieve(), time keys, quantity conversion, get_collector."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.collector import base, get_collector, metrics
from cloudkitty.dataframe import DataPoint

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 1, 4, 5, 0, tzinfo=UTC)   # a Sunday
END = START + datetime.timedelta(hours=1)


class FakeSource(base.BaseCollector):
    """A collector whose source is an in-memory table of raw samples."""

    collector_name = "fake"

    def __init__(self, conf: Any, defs: dict[str, Any],
                 samples: dict[str, list[tuple[Any, dict[str, str]]]]
                 ) -> None:
        validated = metrics.validate_metrics({"metrics": defs},
                                             scope_key="project_id")
        super().__init__(conf, validated)
        self.samples = samples
        self.calls: list[tuple[str, str]] = []

    def fetch_all(self, metric_key: str, start: datetime.datetime,
                  end: datetime.datetime, scope_id: str) -> list[DataPoint]:
        self.calls.append((metric_key, scope_id))
        name = metrics.metric_name(metric_key)
        return [self._point(metric_key, value, labels)
                for value, labels in self.samples.get(name, [])
                if labels.get("project_id") == scope_id]


@pytest.fixture
def conf(make_conf: Any) -> Any:
    return make_conf({"collect": {"collector": "prometheus"}})


def test_time_keys_follow_the_period_start() -> None:
    keys = base.time_keys(datetime.datetime(2026, 3, 5, tzinfo=UTC))
    assert keys == {"week_of_the_year": "09", "day_of_the_year": "64",
                    "month": "3", "year": "2026"}
    # Sunday-based week: 4 Jan 2026 is a Sunday and starts week 01.
    assert base.time_keys(START)["week_of_the_year"] == "01"
    assert base.time_keys(START - datetime.timedelta(days=1))[
        "week_of_the_year"] == "00"


def test_retrieve_stamps_time_keys_description_and_alt_name(conf: Any
                                                            ) -> None:
    source = FakeSource(conf, {"cpu": {
        "unit": "instance", "alt_name": "instance", "groupby": ["id"],
        "metadata": ["flavor"], "description": "VMs"}},
        {"cpu": [(1, {"project_id": "p1", "id": "a", "flavor": "m1"}),
                 (2, {"project_id": "p2", "id": "b", "flavor": "m2"})]})
    name, points = source.retrieve("cpu@#instance", START, END, "p1")
    assert name == "instance"
    assert points == [DataPoint(
        "instance", 1, 0,
        {"id": "a", "project_id": "p1", "week_of_the_year": "01",
         "day_of_the_year": "4", "month": "1", "year": "2026"},
        {"flavor": "m1"}, "VMs")]


def test_quantity_is_converted_with_factor_offset_and_mutate(conf: Any
                                                             ) -> None:
    source = FakeSource(conf, {"ram": [
        {"unit": "GiB", "alt_name": "ram_gib", "factor": "1/1024",
         "offset": 1},
        {"unit": "flag", "alt_name": "ram_on", "mutate": "NUMBOOL"},
    ]}, {"ram": [(Decimal(2048), {"project_id": "p"})]})
    assert source.retrieve("ram@#ram_gib", START, END, "p")[1][0].qty == 3
    assert source.retrieve("ram@#ram_on", START, END, "p")[1][0].qty == 1


def test_missing_labels_become_empty_strings(conf: Any) -> None:
    source = FakeSource(conf, {"cpu": {"unit": "u", "groupby": ["id"],
                                       "metadata": ["name"]}},
                        {"cpu": [(1, {"project_id": "p"})]})
    point = source.retrieve("cpu", START, END, "p")[1][0]
    assert point.groupby["id"] == "" and point.metadata["name"] == ""


def test_no_data_raises_no_data_collected(conf: Any) -> None:
    source = FakeSource(conf, {"cpu": {"unit": "u"}}, {})
    with pytest.raises(exceptions.NoDataCollected) as info:
        source.retrieve("cpu", START, END, "p")
    assert info.value.collector == "fake" and info.value.metric == "cpu"


def test_unknown_metric_is_a_collect_error(conf: Any) -> None:
    source = FakeSource(conf, {"cpu": {"unit": "u"}}, {})
    with pytest.raises(exceptions.CollectError, match="'nope'"):
        source.retrieve("nope", START, END, "p")


def test_default_batch_fetch_loops_over_each_scope(conf: Any) -> None:
    source = FakeSource(conf, {"cpu": {"unit": "u"}},
                        {"cpu": [(1, {"project_id": "a"}),
                                 (5, {"project_id": "b"})]})
    result = source.fetch_all_scopes("cpu", START, END, ["a", "b", "c", "a"])
    assert {k: [p.qty for p in v] for k, v in result.items()} == {
        "a": [1], "b": [5], "c": []}
    assert source.calls == [("cpu", "a"), ("cpu", "b"), ("cpu", "c")]


def test_collect_error_names_collector_metric_scope_and_reason(conf: Any
                                                               ) -> None:
    source = FakeSource(conf, {"cpu": {"unit": "u"}}, {})
    err = source.collect_error("cpu", "p1", "timed out")
    assert str(err) == ("Collector 'fake' failed for metric 'cpu', scope "
                        "'p1': timed out")


def test_get_collector_builds_the_configured_driver(make_conf: Any,
                                                    tmp_path: Any) -> None:
    path = tmp_path / "metrics.yml"
    path.write_text("metrics:\n  cpu:\n    unit: instance\n")
    conf = make_conf({"collect": {"collector": "prometheus",
                                  "metrics_conf": str(path)},
                      "collector_prometheus": {
                          "prometheus_url": "http://127.0.0.1:1/api/v1"}})
    collector = get_collector(conf)
    assert type(collector).__name__ == "PrometheusCollector"
    assert collector.metrics["cpu"]["extra_args"]["aggregation_method"] \
        == "max"


def test_get_collector_unknown_plugin_names_it(make_conf: Any) -> None:
    conf = make_conf({"collect": {"collector": "nosuch"}})
    with pytest.raises(exceptions.ConfigError) as info:
        get_collector(conf, metrics={})
    assert "'nosuch'" in str(info.value)
    assert info.value.option == "collector"
