"""Scope fetchers: decide which scopes the processor rates.

Drivers are the ``cloudkitty.fetchers`` entry points, chosen by
``[fetcher]backend``; :func:`get_fetcher` loads and instantiates one.
"""
from __future__ import annotations

from typing import Any

from stevedore import driver

from cloudkitty import exceptions
from cloudkitty.fetcher.base import BaseFetcher

NAMESPACE = "cloudkitty.fetchers"

__all__ = ["NAMESPACE", "BaseFetcher", "get_fetcher"]


def get_fetcher(conf: Any) -> BaseFetcher:
    """Instantiate the fetcher named by ``[fetcher]backend``.

    An unknown or unloadable plugin is a configuration problem, so it is
    reported as ConfigError naming the option and the plugin.
    """
    name = conf.fetcher.backend
    try:
        # Load the class only: errors raised by the driver's constructor
        # (its own ConfigError, say) must reach the caller unchanged.
        cls: Any = driver.DriverManager(
            NAMESPACE, name, warn_on_missing_entrypoint=False).driver
    except Exception as exc:  # stevedore raises several unrelated types
        raise exceptions.ConfigError(
            f"cannot load fetcher plugin '{name}': {exc}",
            section="fetcher", option="backend") from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseFetcher)):
        raise exceptions.ConfigError(
            f"fetcher plugin '{name}' is not a BaseFetcher subclass",
            section="fetcher", option="backend")
    return cls(conf)
