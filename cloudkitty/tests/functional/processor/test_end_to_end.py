"""``cloudkitty-processor`` rates two days of Prometheus history for
several projects, over RabbitMQ and over ``fake://``; what it stored, and
what ``cloudkitty summary get`` reports, equals the rating computed
independently from the generated series and the price list.

Tolerance: none. Storage sums are exact decimals and compared as such.
The v2 API renders a decimal as the nearest double (``float(Decimal)``)
and JSON carries it unchanged through the client, so the CLI's numbers
are compared for equality with ``float(expected)``.
"""
from __future__ import annotations

import time

from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.api.conftest import running_api
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.history import METRICS_YML

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")


def check_rated_exactly(rig: Rig, scopes: list[str]) -> None:
    """Every scope-period of the history stored once, with the expected
    quantities and prices (exact decimals)."""
    conf = rig.processors[0].conf()
    counts = harness.stored_counts(conf, rig.t0, rig.end)
    assert counts == rig.history.period_counts(scopes)
    assert harness.stored_sums(conf, rig.t0, rig.end) == \
        rig.history.period_sums(scopes)


def test_catch_up_equals_independent_rating(rig: Rig,
                                            transport_url: str) -> None:
    proc = rig.processor("proc", transport_url,
                         orchestrator={"max_workers": 2,
                                       "max_workers_rating": 2})
    conf = proc.conf()
    rig.seed(proc)
    target = harness.last_due()
    started = time.monotonic()
    proc.start()
    harness.wait_for(harness.caught_up(conf, rig.scopes, target), 120,
                     "every scope rated up to the last due period", proc)
    elapsed = time.monotonic() - started
    proc.stop()

    check_rated_exactly(rig, rig.scopes)
    totals = rig.history.totals(rig.scopes)
    assert harness.stored_totals(conf, rig.t0, rig.end) == totals

    rated = proc.rated()
    periods = len(rated)
    points = sum(r[3] for r in rated)
    span = (rated[-1][0] - rated[0][0]).total_seconds() if rated else 0
    print(f"\n[{transport_url.split(':')[0]}] {periods} scope-periods, "
          f"{points} points; start to caught-up {elapsed:.2f} s "
          f"({periods / elapsed:.1f} scope-periods/s, "
          f"{points / elapsed:.1f} points/s); first to last stored "
          f"{span:.2f} s ({periods / span if span else 0:.1f} "
          f"scope-periods/s, {points / span if span else 0:.1f} points/s)")

    # Nothing failed on the way: no period was retried, no frame lost.
    errors = [line for line in proc.log().splitlines() if " ERROR " in line]
    assert errors == []

    (rig.tmp_path / "api").mkdir()
    with running_api(rig.tmp_path / "api", rig.db_url,
                     metrics_yml=METRICS_YML) as api:
        shown = harness.summary(api, rig.t0, rig.end)
    assert shown == {key: (float(qty), float(price))
                     for key, (qty, price) in totals.items()}
