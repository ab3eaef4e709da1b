"""The processor's loops in this process: ``fake://`` transport, a real
Prometheus with backfilled history, real databases and file locks.

The subprocess tests under ``functional/processor/`` run the console
script; these check the orchestration itself quickly: every due period
of every scope is rated exactly once and the frames stored are what the
collector (tested on its own against the series) returns.
"""
from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import pytest

from cloudkitty import collector as collector_mod
from cloudkitty import exceptions
from cloudkitty import fetcher as fetcher_mod
from cloudkitty.db import api as db_api
from cloudkitty.processor import endpoints, locks, rpcapi, schedule
from cloudkitty.processor import skip as skip_mod
from cloudkitty.processor.collect import collect_frame
from cloudkitty.processor.loop import CollectorLoop
from cloudkitty.processor.reprocess import ReprocessLoop
from cloudkitty.processor.unit import RatingUnit
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.tests import services, storage_factory
from cloudkitty.tests.functional import prometheus_fixture as pf

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
NOW = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
ORIGIN = NOW - 7 * HOUR
HOURS = 6
SCOPES = ["p1", "p2", "p3"]
METRICS = """\
metrics:
  ck_test_size:
    alt_name: size
    unit: GiB
    groupby: [id, type]
    extra_args: {aggregation_method: max}
  ck_test_bytes:
    alt_name: bytes
    unit: B
    groupby: [id]
    extra_args: {aggregation_method: sum, range_function: delta}
"""


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The processor's clock stays in the hour ``NOW`` was taken in, so a
    run crossing an hour does not make one more period due."""
    monkeypatch.setattr(schedule, "utcnow",
                        lambda: NOW + datetime.timedelta(minutes=30))


@pytest.fixture(scope="module")
def prom(tmp_path_factory) -> Iterator[pf.BackfilledPrometheus]:
    server = pf.BackfilledPrometheus(tmp_path_factory.mktemp("prom"),
                                     pf.generate(ORIGIN, HOURS))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def conf(make_conf, db_url, tmp_path, prom):
    storage_factory.migrate(db_url)
    metrics_file = tmp_path / "metrics.yml"
    metrics_file.write_text(METRICS)
    conf = storage_factory.storage_conf(
        make_conf, db_url,
        DEFAULT={"transport_url": "fake://",
                 "control_exchange": f"ck-{tmp_path.name}"},
        collect={"period": 3600, "wait_periods": 0,
                 "metrics_conf": str(metrics_file)},
        collector_prometheus={"prometheus_url": prom.url},
        fetcher_source={"sources": ",".join(SCOPES)},
        orchestrator={"coordination_url": f"file://{tmp_path}/locks",
                      "max_threads": 4})
    yield conf
    db_api.dispose_engines()


class Pipeline:
    """A collector loop and a rating server sharing a fake transport."""

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.coordinator = locks.Coordinator(conf)
        collector = collector_mod.get_collector(conf)
        self.collector = collector
        unit = RatingUnit(conf, get_storage(conf),
                          skip_mod.load_skip_expressions(
                              conf, collector.metrics))
        self.server = endpoints.rating_server(conf, unit)
        self.server.start()
        self.rating = rpcapi.RatingClient(conf, timeout=60)
        self.loop = CollectorLoop(
            conf, coordinator=self.coordinator,
            fetcher=fetcher_mod.get_fetcher(conf), collector=collector,
            rating=self.rating)

    def close(self) -> None:
        self.loop.close()
        self.server.stop()
        self.server.wait()
        self.coordinator.stop()


@pytest.fixture
def pipeline(conf) -> Iterator[Pipeline]:
    pipe = Pipeline(conf)
    try:
        yield pipe
    finally:
        pipe.close()


def seed(conf: Any, scopes: list[str], last: datetime.datetime) -> None:
    for scope_id in scopes:
        StateManager(conf).set_last_processed_timestamp(scope_id, last)


def expected_frame(pipe: Pipeline, scope_id: str,
                   begin: datetime.datetime) -> dict[str, list[Any]]:
    with futures.ThreadPoolExecutor(2) as pool:
        frame = collect_frame(pipe.collector, scope_id, begin, begin + HOUR,
                              pool=pool, timeout=60)
    return {t: sorted((p.qty, tuple(sorted(p.groupby.items())))
                      for p in points) for t, points in frame.itertypes()}


def stored(conf: Any, scope_id: str, begin: datetime.datetime
           ) -> dict[str, list[Any]]:
    result = get_storage(conf).retrieve(
        begin, begin + HOUR, filters={"project_id": scope_id},
        paginate=False)
    usage: dict[str, list[Any]] = {}
    for frame in result["dataframes"]:
        for metric_type, point in frame.iterpoints():
            usage.setdefault(metric_type, []).append(
                (point.qty, tuple(sorted(point.groupby.items()))))
    return {t: sorted(v) for t, v in usage.items()}


def test_catch_up_rates_every_due_period_once(conf, pipeline) -> None:
    seed(conf, SCOPES, ORIGIN - HOUR)
    assert pipeline.loop.run_cycle() is True
    states = StateManager(conf)
    # Due: every period that ended before now (wait_periods = 0).
    last_due = NOW - HOUR
    for scope_id in SCOPES:
        assert states.get_last_processed_timestamp(scope_id) == last_due
    periods = get_storage(conf).total(groupby=["time", "project_id"],
                                      paginate=False)["results"]
    per_scope: dict[str, list[datetime.datetime]] = {}
    for row in periods:
        per_scope.setdefault(row["project_id"], []).append(row["begin"])
    hours = [ORIGIN + i * HOUR for i in range(HOURS)]
    # The series cover HOURS hours from ORIGIN; later periods have no data
    # and are not stored, but the state went past them.
    for scope_id in SCOPES:
        assert sorted(per_scope[scope_id]) == hours
    for begin in (hours[0], hours[-1]):
        assert stored(conf, "p2", begin) == expected_frame(pipeline, "p2",
                                                           begin)
    # A second cycle finds nothing due and changes nothing.
    before = get_storage(conf).total(paginate=False)["results"]
    assert pipeline.loop.run_cycle() is True
    assert get_storage(conf).total(paginate=False)["results"] == before


def test_locked_and_inactive_scopes_are_left_alone(conf, pipeline) -> None:
    seed(conf, SCOPES, ORIGIN - HOUR)
    StateManager(conf).update_state("p3", active=False)
    key, fetcher, collector = StateManager(conf).current_keys()
    other = locks.Coordinator(conf)
    try:
        with other.try_lock(locks.scope_lock_name(
                "p1", collector, fetcher, key)) as taken:
            assert taken
            pipeline.loop.run_cycle()
    finally:
        other.stop()
    states = StateManager(conf)
    assert states.get_last_processed_timestamp("p1") == ORIGIN - HOUR
    assert states.get_last_processed_timestamp("p3") == ORIGIN - HOUR
    assert states.get_last_processed_timestamp("p2") == NOW - HOUR


def test_collect_error_stops_the_scope_before_the_missing_period(
        conf, pipeline) -> None:
    seed(conf, ["p1"], ORIGIN - HOUR)
    client = pipeline.collector.client  # type: ignore[attr-defined]
    url, client.url = client.url, pf.closed_port_url()
    try:
        assert pipeline.loop.catch_up("p1") is False
    finally:
        client.url = url
    assert StateManager(conf).get_last_processed_timestamp("p1") == \
        ORIGIN - HOUR
    assert get_storage(conf).total(paginate=False)["results"] == []


def test_stop_finishes_the_period_in_hand(conf, pipeline) -> None:
    seed(conf, ["p1"], ORIGIN - HOUR)
    rated = threading.Event()
    original = pipeline.rating.rate_frames

    def rate_then_stop(*args: Any, **kwargs: Any) -> Any:
        reply = original(*args, **kwargs)
        pipeline.loop.stop()
        rated.set()
        return reply

    pipeline.rating.rate_frames = rate_then_stop  # type: ignore[method-assign]
    assert pipeline.loop.catch_up("p1") is True
    assert rated.is_set()
    assert StateManager(conf).get_last_processed_timestamp("p1") == ORIGIN


def test_reprocessing_replaces_the_window_and_keeps_the_state(
        conf, pipeline) -> None:
    seed(conf, ["p1"], ORIGIN - HOUR)
    pipeline.loop.catch_up("p1")
    storage = get_storage(conf)
    before = storage.total(groupby=["time"], filters={"project_id": "p1"},
                           paginate=False)["results"]
    schedules = ReprocessingSchedules(conf)
    (item,) = schedules.create("p1", ORIGIN + HOUR, ORIGIN + 3 * HOUR,
                               "test")
    loop = ReprocessLoop(conf, coordinator=pipeline.coordinator,
                         collector=pipeline.collector,
                         rating=pipeline.rating)
    try:
        assert loop.run_cycle() is True
    finally:
        loop.close()
    assert schedules.get_current_time(item.id) == ORIGIN + 3 * HOUR
    assert schedules.get_unfinished() == []
    assert StateManager(conf).get_last_processed_timestamp("p1") == \
        NOW - HOUR
    # Same source, same rules: re-rating changes nothing, and nothing is
    # doubled.
    assert storage.total(groupby=["time"], filters={"project_id": "p1"},
                         paginate=False)["results"] == before


def test_stale_frames_are_refused_by_the_rating_worker(conf,
                                                     pipeline) -> None:
    seed(conf, ["p1"], ORIGIN)
    frame = storage_factory.frame(ORIGIN, {})
    with pytest.raises(exceptions.StaleProgress):
        pipeline.rating.rate_frame("p1", frame, ORIGIN - HOUR)
    assert StateManager(conf).get_last_processed_timestamp("p1") == ORIGIN
