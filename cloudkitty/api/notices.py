"""Notices the API sends the processors when rating modules change
(COMPAT §7.4): ``enable_module``/``disable_module`` when a module is
switched, ``reload_module`` when its priority changes, ``reload_modules``
on request. Fanout casts, sent in the background; processors read the
module states and rules for every scope-period anyway, so a lost notice
costs nothing."""
from __future__ import annotations

from typing import Any

from oslo_config import cfg

from cloudkitty.rating.modules import ModuleInfo

__all__ = ["module_changed", "modules_reloaded"]


def _client(conf: cfg.ConfigOpts) -> Any:
    """The processors' RPC client. oslo.messaging is loaded with the
    first notice, its defaults set before its options are registered, so
    an API that never sends one never loads it."""
    from cloudkitty.conf import defaults

    defaults.set_messaging_defaults()
    from cloudkitty.processor import rpcapi

    return rpcapi.ProcessorClient(conf)


def module_changed(conf: cfg.ConfigOpts, before: ModuleInfo,
                   after: ModuleInfo) -> None:
    client = _client(conf)
    if before.enabled != after.enabled:
        client.set_module_enabled(after.module_id, after.enabled)
    if before.priority != after.priority:
        client.reload_module(after.module_id)


def modules_reloaded(conf: cfg.ConfigOpts) -> None:
    _client(conf).reload_modules()
