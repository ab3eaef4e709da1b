"""What every collector driver shares.

A driver implements :meth:`BaseCollector.fetch_all` (the raw points of one
metric for one scope and period, quantities already converted); the base
adds what is common to all sources in :meth:`BaseCollector.retrieve`: the
four period keys in ``groupby``, the ``description`` of metrics.yml, the
rated type name (``alt_name``) and :class:`NoDataCollected` when nothing
came back.
"""
from __future__ import annotations

import abc
import datetime
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from cloudkitty import exceptions
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.dataframe import DataPoint

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["BaseCollector", "time_keys"]


def time_keys(start: datetime.datetime) -> dict[str, str]:
    """The four groupby keys every collected point gets from its period
    start (COMPAT §5.1): Sunday-based week (zero-padded), day of the year
    and month without padding, four-digit year."""
    return {
        "week_of_the_year": start.strftime("%U"),
        # %-j / %-m are glibc-only; build the unpadded forms portably.
        "day_of_the_year": str(start.timetuple().tm_yday),
        "month": str(start.month),
        "year": start.strftime("%Y"),
    }


class BaseCollector(abc.ABC):
    """Base of collector drivers (entry points of
    ``cloudkitty.collector.backends``)."""

    #: Name used in messages; drivers override it with their plugin name.
    collector_name: ClassVar[str] = "base"
    #: Validates each metric's ``extra_args`` (applied by the metrics
    #: check); None when the driver takes none.
    extra_args_schema: ClassVar[metrics_mod.ExtraArgsValidator | None] = None

    def __init__(self, conf: cfg.ConfigOpts,
                 metrics: dict[str, dict[str, Any]] | None = None) -> None:
        self.conf = conf
        self.scope_key: str = conf.collect.scope_key
        if metrics is None:
            # Looked up on the class: a plain function stored there would
            # otherwise be bound as a method.
            schema: Any = None
            for klass in type(self).__mro__:
                if "extra_args_schema" in vars(klass):
                    schema = vars(klass)["extra_args_schema"]
                    break
            metrics = metrics_mod.load_metrics(conf, schema)
        self.metrics = metrics

    # -- driver interface ---------------------------------------------

    @abc.abstractmethod
    def fetch_all(self, metric_key: str, start: datetime.datetime,
                  end: datetime.datetime, scope_id: str) -> list[DataPoint]:
        """Raw points of ``metric_key`` for one scope over [start, end).

        Quantities are converted (factor, offset, mutate); groupby and
        metadata come from the source and include the scope key. Raises
        :class:`CollectError` on any failure of the source.
        """

    def fetch_all_scopes(self, metric_key: str, start: datetime.datetime,
                         end: datetime.datetime, scope_ids: Iterable[str],
                         ) -> dict[str, list[DataPoint]]:
        """:meth:`fetch_all` for several scopes at once, keyed by scope.

        Every requested scope is a key (an empty list when it has no
        data). Drivers whose source can answer for many scopes in one
        request override this.
        """
        return {scope: self.fetch_all(metric_key, start, end, scope)
                for scope in dict.fromkeys(scope_ids)}

    # -- common behaviour ---------------------------------------------

    def metric(self, metric_key: str) -> dict[str, Any]:
        """The validated definition of ``metric_key``."""
        try:
            return self.metrics[metric_key]
        except KeyError:
            raise exceptions.CollectError(
                f"Collector '{self.collector_name}': unknown metric "
                f"'{metric_key}' (not in metrics.yml).") from None

    def retrieve(self, metric_key: str, start: datetime.datetime,
                 end: datetime.datetime, scope_id: str,
                 ) -> tuple[str, list[DataPoint]]:
        """``(rated type, points)`` of one metric for one scope/period.

        Raises :class:`NoDataCollected` when the source has nothing.
        """
        points = self.fetch_all(metric_key, start, end, scope_id)
        return self.finish(metric_key, start, points)

    def finish(self, metric_key: str, start: datetime.datetime,
               points: list[DataPoint]) -> tuple[str, list[DataPoint]]:
        """Stamp raw points the way :meth:`retrieve` does (usable on the
        per-scope lists of :meth:`fetch_all_scopes`)."""
        metric = self.metric(metric_key)
        if not points:
            raise exceptions.NoDataCollected(self.collector_name, metric_key)
        extra = time_keys(start)
        description = metric.get("description")
        stamped = [point.stamp(extra, description) for point in points]
        return metric["alt_name"], stamped

    def _point(self, metric_key: str, value: Any,
               labels_or_attrs: Mapping[str, Any]) -> DataPoint:
        """A raw point of ``metric_key``: ``value`` converted to the rated
        quantity, groupby and metadata keys picked from
        ``labels_or_attrs`` (a missing one becomes ``""``)."""
        metric = self.metric(metric_key)
        qty = metrics_mod.convert_quantity(value, metric)
        groupby = {k: _text(labels_or_attrs.get(k)) for k in metric["groupby"]}
        metadata = {k: _text(labels_or_attrs.get(k))
                    for k in metric["metadata"]}
        return DataPoint.collected(metric["unit"], qty, groupby, metadata)

    def collect_error(self, metric_key: str, scope: str | None,
                      reason: str) -> exceptions.CollectError:
        """A :class:`CollectError` naming collector, metric and scope."""
        where = f"metric '{metric_key}'"
        if scope is not None:
            where += f", scope '{scope}'"
        return exceptions.CollectError(
            f"Collector '{self.collector_name}' failed for {where}: {reason}")


def _text(value: Any) -> Any:
    return "" if value is None else value
