"""Configuration options, one module per group.

Nothing here registers options when imported: ``register_opts(conf)`` does,
once, from ``cloudkitty.service.prepare_service``; ``opts.list_opts`` is the
catalogue read by oslo-config-generator.
"""
from __future__ import annotations

from oslo_config import cfg
from oslo_log import log

from cloudkitty.conf import (
    api,
    collect,
    collector_gnocchi,
    collector_prometheus,
    default,
    defaults,
    fetcher,
    orchestrator,
    service_metrics,
    storage,
)

__all__ = ["register_opts", "OWN_MODULES"]

#: Modules declaring CloudKitty's own option groups.
OWN_MODULES = (default, api, collect, collector_prometheus, collector_gnocchi,
               fetcher, orchestrator, storage, service_metrics)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every option CloudKitty reads on ``conf``.

    Safe to call more than once on the same object.
    """
    if getattr(conf, "_cloudkitty_registered", False):
        return
    for module in OWN_MODULES:
        module.register_opts(conf)
    log.register_options(conf)
    defaults.set_db_defaults(conf)
    defaults.set_config_defaults(conf)
    conf._cloudkitty_registered = True  # type: ignore[attr-defined]
