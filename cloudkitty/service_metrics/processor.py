"""The processor's metrics and its metrics endpoint.

The processor's code records through the module functions
(:func:`scope_period_rated`, :func:`collect_failed`, :func:`rating_rpc`);
they do nothing until :func:`enable` (or
:func:`start_processor_exporter`) has run in the process or in the one
it was forked from.

``cloudkitty-processor`` calls :func:`start_processor_exporter` before it
starts its worker processes: the figures go to a directory shared with
the workers it forks, and the process itself serves their sum. Nothing
needs calling in the worker processes. prometheus_client is imported
only then: a processor without metrics does not load it.
"""
from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

    from cloudkitty.service_metrics import exposition

__all__ = ["LAG", "LAST_RATED_END", "ProcessorMetrics", "collect_failed",
           "disable", "enable", "rating_rpc", "scope_period_rated",
           "start_processor_exporter", "stop_processor_exporter"]

LOG = log.getLogger(__name__)

PREFIX = "cloudkitty_processor_"
LAST_RATED_END = PREFIX + "scope_last_rated_period_end_timestamp_seconds"
LAG = PREFIX + "scope_lag_seconds"

#: Seconds; a rating call may last up to ``collector_request_timeout``.
RPC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
               10.0, 30.0, 60.0, 120.0, 300.0)


class ProcessorMetrics:
    """The processor's metrics, registered in ``registry`` (``None`` in
    multi-process mode: the shared directory is what is served)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.scope_periods = Counter(
            PREFIX + "scope_periods_rated",
            "Scope-periods rated and stored; origin is collector (the "
            "regular catch-up) or reprocessing.",
            ["origin"], registry=registry)
        self.points = Counter(
            PREFIX + "points_rated",
            "Rated data points stored (after the skip expressions).",
            ["origin"], registry=registry)
        self.collect_errors = Counter(
            PREFIX + "collect_errors",
            "Collector requests for a metric of metrics.yml (by source "
            "metric name) that failed or timed out.", ["metric"],
            registry=registry)
        self.last_rated_end = Gauge(
            LAST_RATED_END,
            "End of the last period rated for the scope by the regular "
            "catch-up (Unix time).", ["scope_id"], registry=registry,
            multiprocess_mode="mostrecent")
        self.rpc = Histogram(
            PREFIX + "rating_rpc_duration_seconds",
            "Duration of the rating calls a collector or reprocessing "
            "worker makes over the message bus, acknowledgement "
            "included.", ["method"], registry=registry,
            buckets=RPC_BUCKETS)


_METRICS: ProcessorMetrics | None = None
_EXPORTER: exposition.Exporter | None = None


def enable(registry: CollectorRegistry | None = None) -> ProcessorMetrics:
    """Start recording in this process (and the ones it forks), to
    ``registry`` or, in multi-process mode, the shared directory."""
    global _METRICS
    _METRICS = ProcessorMetrics(registry)
    return _METRICS


def disable() -> None:
    """Stop recording (figures recorded so far stay where they are)."""
    global _METRICS
    _METRICS = None


# -- recording -------------------------------------------------------------

def scope_period_rated(scope_id: str, end: datetime.datetime, points: int,
                       *, reprocessing: bool = False) -> None:
    """A scope-period up to ``end`` was rated and stored with ``points``
    points."""
    metrics = _METRICS
    if metrics is None:
        return
    origin = "reprocessing" if reprocessing else "collector"
    metrics.scope_periods.labels(origin).inc()
    metrics.points.labels(origin).inc(points)
    if not reprocessing:
        metrics.last_rated_end.labels(scope_id).set(end.timestamp())


def collect_failed(key: str) -> None:
    """A collector request for the metric of ``key`` (a collector's
    metric key, ``<metric>@#<alt_name>``) failed; counted under the
    source metric's name."""
    metrics = _METRICS
    if metrics is not None:
        from cloudkitty.collector.metrics import metric_name

        metrics.collect_errors.labels(metric_name(key)).inc()


@contextlib.contextmanager
def rating_rpc(method: str) -> Iterator[None]:
    """Time a rating RPC call (failed ones too)."""
    metrics = _METRICS
    if metrics is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.rpc.labels(method).observe(time.perf_counter() - started)


# -- serving ---------------------------------------------------------------

def derive_lag(families: list[Metric]) -> Iterable[Metric]:
    """Each scope's lag behind now, from the end of its last rated
    period."""
    from prometheus_client.core import GaugeMetricFamily

    lag = GaugeMetricFamily(
        LAG, "Seconds between now and the end of the last period rated "
        "for the scope by the regular catch-up.", labels=["scope_id"])
    now = time.time()
    for family in families:
        if family.name != LAST_RATED_END:
            continue
        for sample in family.samples:
            lag.add_metric([sample.labels["scope_id"]],
                           max(0.0, now - sample.value))
    return [lag]


def _shared_directory(conf: cfg.ConfigOpts) -> str:
    """The processor's directory, emptied; a temporary one (removed at
    exit by the process that made it) unless configured."""
    from cloudkitty.service_metrics import exposition

    base = conf.service_metrics.multiproc_dir
    if base:
        path = os.path.join(base, "processor")
        os.makedirs(path, exist_ok=True)
        exposition.empty_directory(path)
        return path
    path = tempfile.mkdtemp(prefix="cloudkitty-processor-metrics-")
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    return path


def start_processor_exporter(conf: cfg.ConfigOpts
                             ) -> exposition.Exporter | None:
    """When ``[service_metrics] enabled``: record to a directory shared
    with the worker processes forked from now on and serve the figures
    of all of them on ``processor_host``:``processor_port``. Call it
    once, in the process that starts the worker processes, before it
    forks them. Raises :class:`ConfigError` when the port cannot be
    bound."""
    global _EXPORTER
    group = conf.service_metrics
    if not group.enabled:
        return None
    from cloudkitty.service_metrics import exposition

    directory = _shared_directory(conf)
    exposition.use_shared_directory(directory)
    enable(None)
    try:
        exporter = exposition.Exporter(
            group.processor_host, group.processor_port,
            exposition.Exposition(directory=directory, derive=derive_lag))
    except OSError as exc:
        raise exceptions.ConfigError(
            f"cannot listen on {group.processor_host}:"
            f"{group.processor_port}: {exc.strerror or exc}",
            section="service_metrics", option="processor_port") from None
    exporter.start()
    _EXPORTER = exporter
    LOG.info("Processor metrics served on %s", exporter.url)
    return exporter


def stop_processor_exporter() -> None:
    """Stop serving and recording."""
    global _EXPORTER
    exporter, _EXPORTER = _EXPORTER, None
    if exporter is not None:
        exporter.stop()
    disable()
