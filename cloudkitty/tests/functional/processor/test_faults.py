"""Faults around a running ``cloudkitty-processor``: Prometheus down for
a while, a scope whose collection always fails, RabbitMQ restarted
mid-run. Progress stops where data is missing, nothing is skipped, and
the final data equals the independent rating exactly."""
from __future__ import annotations

import re
from pathlib import Path

from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.history import (
    BROKEN_METRIC,
    BROKEN_METRIC_YML,
    BROKEN_SCOPE,
    HOUR,
    METRICS_YML,
    current_hour,
)
from cloudkitty.tests.functional.processor.test_end_to_end import (
    check_rated_exactly,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

#: With wait_periods = 30 the last due period is 30 hours back.
WAIT = 30


def failures(proc: harness.Processor, scope: str) -> int:
    """How many cycles logged that ``scope`` could not be rated."""
    return len(re.findall(rf"Scope {re.escape(scope)} not rated further",
                          proc.log()))


def test_prometheus_outage_holds_the_state_then_resumes(
        rig: Rig, tmp_path: Path) -> None:
    prom = harness.RestartablePrometheus(tmp_path / "prom",
                                         rig.history.series())
    prom.start()
    try:
        proc = rig.processor(
            "proc", "fake://", collect={"wait_periods": WAIT},
            collector_prometheus={"prometheus_url": prom.url})
        conf = proc.conf()
        rig.seed(proc)
        # Some periods rated while Prometheus answers...
        rated_before = current_hour() - WAIT * HOUR
        proc.start()
        harness.wait_for(harness.caught_up(conf, rig.scopes, rated_before),
                         60, "the first periods rated", proc)
        proc.stop()
        # ... then it is down while more periods are due.
        prom.stop()
        proc.configure(collect={"wait_periods": 0})
        proc.start()
        harness.wait_for(
            lambda: all(failures(proc, s) >= 2 for s in rig.scopes), 60,
            "two failed cycles for every scope", proc)
        assert harness.states(conf, rig.scopes) == {
            s: rated_before for s in rig.scopes}
        assert "cannot reach" in proc.log()
        prom.restart()
        harness.wait_for(
            harness.caught_up(conf, rig.scopes, harness.last_due()), 60,
            "every scope rated once Prometheus is back", proc)
        proc.stop()
    finally:
        prom.stop()
    check_rated_exactly(rig, rig.scopes)


def test_a_failing_scope_does_not_hold_back_the_others(rig: Rig) -> None:
    metrics = rig.tmp_path / "metrics-broken.yml"
    metrics.write_text(METRICS_YML + BROKEN_METRIC_YML)
    scopes = [*rig.scopes, BROKEN_SCOPE]
    proc = rig.processor("proc", "fake://", scopes=scopes,
                         collect={"metrics_conf": metrics},
                         orchestrator={"max_workers": 2})
    conf = proc.conf()
    rig.seed(proc, scopes)
    proc.start()
    harness.wait_for(
        harness.caught_up(conf, rig.scopes, harness.last_due()), 60,
        "the healthy scopes rated", proc)
    harness.wait_for(lambda: failures(proc, BROKEN_SCOPE) >= 2, 30,
                     "the broken scope retried", proc)
    assert harness.states(conf, [BROKEN_SCOPE]) == {
        BROKEN_SCOPE: rig.t0 - HOUR}
    errors = [line for line in proc.log().splitlines()
              if f"Scope {BROKEN_SCOPE} not rated further" in line]
    assert all(BROKEN_METRIC in line and
               "vector cannot contain metrics with the same labelset"
               in line for line in errors), errors
    proc.stop()
    check_rated_exactly(rig, rig.scopes)


@services.needs(harness.PrivateRabbit.available(),
                "rabbitmq-server not installed")
def test_rabbitmq_restart_mid_run(rig: Rig, tmp_path: Path,
                                  prometheus: pf.BackfilledPrometheus
                                  ) -> None:
    rabbit = harness.PrivateRabbit(tmp_path / "rabbit")
    rabbit.start()
    scopes = rig.scopes[:2]
    try:
        # Slow answers keep the catch-up going while RabbitMQ restarts.
        with harness.slow_proxy(prometheus, 0.1) as proxy:
            proc = rig.processor(
                "proc", rabbit.url, scopes=scopes,
                collector_prometheus={"prometheus_url": proxy.url},
                orchestrator={"max_workers": 2, "max_workers_rating": 1})
            conf = proc.conf()
            rig.seed(proc, scopes)
            target = harness.last_due()
            proc.start()

            def rated() -> int:
                return sum(round((ts - rig.t0) / HOUR) + 1
                           for ts in harness.states(conf, scopes).values()
                           if ts is not None)

            harness.wait_for(lambda: rated() >= 10, 60,
                             "some periods rated", proc)
            rabbit.stop()
            assert not harness.caught_up(conf, scopes, target)()
            rabbit.start()
            harness.wait_for(harness.caught_up(conf, scopes, target), 150,
                             "every scope rated after the restart", proc)
            proc.stop(allow_tracebacks=True)
    finally:
        rabbit.stop()
    assert "unreachable" in proc.log()
    check_rated_exactly(rig, scopes)
