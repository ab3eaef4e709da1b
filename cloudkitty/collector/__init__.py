"""Collectors: fetch the usage of one scope for one period.

:mod:`cloudkitty.collector.metrics` holds what every collector shares: the
``metrics.yml`` schema and the raw value → quantity conversion (factor,
offset, mutate). Collector drivers are the ``cloudkitty.collector.backends``
entry points; a driver class may carry an ``extra_args_schema`` (see
:data:`cloudkitty.collector.metrics.ExtraArgsValidator`) that the metrics
check applies to each metric's ``extra_args``.
"""
from __future__ import annotations

__all__: list[str] = []
