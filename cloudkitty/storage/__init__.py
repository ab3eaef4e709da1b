"""Rated data storage: backend loading.

Backends are entry points of ``cloudkitty.storage.v<[storage]version>.
backends`` named by ``[storage]backend``; only the configured one is
loaded.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from stevedore import driver
from stevedore import exception as stevedore_exc

from cloudkitty import exceptions
from cloudkitty.storage.v2.base import BaseStorage

__all__ = ["get_storage", "namespace"]


def namespace(conf: cfg.ConfigOpts) -> str:
    return f"cloudkitty.storage.v{conf.storage.version}.backends"


def _load_failed(_manager: Any, entrypoint: Any,
                 exc: BaseException) -> None:
    raise exceptions.ConfigError(
        f"storage backend '{entrypoint.name}' cannot be loaded: {exc}",
        section="storage", option="backend") from exc


def get_storage(conf: cfg.ConfigOpts) -> BaseStorage:
    """An instance of the configured storage backend, built with ``conf``.

    Raises ConfigError naming the backend when it is not installed or fails
    to load.
    """
    name = conf.storage.backend
    try:
        manager: Any = driver.DriverManager(
            namespace(conf), name, invoke_on_load=True, invoke_args=(conf,),
            on_load_failure_callback=_load_failed)
    except stevedore_exc.NoMatches:
        raise exceptions.ConfigError(
            f"unknown storage backend '{name}' (no entry point in "
            f"{namespace(conf)})", section="storage",
            option="backend") from None
    backend: BaseStorage = manager.driver
    return backend
