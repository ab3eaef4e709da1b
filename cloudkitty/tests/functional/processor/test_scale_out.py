"""Processors sharing one RabbitMQ virtual host and one Redis lock
backend: two alike share the scopes, and one without rating workers has
another's rate its frames; every scope-period is rated exactly once."""
from __future__ import annotations

import collections
import uuid

from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.test_end_to_end import (
    check_rated_exactly,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")


def _rated_once(rig: Rig, procs: list[harness.Processor],
                scopes: list[str]) -> dict[str, int]:
    """Every scope-period of ``scopes`` was stored exactly once, by one
    of ``procs``; the scope-periods each stored."""
    conf = procs[0].conf()
    check_rated_exactly(rig, scopes)
    assert harness.stored_totals(conf, rig.t0, rig.end) == \
        rig.history.totals(scopes)
    logged = [(scope, period) for proc in procs
              for _, scope, period, _ in proc.rated()]
    repeated = [k for k, n in collections.Counter(logged).items() if n > 1]
    assert repeated == []
    assert len(logged) >= len(scopes) * len(rig.history.hours())
    split = {proc.name: len(proc.rated()) for proc in procs}
    print(f"\nscope-periods stored per processor: {split}")
    return split


def test_two_processors_rate_every_scope_period_once(
        rig: Rig, rabbit_url: str,
        prometheus: pf.BackfilledPrometheus) -> None:
    scopes = rig.history.projects  # all six
    locks = f"{harness.REDIS}?namespace=ck-test-{uuid.uuid4().hex[:10]}"
    # One scope per batch and slow answers: neither processor can take
    # every scope before the other starts.
    workers = {"max_workers": 2, "max_workers_rating": 2,
               "max_scopes_per_batch": 1}
    with harness.slow_proxy(prometheus, 0.05) as proxy:
        procs = [rig.processor(
            name, rabbit_url, coordination_url=locks, scopes=scopes,
            orchestrator=workers,
            collector_prometheus={"prometheus_url": proxy.url})
            for name in ("proc-a", "proc-b")]
        conf = procs[0].conf()
        rig.seed(procs[0], scopes)
        target = harness.last_due()
        for proc in procs:
            proc.start()
        harness.wait_for(harness.caught_up(conf, scopes, target), 120,
                         "every scope rated by the pair", *procs)
        for proc in procs:
            proc.stop()
    split = _rated_once(rig, procs, scopes)
    # The locks share the scopes out: both processors rate some.
    assert all(split.values()), split


def test_frames_go_over_the_bus_to_another_processors_rating_workers(
        rig: Rig, rabbit_url: str) -> None:
    """A processor without rating workers hands its frames to those of a
    processor that only rates."""
    scopes = rig.history.projects[:3]
    locks = f"{harness.REDIS}?namespace=ck-test-{uuid.uuid4().hex[:10]}"
    collecting = rig.processor(
        "collecting", rabbit_url, coordination_url=locks, scopes=scopes,
        orchestrator={"max_workers": 2, "max_workers_rating": 0,
                      "max_workers_reprocessing": 0})
    rating = rig.processor(
        "rating", rabbit_url, coordination_url=locks, scopes=scopes,
        orchestrator={"max_workers": 0, "max_workers_rating": 2,
                      "max_workers_reprocessing": 0})
    conf = collecting.conf()
    rig.seed(collecting, scopes)
    target = harness.last_due()
    rating.start()
    collecting.start()
    harness.wait_for(harness.caught_up(conf, scopes, target), 120,
                     "every scope rated over the bus", collecting, rating)
    collecting.stop()
    rating.stop()
    split = _rated_once(rig, [collecting, rating], scopes)
    assert split["collecting"] == 0 and split["rating"] > 0, split
