"""Collect one scope-period: every metric of metrics.yml, in parallel.

The result is all or nothing: a metric without data is left out
(:class:`NoDataCollected`), any other failure, or the overall timeout,
raises :class:`CollectError` and nothing of the scope-period is handed on.
"""
from __future__ import annotations

import datetime
from concurrent import futures

from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.collector.base import BaseCollector
from cloudkitty.dataframe import DataFrame, DataFrameBuilder
from cloudkitty.processor import failpoints

__all__ = ["collect_frame"]

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
            raise
        except Exception as exc:
            raise exceptions.CollectError(
                f"Collecting metric '{key}' of scope '{scope_id}' period "
                f"{begin.isoformat()} failed: {exc}") from exc
        builder.add_points(points, metric_type)
        if first:
            failpoints.hit("collect")
            first = False
    return builder.build()
