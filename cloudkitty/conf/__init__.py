"""Configuration options, one module per group.

Nothing here registers options when imported: ``register_opts(conf)`` does,
once, from ``cloudkitty.service.prepare_service``; ``opts.list_opts`` is the
catalogue read by oslo-config-generator.

The keystoneauth options of the groups whose clients authenticate with
Keystone (:data:`SOURCE_AUTH`) are registered apart, by
:func:`register_source_auth`: registering them imports keystoneauth and
requests, which a process reading none of these groups (the API) does
without.
"""
from __future__ import annotations

from collections.abc import Iterable

from oslo_config import cfg
from oslo_log import log

from cloudkitty.conf import (
    _keystone,
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

__all__ = ["OWN_MODULES", "SOURCE_AUTH", "register_opts",
           "register_source_auth", "selected_source_auth"]

#: Modules declaring CloudKitty's own option groups.
OWN_MODULES = (default, api, collect, collector_prometheus, collector_gnocchi,
               fetcher, orchestrator, storage, service_metrics)

#: Groups carrying keystoneauth session and auth options, each with the
#: ``(group, option, value)`` that selects the collector or fetcher
#: reading them.
SOURCE_AUTH: dict[str, tuple[str, str, str]] = {
    **collector_gnocchi.KEYSTONE_AUTH, **fetcher.KEYSTONE_AUTH}


def register_opts(conf: cfg.ConfigOpts, *, source_auth: bool = True) -> None:
    """Register every option CloudKitty reads on ``conf``.

    With ``source_auth=False`` the keystoneauth options of the
    :data:`SOURCE_AUTH` groups are left out (and keystoneauth is not
    imported); :func:`register_source_auth` adds them later. Safe to call
    more than once on the same object.
    """
    if not getattr(conf, "_cloudkitty_registered", False):
        for module in OWN_MODULES:
            module.register_opts(conf)
        log.register_options(conf)
        defaults.set_db_defaults(conf)
        defaults.set_config_defaults(conf)
        conf._cloudkitty_registered = True  # type: ignore[attr-defined]
    if source_auth:
        register_source_auth(conf, SOURCE_AUTH)


def register_source_auth(conf: cfg.ConfigOpts, groups: Iterable[str]) -> None:
    """Register the keystoneauth session and auth options of ``groups``
    (names of :data:`SOURCE_AUTH`); registering them again is harmless."""
    for group in groups:
        _keystone.register(conf, group)


def selected_source_auth(conf: cfg.ConfigOpts) -> list[str]:
    """The :data:`SOURCE_AUTH` groups that the parsed configuration's
    collector (``[collect] collector``) and fetcher (``[fetcher]
    backend``) read."""
    return [group for group, (section, name, value) in SOURCE_AUTH.items()
            if conf[section][name] == value]
