"""/v2/rating/modules[/<module_id>]: the rating modules, v2 style.

Unlike v1, the module document spells ``hot_config`` with an underscore,
a PUT carries only what changes and answers 204, and the list is
protected by ``v2_rating:list_modules`` (upstream defines the rule but
never checks it).
"""
from __future__ import annotations

from typing import Any

import pecan
import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.api import notices, policy
from cloudkitty.api.v2 import base
from cloudkitty.rating import modules

__all__ = ["ModulesResource", "RatingResources"]


def _module(info: modules.ModuleInfo) -> dict[str, Any]:
    return {"module_id": info.module_id,
            "description": info.description,
            "enabled": info.enabled,
            "hot_config": info.hot_config,
            "priority": info.priority}


def _priority(value: Any) -> int:
    # JSON true would pass as the integer 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid("expected an integer")
    if not modules.DEFAULT_PRIORITY <= value <= modules.MAX_PRIORITY:
        raise vol.Invalid(f"value must be between "
                          f"{modules.DEFAULT_PRIORITY} and "
                          f"{modules.MAX_PRIORITY}")
    return value


def _enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise vol.Invalid("expected a boolean")
    return value


def _manager() -> modules.ModuleManager:
    return modules.ModuleManager(pecan.request.conf)


def _get(manager: modules.ModuleManager, module_id: str
         ) -> modules.ModuleInfo:
    try:
        return manager.get_module(module_id)
    except exceptions.NotFound:
        raise exceptions.NotFound(
            f"Module '{module_id}' not found") from None


class ModulesResource(base.Resource):
    """/v2/rating/modules."""

    @base.expose()
    def get_all(self) -> dict[str, Any]:
        policy.authorize(pecan.request.context, "v2_rating:list_modules",
                         {})
        return {"modules": [_module(info)
                            for info in _manager().list_modules()]}

    @base.expose()
    def get_one(self, module_id: str) -> dict[str, Any]:
        policy.authorize(pecan.request.context, "v2_rating:get_module", {})
        return _module(_get(_manager(), module_id))

    @base.expose(body={vol.Optional("enabled"): _enabled,
                       vol.Optional("priority"): _priority}, status=204)
    def put(self, module_id: str, *, enabled: bool | None = None,
            priority: int | None = None) -> None:
        policy.authorize(pecan.request.context, "v2_rating:update_module",
                         {})
        manager = _manager()
        before = _get(manager, module_id)
        after = manager.update(module_id, enabled=enabled, priority=priority)
        if after != before:
            notices.module_changed(pecan.request.conf, before, after)


class RatingResources:
    """/v2/rating."""

    modules = ModulesResource()
