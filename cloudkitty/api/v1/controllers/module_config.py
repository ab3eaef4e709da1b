"""Which rating module has a configuration API, and where it lives.

``/v1/rating/module_config/<module>/...`` is routed to the controller
named here; an installed module missing from this table is not
configurable (409). Controllers are imported on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

#: module name -> "package.module:ControllerClass"
CONFIG_CONTROLLERS: dict[str, str] = {
    "hashmap": "cloudkitty.api.v1.controllers.hashmap:HashMapConfigController",
    "pyscripts":
        "cloudkitty.api.v1.controllers.pyscripts:PyScriptsConfigController",
}


def config_controller(module_name: str) -> Any | None:
    """A new instance of the module's configuration controller, or None."""
    target = CONFIG_CONTROLLERS.get(module_name)
    if target is None:
        return None
    path, _, attr = target.partition(":")
    return getattr(importlib.import_module(path), attr)()
