"""The processor's service metrics, its loops run in this process: a
collector loop rates backfilled Prometheus history through a rating
server over the ``fake://`` transport (real RPC calls), and the figures
are scraped from a real HTTP endpoint and read with prometheus_client's
parsers (and ``promtool check metrics``).

The subprocess tests (``functional/processor/test_service_metrics.py``)
check the same figures across worker processes.
"""
from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from cloudkitty import collector as collector_mod
from cloudkitty.collector.metrics import metric_name
from cloudkitty.db import api as db_api
from cloudkitty.service_metrics import exposition
from cloudkitty.service_metrics import processor as service_metrics
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import services, storage_factory
from cloudkitty.tests.functional import metrics_scrape
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.test_processor_inprocess import (
    HOUR,
    HOURS,
    METRICS,
    ORIGIN,
    SCOPES,
    Pipeline,
    fixed_clock,  # noqa: F401 (the processor's clock, a fixture)
    seed,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

P = "cloudkitty_processor_"


@pytest.fixture(scope="module")
def prom_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = pf.BackfilledPrometheus(tmp_path_factory.mktemp("prom"),
                                     pf.generate(ORIGIN, HOURS))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def pipeline_conf(make_conf: Any, db_url: str, tmp_path: Path,
                  prom_url: str) -> Any:
    """Three scopes of the backfilled series, collected from
    ``prom_url`` and rated over ``fake://``."""
    storage_factory.migrate(db_url)
    metrics_file = tmp_path / "metrics.yml"
    metrics_file.write_text(METRICS)
    return storage_factory.storage_conf(
        make_conf, db_url,
        DEFAULT={"transport_url": "fake://",
                 "control_exchange": f"ck-{tmp_path.name}"},
        collect={"period": 3600, "wait_periods": 0,
                 "metrics_conf": str(metrics_file)},
        collector_prometheus={"prometheus_url": prom_url},
        fetcher_source={"sources": ",".join(SCOPES)},
        orchestrator={"coordination_url": f"file://{tmp_path}/locks",
                      "max_threads": 4})


@pytest.fixture
def pipeline(make_conf: Any, db_url: str, tmp_path: Path,
             prom_url: str) -> Iterator[Pipeline]:
    pipe = Pipeline(pipeline_conf(make_conf, db_url, tmp_path, prom_url))
    try:
        yield pipe
    finally:
        pipe.close()
        db_api.dispose_engines()


@pytest.fixture
def endpoint() -> Iterator[str]:
    """Recording enabled in this process (in memory), served over HTTP
    on a free port."""
    registry = CollectorRegistry(auto_describe=False)
    service_metrics.enable(registry)
    exporter = exposition.Exporter(
        "127.0.0.1", 0, exposition.Exposition(
            registry=registry, derive=service_metrics.derive_lag))
    exporter.start()
    try:
        yield exporter.url
    finally:
        exporter.stop()
        service_metrics.disable()


def stored_points(conf: Any, begin: datetime.datetime,
                  end: datetime.datetime) -> int:
    result = get_storage(conf).retrieve(begin, end, paginate=False)
    return sum(len(frame) for frame in result["dataframes"])


def test_rating_is_counted_and_lag_reported(pipeline: Pipeline,
                                            endpoint: str) -> None:
    conf = pipeline.conf
    before = metrics_scrape.scrape(endpoint)
    assert before.matching(P + "scope_periods_rated_total") == {}
    start = ORIGIN - HOUR
    seed(conf, SCOPES, start)
    assert pipeline.loop.run_cycle() is True

    states: dict[str, datetime.datetime] = {}
    for scope_id in SCOPES:
        last = StateManager(conf).get_last_processed_timestamp(scope_id)
        assert last is not None
        states[scope_id] = last
    periods = sum(int((last - start) / HOUR) for last in states.values())
    assert periods > 0
    points = stored_points(conf, ORIGIN, max(states.values()) + HOUR)
    assert points > 0

    scraped_at = time.time()
    found = metrics_scrape.scrape(endpoint)
    assert found.content_type.startswith("application/openmetrics-text")
    assert found.types[P + "scope_periods_rated"] == "counter"
    assert found.value(P + "scope_periods_rated_total",
                       origin="collector") == periods
    assert found.value(P + "points_rated_total",
                       origin="collector") == points
    assert found.matching(P + "collect_errors_total") == {}

    # Lag: now minus the end of each scope's last rated period.
    assert found.label_values(P + "scope_lag_seconds", "scope_id") == \
        set(SCOPES)
    for scope_id, last in states.items():
        end = (last + HOUR).timestamp()
        lag = found.number(P + "scope_lag_seconds", scope_id=scope_id)
        assert scraped_at - end - 5 <= lag <= time.time() - end + 5
        assert found.value(service_metrics.LAST_RATED_END,
                           scope_id=scope_id) == end

    # Each batch of scopes hands each period over in one rate_frames
    # call (the frames are small): at least one call per period, at most
    # one per scope-period; every call timed.
    calls = metrics_scrape.histogram_consistent(
        found, P + "rating_rpc_duration_seconds", {"method": "rate_frames"})
    assert periods / len(SCOPES) <= calls <= periods
    assert found.number(P + "rating_rpc_duration_seconds_sum",
                        method="rate_frames") > 0

    classic = metrics_scrape.scrape(endpoint, classic=True)
    assert classic.content_type.startswith("text/plain")
    assert classic.value(P + "scope_periods_rated_total",
                         origin="collector") == periods
    metrics_scrape.promtool_check(classic.body)


def test_collect_errors_are_counted_by_metric(make_conf: Any, db_url: str,
                                              tmp_path: Path,
                                              endpoint: str) -> None:
    # Nothing listens there: every request for every metric fails.
    dead = f"http://127.0.0.1:{pf.free_port()}"
    dead_conf = pipeline_conf(make_conf, db_url, tmp_path, dead)
    pipe = Pipeline(dead_conf)
    try:
        seed(dead_conf, SCOPES, ORIGIN - HOUR)
        assert pipe.loop.run_cycle() is False
    finally:
        pipe.close()
        db_api.dispose_engines()
    found = metrics_scrape.scrape(endpoint)
    keys = {metric_name(key)
            for key in collector_mod.get_collector(dead_conf).metrics}
    assert found.label_values(P + "collect_errors_total", "metric") == keys
    # Each scope failed on each metric at least once (a batch of scopes
    # fails together, then scope by scope).
    for key in keys:
        assert found.number(P + "collect_errors_total",
                            metric=key) >= len(SCOPES)
    assert found.matching(P + "scope_periods_rated_total") == {}
    assert found.matching(P + "scope_lag_seconds") == {}
