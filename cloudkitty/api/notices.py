"""Notices the API sends the processors when rating modules change
(COMPAT §7.4): ``enable_module``/``disable_module`` when a module is
switched, ``reload_module`` when its priority changes, ``reload_modules``
on request. Fanout casts, sent in the background; processors read the
module states and rules for every scope-period anyway, so a lost notice
costs nothing."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.processor import rpcapi
from cloudkitty.rating.modules import ModuleInfo

__all__ = ["module_changed", "modules_reloaded"]


def module_changed(conf: cfg.ConfigOpts, before: ModuleInfo,
                   after: ModuleInfo) -> None:
    client = rpcapi.ProcessorClient(conf)
    if before.enabled != after.enabled:
        client.set_module_enabled(after.module_id, after.enabled)
    if before.priority != after.priority:
        client.reload_module(after.module_id)


def modules_reloaded(conf: cfg.ConfigOpts) -> None:
    rpcapi.ProcessorClient(conf).reload_modules()
