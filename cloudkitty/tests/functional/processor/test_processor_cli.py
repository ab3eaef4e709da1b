"""The ``cloudkitty-processor`` console script: configuration errors
refused at start-up (exit 1, one stderr line naming file, section and
option), SIGTERM (exit 0 after the scope-period in hand) and SIGHUP
(configuration re-read, workers restarted, nothing lost or doubled)."""
from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable

import psutil
import pytest

from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.conftest import Rig
from cloudkitty.tests.functional.processor.history import (
    HOUR,
    METRICS_YML,
    current_hour,
)
from cloudkitty.tests.functional.processor.test_end_to_end import (
    check_rated_exactly,
)

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

PREFIX = "cloudkitty-processor: configuration error: "

#: Breaks a valid configuration; returns what the error line must name.
Change = Callable[[Rig, harness.Processor], list[str]]


def _bad_metrics(rig: Rig, proc: harness.Processor) -> list[str]:
    path = rig.tmp_path / "bad-metrics.yml"
    path.write_text(METRICS_YML.replace("    unit: GiB\n", ""))
    proc.configure(collect={"metrics_conf": path})
    return [str(path), "ck_proc_volume_size_gb", "unit"]


def _bad_metric_skip(rig: Rig, proc: harness.Processor) -> list[str]:
    path = rig.tmp_path / "bad-skip-metrics.yml"
    path.write_text(METRICS_YML.replace(
        "    alt_name: volume.size\n",
        "    alt_name: volume.size\n"
        "    skip_datapoints_expression: __import__('os').getcwd()\n"))
    proc.configure(collect={"metrics_conf": path})
    return [str(path), "ck_proc_volume_size_gb",
            "skip_datapoints_expression"]


def _bad_skip(rig: Rig, proc: harness.Processor) -> list[str]:
    proc.configure(orchestrator={
        "skip_datapoints_expression": "().__class__.__bases__"})
    return [str(proc.conf_path), "[orchestrator]",
            "skip_datapoints_expression"]


def _unknown_collector(rig: Rig, proc: harness.Processor) -> list[str]:
    proc.configure(collect={"collector": "nope"})
    return [str(proc.conf_path), "[collect]", "collector", "nope"]


def _unknown_fetcher(rig: Rig, proc: harness.Processor) -> list[str]:
    proc.configure(fetcher={"backend": "nope"})
    return [str(proc.conf_path), "[fetcher]", "backend", "nope"]


def _unknown_lock_backend(rig: Rig, proc: harness.Processor) -> list[str]:
    proc.configure(orchestrator={"coordination_url": "nope://somewhere"})
    return [str(proc.conf_path), "[orchestrator]", "coordination_url"]


def _unknown_transport(rig: Rig, proc: harness.Processor) -> list[str]:
    proc.configure(DEFAULT={"transport_url": "nope://somewhere"})
    return [str(proc.conf_path), "[DEFAULT]", "transport_url"]


def _no_workers(rig: Rig, proc: harness.Processor) -> list[str]:
    proc.configure(orchestrator={"max_workers": 0, "max_workers_rating": 0,
                                 "max_workers_reprocessing": 0})
    return [str(proc.conf_path), "[orchestrator]", "max_workers"]


CASES: dict[str, Change] = {
    "bad-metrics-yml": _bad_metrics,
    "bad-metric-skip-expression": _bad_metric_skip,
    "bad-skip-expression": _bad_skip,
    "unknown-collector": _unknown_collector,
    "unknown-fetcher": _unknown_fetcher,
    "unknown-lock-backend": _unknown_lock_backend,
    "unknown-transport": _unknown_transport,
    "all-worker-counts-0": _no_workers,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_configuration_error_is_one_line_and_exit_1(rig: Rig,
                                                    case: str) -> None:
    proc = rig.processor("proc", "fake://")
    names = CASES[case](rig, proc)
    # In a session of its own: a processor that starts its workers
    # instead of refusing the configuration is killed with them.
    child = subprocess.Popen(
        [harness.PROCESSOR, "--config-file", str(proc.conf_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        _, stderr = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        _, stderr = child.communicate()
        raise AssertionError("the processor started instead of refusing "
                             f"its configuration:\n{stderr}") from None
    assert child.returncode == 1, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(PREFIX), lines[0]
    for name in names:
        assert name in lines[0], (name, lines[0])


def stored_up_to_state(rig: Rig, proc: harness.Processor) -> None:
    """Every stored scope-period is whole and the state covers exactly
    the stored periods (every hour of the history has usage)."""
    conf = proc.conf()
    state = harness.states(conf, rig.scopes)
    counts = harness.stored_counts(conf, rig.t0, rig.end)
    expected = rig.history.period_counts(rig.scopes)
    assert counts == {key: n for key, n in expected.items()
                      if key[1] <= state[key[0]]}  # type: ignore[operator]


def test_sigterm_stops_after_the_current_scope_period(
        rig: Rig, prometheus: pf.BackfilledPrometheus) -> None:
    with harness.slow_proxy(prometheus, 0.05) as proxy:
        proc = rig.processor(
            "proc", "fake://",
            collector_prometheus={"prometheus_url": proxy.url})
        conf = proc.conf()
        rig.seed(proc)
        target = harness.last_due()
        proc.start()
        harness.wait_for(
            lambda: sum(ts is not None and ts >= rig.t0 + 4 * HOUR
                        for ts in harness.states(conf, rig.scopes).values())
            >= 1, 60, "a few periods rated", proc)
        proc.stop()  # SIGTERM, exit 0, no traceback
        assert not harness.caught_up(conf, rig.scopes, target)()
        stored_up_to_state(rig, proc)
        proc.start()
        harness.wait_for(harness.caught_up(conf, rig.scopes, target), 90,
                         "every scope rated after the restart", proc)
        proc.stop()
    check_rated_exactly(rig, rig.scopes)


def test_sighup_reloads_the_configuration(rig: Rig) -> None:
    proc = rig.processor("proc", "fake://", collect={"wait_periods": 30},
                         orchestrator={"max_workers": 2})
    conf = proc.conf()
    rig.seed(proc)
    held_back = current_hour() - 30 * HOUR
    proc.start()
    harness.wait_for(harness.caught_up(conf, rig.scopes, held_back), 60,
                     "the periods due with wait_periods = 30", proc)
    assert harness.states(conf, rig.scopes) == {
        s: held_back for s in rig.scopes}
    # Idle now: the next cycle is an hour away. Only a reload of the
    # file can make the remaining periods due.
    proc.configure(collect={"wait_periods": 0})
    proc.signal(signal.SIGHUP)
    # wait_for fails as soon as the processor exits: it must survive.
    harness.wait_for(
        harness.caught_up(conf, rig.scopes, harness.last_due()), 60,
        "the periods due with wait_periods = 0, after SIGHUP", proc)
    proc.stop()
    check_rated_exactly(rig, rig.scopes)


def _group(proc: harness.Processor) -> list[psutil.Process]:
    assert proc.process is not None
    return [p for p in psutil.process_iter(["pid"])
            if _pgid(p.pid) == proc.process.pid]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


@pytest.mark.parametrize("processes", [1, 2])
def test_workers_run_in_worker_processes(rig: Rig, processes: int) -> None:
    """One worker process is the processor itself; more run under it.
    Either way every scope-period is rated once and SIGTERM stops all."""
    proc = rig.processor("proc", "fake://", orchestrator={
        "worker_processes": processes, "max_workers": 2,
        "max_workers_reprocessing": 1})
    conf = proc.conf()
    rig.seed(proc)
    target = harness.last_due()
    proc.start()
    harness.wait_for(harness.caught_up(conf, rig.scopes, target), 90,
                     "every scope rated", proc)
    group = _group(proc)
    assert proc.process is not None
    workers = [p for p in group if p.pid != proc.process.pid]
    if processes == 1:
        assert workers == []
    else:
        assert len(workers) == processes
        assert all(p.ppid() == proc.process.pid for p in workers)
    proc.stop()
    assert not [p for p in group if p.is_running()
                and p.status() != psutil.STATUS_ZOMBIE]
    check_rated_exactly(rig, rig.scopes)
