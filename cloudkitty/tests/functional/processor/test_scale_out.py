"""Two ``cloudkitty-processor`` processes (two collector and two rating
workers each) on one RabbitMQ virtual host and one Redis lock backend
share the scopes: every scope-period is rated exactly once."""
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


def test_two_processors_rate_every_scope_period_once(
        rig: Rig, rabbit_url: str) -> None:
    scopes = rig.history.projects  # all six
    locks = f"{harness.REDIS}?namespace=ck-test-{uuid.uuid4().hex[:10]}"
    workers = {"max_workers": 2, "max_workers_rating": 2}
    procs = [rig.processor(name, rabbit_url, coordination_url=locks,
                           scopes=scopes, orchestrator=workers)
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

    check_rated_exactly(rig, scopes)
    assert harness.stored_totals(conf, rig.t0, rig.end) == \
        rig.history.totals(scopes)
    # Each stored scope-period was stored by one rating worker, once.
    logged = [(scope, period) for proc in procs
              for _, scope, period, _ in proc.rated()]
    repeated = [k for k, n in collections.Counter(logged).items() if n > 1]
    assert repeated == []
    assert len(logged) >= len(scopes) * len(rig.history.hours())
    # The rating queue is shared: both processors' rating workers work.
    split = {proc.name: len(proc.rated()) for proc in procs}
    print(f"\nscope-periods stored per processor: {split}")
    assert all(split.values()), split
