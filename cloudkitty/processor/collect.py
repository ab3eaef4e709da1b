"""Collect scope-periods: every metric of metrics.yml, in parallel.

:func:`collect_frame` collects one scope; :func:`collect_frames` collects
a batch of scopes due at the same period with one request per metric
(the collector's ``fetch_all_scopes``).

The result is all or nothing per scope: a metric without data is left out
(:class:`NoDataCollected`), any other failure, or the overall timeout,
fails the scope-period and nothing of it is handed on.
"""
from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Sequence
from concurrent import futures

from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.collector.base import BaseCollector
from cloudkitty.dataframe import DataFrame, DataFrameBuilder, DataPoint
from cloudkitty.processor import failpoints
from cloudkitty.service_metrics import processor as service_metrics

__all__ = ["BatchCollection", "collect_frame", "collect_frames"]

LOG = log.getLogger(__name__)


def collect_frame(collector: BaseCollector, scope_id: str,
                  begin: datetime.datetime, end: datetime.datetime, *,
                  pool: futures.Executor, timeout: float) -> DataFrame:
    """The usage of ``scope_id`` over ``[begin, end)``.

    Metrics are fetched on ``pool`` (whose size bounds the parallelism)
    and added in metric-key order, so the frame does not depend on which
    request finished first.
    """
    keys = sorted(collector.metrics)
    jobs = {key: pool.submit(collector.retrieve, key, begin, end, scope_id)
            for key in keys}
    done, pending = futures.wait(jobs.values(), timeout=timeout)
    if pending:
        for job in pending:
            job.cancel()
        late = sorted(k for k, job in jobs.items() if job in pending)
        for key in late:
            service_metrics.collect_failed(key)
        raise exceptions.CollectError(
            f"Collecting scope '{scope_id}' period {begin.isoformat()} took "
            f"more than {timeout:g} s (still waiting for "
            f"{', '.join(late)}).")
    builder = DataFrameBuilder(begin, end)
    first = True
    for key in keys:
        try:
            metric_type, points = jobs[key].result()
        except exceptions.NoDataCollected:
            LOG.debug("No data for metric %s of scope %s at %s", key,
                      scope_id, begin.isoformat())
            continue
        except exceptions.CollectError:
            service_metrics.collect_failed(key)
            raise
        except Exception as exc:
            service_metrics.collect_failed(key)
            raise exceptions.CollectError(
                f"Collecting metric '{key}' of scope '{scope_id}' period "
                f"{begin.isoformat()} failed: {exc}") from exc
        builder.add_points(points, metric_type)
        if first:
            failpoints.hit("collect")
            first = False
    return builder.build()


@dataclasses.dataclass
class BatchCollection:
    """What :func:`collect_frames` got: a frame for each scope collected
    whole (scopes without any data get an empty one), and the reason of
    each scope that failed."""

    frames: dict[str, DataFrame]
    failed: dict[str, str]


def _fetch(collector: BaseCollector, key: str, begin: datetime.datetime,
           end: datetime.datetime, scope_ids: Sequence[str]
           ) -> dict[str, list[DataPoint]]:
    found = collector.fetch_all_scopes(key, begin, end, scope_ids)
    return {scope: found.get(scope) or [] for scope in scope_ids}


def _error(key: str, begin: datetime.datetime, exc: BaseException) -> str:
    if isinstance(exc, exceptions.CloudKittyError):
        return exc.message
    return (f"Collecting metric '{key}' period {begin.isoformat()} "
            f"failed: {exc}")


def collect_frames(collector: BaseCollector, scope_ids: Sequence[str],
                   begin: datetime.datetime, end: datetime.datetime, *,
                   pool: futures.Executor, timeout: float
                   ) -> BatchCollection:
    """The usage of each of ``scope_ids`` over ``[begin, end)``, with one
    collector request per metric for all of them.

    When the request for all scopes fails, that metric is asked again
    scope by scope, so that one scope the source refuses (a query error
    on its series) fails alone and the others go on. The whole batch is
    bounded by ``timeout``: what is not in by then fails.
    """
    scopes = list(dict.fromkeys(scope_ids))
    deadline = time.monotonic() + timeout
    keys = sorted(collector.metrics)
    jobs = {key: pool.submit(_fetch, collector, key, begin, end, scopes)
            for key in keys}
    futures.wait(jobs.values(), timeout=timeout)
    failed: dict[str, str] = {}
    results: dict[str, dict[str, list[DataPoint]]] = {}
    retry: dict[str, futures.Future[list[DataPoint]]] = {}
    late: list[str] = []
    for key in keys:
        job = jobs[key]
        if not job.done():
            job.cancel()
            late.append(key)
            service_metrics.collect_failed(key)
            continue
        error = job.exception()
        if error is None:
            results[key] = job.result()
            continue
        service_metrics.collect_failed(key)
        if len(scopes) == 1:
            failed.setdefault(scopes[0], _error(key, begin, error))
        else:
            LOG.debug("Metric %s failed for %d scopes together at %s (%s);"
                      " asking scope by scope", key, len(scopes),
                      begin.isoformat(), error)
            for scope in scopes:
                retry[f"{key}\0{scope}"] = pool.submit(
                    collector.fetch_all, key, begin, end, scope)
    if late:
        reason = (f"Collecting period {begin.isoformat()} took more than "
                  f"{timeout:g} s (still waiting for {', '.join(late)}).")
        for pending in retry.values():
            pending.cancel()
        return BatchCollection({}, {scope: reason for scope in scopes})
    if retry:
        futures.wait(retry.values(),
                     timeout=max(0.0, deadline - time.monotonic()))
    for name, single in retry.items():
        key, _, scope = name.partition("\0")
        if not single.done():
            single.cancel()
            service_metrics.collect_failed(key)
            failed.setdefault(scope, (
                f"Collecting scope '{scope}' period {begin.isoformat()} "
                f"took more than {timeout:g} s (still waiting for {key})."))
            continue
        error = single.exception()
        if error is not None:
            service_metrics.collect_failed(key)
            failed.setdefault(scope, _error(key, begin, error))
        else:
            results.setdefault(key, {})[scope] = single.result()
    frames: dict[str, DataFrame] = {}
    first = True
    for scope in scopes:
        if scope in failed:
            continue
        builder = DataFrameBuilder(begin, end)
        for key in keys:
            # Popped: the raw points go as soon as the frame has them.
            points = results.get(key, {}).pop(scope, None)
            if not points:
                continue
            metric_type, stamped = collector.finish(key, begin, points)
            builder.add_points(stamped, metric_type)
            if first:
                failpoints.hit("collect")
                first = False
        frames[scope] = builder.build()
    return BatchCollection(frames, failed)
