"""``cloudkitty-processor`` serves its metrics over HTTP while it rates
Prometheus history, in one process and with two worker processes (whose
figures the endpoint adds up): what it reports equals what its log and
the storage say it did, the broken project's metric is counted as a
collect error, and the lag of each project follows its state.

The body is read with prometheus_client's OpenMetrics and classic
parsers and checked with ``promtool check metrics``.
"""
from __future__ import annotations

import re
import time
import urllib.error

import pytest

from cloudkitty.tests import services
from cloudkitty.tests.functional import metrics_scrape
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.api.conftest import free_port
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.history import (
    BROKEN_METRIC,
    BROKEN_METRIC_YML,
    BROKEN_SCOPE,
    HOUR,
    METRICS_YML,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

P = "cloudkitty_processor_"


def failures(proc: harness.Processor, scope: str) -> int:
    return len(re.findall(rf"Scope {re.escape(scope)} not rated further",
                          proc.log()))


@pytest.mark.parametrize("processes", [1, 2])
def test_processor_metrics_match_what_it_did(rig: Rig,
                                             processes: int) -> None:
    metrics = rig.tmp_path / "metrics-broken.yml"
    metrics.write_text(METRICS_YML + BROKEN_METRIC_YML)
    scopes = [*rig.scopes, BROKEN_SCOPE]
    port = free_port()
    proc = rig.processor(
        "proc", "fake://", scopes=scopes,
        collect={"metrics_conf": metrics},
        orchestrator={"max_workers": 2, "worker_processes": processes},
        service_metrics={"enabled": True, "processor_port": port})
    conf = proc.conf()
    rig.seed(proc, scopes)
    url = f"http://127.0.0.1:{port}/metrics"
    proc.start()
    metrics_scrape.wait_for_endpoint(url)
    harness.wait_for(
        harness.caught_up(conf, rig.scopes, harness.last_due()), 120,
        "the healthy scopes rated", proc)
    harness.wait_for(lambda: failures(proc, BROKEN_SCOPE) >= 1, 30,
                     "the broken scope failed", proc)

    def matches_log() -> bool:
        # A frame is counted right after it is stored: let the last
        # counts land.
        found = metrics_scrape.scrape(url)
        rated = proc.rated()
        return (found.value(P + "scope_periods_rated_total",
                            origin="collector") == len(rated)
                and found.value(P + "points_rated_total",
                                origin="collector")
                == sum(r[3] for r in rated))

    harness.wait_for(matches_log, 30, "the figures to match the log", proc)
    logged_failures = failures(proc, BROKEN_SCOPE)
    scraped_at = time.time()
    found = metrics_scrape.scrape(url)
    classic = metrics_scrape.scrape(url, classic=True)
    proc.stop()
    metrics_scrape.promtool_check(classic.body)
    assert classic.value(P + "scope_periods_rated_total",
                         origin="collector") == \
        found.value(P + "scope_periods_rated_total", origin="collector")

    rated = proc.rated()
    assert {scope for _, scope, _, _ in rated} == set(rig.scopes)
    assert found.value(P + "scope_periods_rated_total",
                       origin="collector") == len(rated)
    assert found.value(P + "points_rated_total",
                       origin="collector") == sum(r[3] for r in rated)
    # Only the broken metric failed, at least once per logged failure.
    assert found.label_values(P + "collect_errors_total", "metric") == \
        {BROKEN_METRIC}
    assert found.number(P + "collect_errors_total",
                        metric=BROKEN_METRIC) >= logged_failures
    # Lag of each rated project: now minus the end of its last period;
    # the broken project has rated nothing.
    assert found.label_values(P + "scope_lag_seconds", "scope_id") == \
        set(rig.scopes)
    for scope_id, last in harness.states(conf, rig.scopes).items():
        assert last is not None
        end = (last + HOUR).timestamp()
        lag = found.number(P + "scope_lag_seconds", scope_id=scope_id)
        assert scraped_at - end - 5 <= lag <= scraped_at - end + 5
    # Frames are rated in the processes that collected them: no RPC.
    assert found.matching(P + "rating_rpc_duration_seconds_count") == {}


def test_port_in_use_is_a_config_error(rig: Rig) -> None:
    port = free_port()
    with pf.socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        proc = rig.processor(
            "proc", "fake://",
            service_metrics={"enabled": True, "processor_port": port})
        proc.start()
        status = proc.wait_exit(60)
    assert status != 0
    assert "processor_port" in proc.log()
    with pytest.raises(urllib.error.URLError):
        metrics_scrape.scrape(f"http://127.0.0.1:{port}/metrics",
                              timeout=2)
