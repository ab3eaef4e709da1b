"""Collectors: fetch the usage of one scope for one period.

:mod:`cloudkitty.collector.metrics` holds what every collector shares: the
``metrics.yml`` schema and the raw value → quantity conversion (factor,
offset, mutate). Collector drivers are the ``cloudkitty.collector.backends``
entry points, subclasses of :class:`cloudkitty.collector.base.BaseCollector`;
a driver class may carry an ``extra_args_schema`` (see
:data:`cloudkitty.collector.metrics.ExtraArgsValidator`) that the metrics
check applies to each metric's ``extra_args``. :func:`get_collector` builds
the driver named by ``[collect] collector``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudkitty import exceptions

if TYPE_CHECKING:
    from oslo_config import cfg

    from cloudkitty.collector.base import BaseCollector

__all__ = ["NAMESPACE", "get_collector"]

NAMESPACE = "cloudkitty.collector.backends"


def get_collector(conf: cfg.ConfigOpts,
                  metrics: dict[str, dict[str, Any]] | None = None,
                  ) -> BaseCollector:
    """The collector driver of ``[collect] collector``, built with ``conf``
    (and ``metrics``, the validated metrics.yml; read from
    ``[collect] metrics_conf`` when None).

    Raises :class:`ConfigError` naming the plugin when it is not installed
    or cannot be loaded.
    """
    from stevedore import driver  # imported late: slow, rarely needed

    from cloudkitty.collector.base import BaseCollector

    name = conf.collect.collector
    try:
        manager: driver.DriverManager = driver.DriverManager(
            NAMESPACE, name, invoke_on_load=False,
            warn_on_missing_entrypoint=False)
    except Exception as exc:  # NoMatches, or the plugin failed to import
        raise exceptions.ConfigError(
            f"cannot load collector '{name}' ({NAMESPACE}): {exc}",
            section="collect", option="collector") from None
    plugin = manager.driver
    if not (isinstance(plugin, type) and issubclass(plugin, BaseCollector)):
        raise exceptions.ConfigError(
            f"collector '{name}' is not a BaseCollector subclass",
            section="collect", option="collector")
    return plugin(conf, metrics)
