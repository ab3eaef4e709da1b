"""A processor killed with SIGKILL — while collecting, while rating, and
between the storage commit and the acknowledgement — and started again
loses nothing and doubles nothing: the final data equals the independent
rating of the history (which an uninterrupted run is checked to give in
test_end_to_end) exactly, scope-period by scope-period.
"""
from __future__ import annotations

import pytest

from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.history import HOUR
from cloudkitty.tests.functional.processor.test_end_to_end import (
    check_rated_exactly,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")


@pytest.mark.parametrize("failpoint", ["collect:3", "rate:3",
                                       "after-store:3"])
def test_killed_processor_resumes_exactly(rig: Rig, rabbit_url: str,
                                          failpoint: str) -> None:
    proc = rig.processor("proc", rabbit_url,
                         orchestrator={"max_workers": 2,
                                       "max_workers_rating": 2})
    conf = proc.conf()
    rig.seed(proc)
    target = harness.last_due()
    proc.start(env={"CLOUDKITTY_FAILPOINTS": failpoint})
    proc.wait_killed()

    # The crash came early: most of the history is still to rate, and
    # what was stored is whole periods recorded in the state.
    at_crash = harness.states(conf, rig.scopes)
    rated = sum(round((ts - (rig.t0 - HOUR)) / HOUR)
                for ts in at_crash.values() if ts is not None)
    if failpoint == "after-store:3":
        # The third commit happened; its acknowledgement never left.
        assert rated >= 3, at_crash
    assert rated < len(rig.scopes) * len(rig.history.hours()) // 2
    counts = harness.stored_counts(conf, rig.t0, rig.end)
    stored_periods = {(scope, begin) for scope, begin, _ in counts}
    assert all(
        begin <= at_crash[scope]  # type: ignore[operator]
        for scope, begin in stored_periods), (stored_periods, at_crash)

    proc.start()
    harness.wait_for(harness.caught_up(conf, rig.scopes, target), 120,
                     "every scope rated after the restart", proc)
    proc.stop()
    check_rated_exactly(rig, rig.scopes)
    assert harness.stored_totals(conf, rig.t0, rig.end) == \
        rig.history.totals(rig.scopes)
