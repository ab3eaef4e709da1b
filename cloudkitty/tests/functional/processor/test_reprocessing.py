"""After a price change made with the real client, a reprocessing task
created with the real client re-rates exactly its window (the period
starting at its end included, COMPAT §7.2) for its scopes, with the new
price; every other scope-period keeps its price and the scopes' regular
state does not move.

The price changed is the volume threshold's: hashmap thresholds have no
validity window, so a new cost prices past periods once they are rated
again. (A mapping's cost cannot change once it has started, and a new
mapping cannot start in the past through the client.)
"""
from __future__ import annotations

from decimal import Decimal

from cloudkitty.storage.state import ReprocessingSchedules
from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.api.conftest import running_api
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.history import (
    HOUR,
    METRICS_YML,
    PRICES,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

NEW_THRESHOLD_RATE = Decimal("0.5")


def test_reprocessing_rerates_exactly_the_window(rig: Rig,
                                                 rabbit_url: str) -> None:
    proc = rig.processor("proc", rabbit_url,
                         orchestrator={"max_workers_reprocessing": 1})
    conf = proc.conf()
    rig.seed(proc)
    proc.start()
    harness.wait_for(
        harness.caught_up(conf, rig.scopes, harness.last_due()), 90,
        "every scope rated", proc)
    before = harness.states(conf, rig.scopes)
    # The third project has volumes past the threshold level throughout
    # the window, the first none: its prices stay as they were.
    scopes = [rig.scopes[2], rig.scopes[0]]
    start, end = rig.t0 + 20 * HOUR, rig.t0 + 30 * HOUR

    (rig.tmp_path / "api").mkdir()
    with running_api(rig.tmp_path / "api", rig.db_url,
                     metrics_yml=METRICS_YML,
                     fetcher={"backend": "source"}) as api:
        harness.ck(api, "hashmap", "threshold", "update",
                   rig.ids["volume_threshold"], "--cost",
                   str(NEW_THRESHOLD_RATE))
        harness.ck(api, "tasks", "reprocessing", "create",
                   *[arg for s in scopes for arg in ("--scope-id", s)],
                   "--start-reprocess-time", start.isoformat(),
                   "--end-reprocess-time", end.isoformat(),
                   "--reason", "volume discount changed")
        schedules = ReprocessingSchedules(conf)
        harness.wait_for(
            lambda: all(s.finished for s in schedules.list_schedules()), 60,
            "the reprocessing schedules finished", proc)
        tasks = harness.ck(api, "tasks", "reprocessing", "get")
    proc.stop()

    assert sorted((t["Scope ID"], t["Current reprocessing time"])
                  for t in tasks) == sorted(
        (s, end.replace(tzinfo=None).isoformat()) for s in scopes)
    assert harness.states(conf, rig.scopes) == before
    reprocessed = proc.reprocessed()
    window = [start + h * HOUR for h in range(11)]
    assert sorted(reprocessed) == sorted(
        (s, p.isoformat()) for s in scopes for p in window)

    old = {key: price for key, (_, price)
           in rig.history.period_sums(rig.scopes).items()}
    new = {key: price for key, (_, price) in rig.history.period_sums(
        rig.scopes, PRICES.with_threshold_rate(NEW_THRESHOLD_RATE)).items()}
    expected = {key: new[key] if key[0] in scopes and key[1] in window
                else old[key] for key in old}
    stored = {key: price for key, (_, price)
              in harness.stored_sums(conf, rig.t0, rig.end).items()}
    assert stored == expected
    changed = {key for key in old if stored[key] != old[key]}
    assert changed and all(key[0] == scopes[0] and key[1] in window
                           for key in changed)
    assert harness.stored_counts(conf, rig.t0, rig.end) == \
        rig.history.period_counts(rig.scopes)

