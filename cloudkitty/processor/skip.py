"""Dropping rated points that match a skip expression.

The language itself is :mod:`cloudkitty.skip_expression`; this module
reads it from the configuration and applies it to rated frames.

``[orchestrator] skip_datapoints_expression`` applies to every rated type;
a metric of metrics.yml that sets its own ``skip_datapoints_expression``
uses that one instead for its rated type (``alt_name``), as upstream does
(COMPAT.md §5.2). A point for which the expression is true is dropped; a
type left without points disappears from the frame.

An expression that fails on a point (a groupby key that point lacks,
ordering a string against a number...) keeps the point: dropping billable
data on an error would under-charge silently, while an extra point is
visible. The first failure of each expression is logged as a warning with
its reason; later ones only count in :attr:`Skipper.failures`.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from cloudkitty import exceptions, service
from cloudkitty.collector import metrics as metrics_conf
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.skip_expression import (
    EvaluationError,
    InvalidExpression,
    SkipExpression,
)

__all__ = ["InvalidExpression", "SkipExpression", "Skipper",
           "compile_option", "load_skip_expressions"]

LOG = logging.getLogger(__name__)

GROUP = "orchestrator"
OPTION = "skip_datapoints_expression"
METRIC_KEY = "skip_datapoints_expression"


class Skipper:
    """Applies the skip expressions to rated frames.

    ``default`` applies to every rated type not in ``by_type``. Safe to
    share between threads.
    """

    def __init__(self, default: SkipExpression,
                 by_type: Mapping[str, SkipExpression] | None = None
                 ) -> None:
        self.default = default
        self.by_type: Mapping[str, SkipExpression] = dict(by_type or {})
        #: True when no expression can match: :meth:`apply` returns its
        #: frame as is.
        self.never = default.never and all(
            e.never for e in self.by_type.values())
        #: Points kept because their expression failed on them, by
        #: expression text.
        self.failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def expression_for(self, metric_type: str) -> SkipExpression:
        """The expression that applies to points of ``metric_type``."""
        return self.by_type.get(metric_type, self.default)

    def apply(self, frame: DataFrame) -> DataFrame:
        """``frame`` without the points its expressions match.

        A type left without points is removed. The same frame object is
        returned when nothing is dropped.
        """
        if self.never:
            return frame
        usage: dict[str, tuple[DataPoint, ...] | list[DataPoint]] = {}
        dropped = False
        for metric_type, points in frame.itertypes():
            expression = self.expression_for(metric_type)
            if expression.never:
                usage[metric_type] = points
                continue

            def on_error(point: DataPoint, error: EvaluationError,
                         expression: SkipExpression = expression,
                         metric_type: str = metric_type) -> None:
                self._failed(expression, metric_type, point, error)
            kept = expression.keep(points, on_error)
            if len(kept) != len(points):
                dropped = True
            if kept:
                usage[metric_type] = kept
        if not dropped:
            return frame
        return frame.with_usage(usage)

    def _failed(self, expression: SkipExpression, metric_type: str,
                point: DataPoint, error: EvaluationError) -> None:
        with self._lock:
            count = self.failures.get(expression.text, 0)
            self.failures[expression.text] = count + 1
        if count == 0:
            LOG.warning(
                "Skip expression %r failed on a point of type %s (%s), "
                "the point is kept; further failures of this expression "
                "are not logged. Point: %r",
                expression.text, metric_type, error.reason, point)


def compile_option(conf: cfg.ConfigOpts) -> SkipExpression:
    """``[orchestrator] skip_datapoints_expression``, compiled.

    Raises :class:`~cloudkitty.exceptions.ConfigError` naming the file,
    section, option and what is wrong.
    """
    text = conf[GROUP][OPTION]
    try:
        return SkipExpression.parse(text)
    except InvalidExpression as exc:
        raise exceptions.ConfigError(
            f"invalid skip expression: {exc}",
            file=(service.option_file(conf, OPTION, GROUP)
                  or service.config_files(conf)),
            section=GROUP, option=OPTION) from None


def load_skip_expressions(conf: cfg.ConfigOpts,
                          metrics: Mapping[str, Mapping[str, Any]]
                          ) -> Skipper:
    """The :class:`Skipper` of the configuration and of ``metrics`` (the
    result of :func:`cloudkitty.collector.metrics.load_metrics`).

    Raises :class:`~cloudkitty.exceptions.ConfigError` for a bad
    ``[orchestrator]`` expression and
    :class:`~cloudkitty.exceptions.InvalidMetricsConfig` for a bad metric
    expression, or when two metrics rated as the same type set different
    expressions (their points cannot be told apart in a frame).
    """
    default = compile_option(conf)
    by_type: dict[str, SkipExpression] = {}
    owner: dict[str, tuple[str, str | None]] = {}
    problems: list[exceptions.InvalidMetricsConfig] = []
    file = None
    for key, metric in metrics.items():
        metric_type = metric.get("alt_name") or metrics_conf.metric_name(key)
        text = metric.get(METRIC_KEY)
        if metric_type in owner:
            first, first_text = owner[metric_type]
            if first_text != text:
                file = file or metrics_conf.metrics_path(conf)
                problems.append(exceptions.InvalidMetricsConfig(
                    f"'{first}' is rated as the same type "
                    f"'{metric_type}' with "
                    + (f"skip_datapoints_expression {first_text!r}"
                       if first_text is not None
                       else "no skip_datapoints_expression")
                    + "; metrics of one rated type need the same one",
                    file=file, section=key, option=METRIC_KEY))
            continue
        owner[metric_type] = (key, text)
        if text is None:
            continue
        try:
            by_type[metric_type] = SkipExpression.parse(text)
        except InvalidExpression as exc:
            file = file or metrics_conf.metrics_path(conf)
            problems.append(exceptions.InvalidMetricsConfig(
                f"invalid skip expression: {exc}", file=file, section=key,
                option=METRIC_KEY))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise exceptions.InvalidMetricsConfigProblems(problems)
    return Skipper(default, by_type)
