"""Batch catch-up against the real services: the collector loop in this
process (``fake://`` transport, real rating server and client), the
session's Prometheus with two days of history, a priced PostgreSQL
database.

* the scopes due at a period cost one Prometheus query per metric,
  counted by Prometheus itself (``prometheus_http_requests_total``);
* a metric failing for everyone stores nothing at all;
* two collector loops working the same scopes at the same time, with the
  scope locks defeated, still store every scope-period exactly once: the
  bulk write refuses the stale ones.
"""
from __future__ import annotations

import contextlib
import re
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from cloudkitty import collector as collector_mod
from cloudkitty import fetcher as fetcher_mod
from cloudkitty.db import api as db_api
from cloudkitty.processor import endpoints, locks, rpcapi
from cloudkitty.processor import skip as skip_mod
from cloudkitty.processor.loop import CollectorLoop
from cloudkitty.processor.unit import RatingUnit
from cloudkitty.storage import get_storage
from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.history import (
    HOUR,
    HOURS,
    METRICS_YML,
)
from cloudkitty.tests.functional.processor.test_end_to_end import (
    check_rated_exactly,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

METRICS = len(re.findall(r"^  \S+:$", METRICS_YML, re.M))
#: A metric whose query Prometheus cannot parse, for any scope.
UNPARSABLE_YML = """\
  ck_proc_volume_size_gb_again:
    alt_name: volume.again
    unit: GiB
    groupby: [volume_id, project_id]
    extra_args: {aggregation_method: max, query_suffix: ")"}
"""
_QUERIES = re.compile(
    r'^prometheus_http_requests_total\{[^}]*handler="/api/v1/query"[^}]*\}'
    r' (\S+)$', re.M)


def queries(prom_url: str) -> int:
    """Instant queries the Prometheus behind ``prom_url`` answered so
    far (any status)."""
    base = prom_url.rsplit("/api/v1", 1)[0]
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return sum(int(float(n)) for n in _QUERIES.findall(text))


class NoLocks(locks.Coordinator):
    """Every scope lock is granted, as when locks expire under a worker
    or two processors are given different lock backends by mistake."""

    @contextlib.contextmanager
    def try_lock(self, name: str) -> Iterator[bool]:
        yield True


class Pipeline:
    """Collector loops and a rating worker in this process."""

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.collector = collector_mod.get_collector(conf)
        unit = RatingUnit(conf, get_storage(conf),
                          skip_mod.load_skip_expressions(
                              conf, self.collector.metrics))
        self.server = endpoints.rating_server(conf, unit)
        self.server.start()
        self.coordinators: list[locks.Coordinator] = []
        self.loops: list[CollectorLoop] = []

    def loop(self, coordinator: type[locks.Coordinator] = locks.Coordinator
             ) -> CollectorLoop:
        coord = coordinator(self.conf)
        self.coordinators.append(coord)
        loop = CollectorLoop(
            self.conf, coordinator=coord,
            fetcher=fetcher_mod.get_fetcher(self.conf),
            collector=collector_mod.get_collector(self.conf),
            rating=rpcapi.RatingClient(self.conf, timeout=60))
        self.loops.append(loop)
        return loop

    def close(self) -> None:
        for loop in self.loops:
            loop.close()
        self.server.stop()
        self.server.wait()
        for coord in self.coordinators:
            coord.stop()
        db_api.dispose_engines()


@pytest.fixture
def pipeline(rig: Rig) -> Iterator[Any]:
    pipes: list[Pipeline] = []

    def make(**overrides: dict[str, Any]) -> tuple[Pipeline, Any]:
        proc = rig.processor(f"inproc-{len(pipes)}", "fake://",
                             scopes=rig.history.projects, **overrides)
        conf = proc.conf()
        pipe = Pipeline(conf)
        pipes.append(pipe)
        return pipe, conf

    yield make
    for pipe in pipes:
        pipe.close()


def test_one_query_per_metric_and_period_for_all_scopes(
        rig: Rig, pipeline: Any, prometheus: pf.BackfilledPrometheus
        ) -> None:
    scopes = rig.history.projects
    pipe, conf = pipeline(orchestrator={"max_workers": 1})
    rig.seed(rig.processors[0], scopes)
    loop = pipe.loop()
    before = queries(prometheus.url)
    assert loop.run_cycle() is True
    asked = queries(prometheus.url) - before
    # Scope by scope this would be len(scopes) times as many.
    assert len(scopes) >= 4
    assert asked == METRICS * HOURS
    assert harness.caught_up(conf, scopes, harness.last_due())()
    check_rated_exactly(rig, scopes)


def test_a_metric_failing_for_every_scope_stores_nothing(
        rig: Rig, pipeline: Any, prometheus: pf.BackfilledPrometheus,
        caplog: pytest.LogCaptureFixture) -> None:
    scopes = rig.history.projects
    metrics = rig.tmp_path / "metrics-unparsable.yml"
    metrics.write_text(METRICS_YML + UNPARSABLE_YML)
    pipe, conf = pipeline(collect={"metrics_conf": metrics},
                          orchestrator={"max_workers": 1})
    rig.seed(rig.processors[0], scopes)
    before = queries(prometheus.url)
    assert pipe.loop().run_cycle() is False
    # The first period only: one query per metric for all, then the
    # failing one scope by scope to find who fails (everyone).
    assert queries(prometheus.url) - before == METRICS + 1 + len(scopes)
    assert harness.states(conf, scopes) == dict.fromkeys(
        scopes, rig.t0 - HOUR)
    assert harness.stored_counts(conf, rig.t0, rig.end) == {}
    failed = set(re.findall(r"Scope (\S+) not rated further this cycle: "
                            r".*ck_proc_volume_size_gb_again", caplog.text))
    assert failed == set(scopes)


def test_racing_loops_without_locks_store_every_period_once(
        rig: Rig, pipeline: Any, caplog: pytest.LogCaptureFixture) -> None:
    scopes = rig.history.projects
    pipe, conf = pipeline(orchestrator={"max_workers": 1, "max_threads": 4})
    rig.seed(rig.processors[0], scopes)
    loops = [pipe.loop(NoLocks), pipe.loop(NoLocks)]
    target = harness.last_due()
    start = threading.Barrier(len(loops))
    errors: list[BaseException] = []

    def work(loop: CollectorLoop) -> None:
        try:
            start.wait()
            for _ in range(10):
                if loop.run_cycle() and harness.caught_up(
                        conf, scopes, target)():
                    return
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(loop,))
               for loop in loops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert errors == []
    assert harness.caught_up(conf, scopes, target)()
    # They did collide (started together on the same scopes), and the
    # loser of each collision had its frames refused.
    assert "Dropped a stale frame of scope" in caplog.text
    check_rated_exactly(rig, scopes)
    assert harness.stored_totals(conf, rig.t0, rig.end) == \
        rig.history.totals(scopes)
