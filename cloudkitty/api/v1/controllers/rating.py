"""/v1/rating (also mounted as /v1/billing): rating modules and quotes.

* ``modules[/<module_id>]`` — list, show, enable/disable, prioritise;
* ``quote`` — price resource descriptions with the enabled modules, in
  this process (no processor is involved);
* ``reload_modules`` — ask the processors to reload their modules;
* ``module_config/<module>/...`` — each module's configuration API.

Every request below ``module_config`` is checked against the
``rating:module_config`` policy before anything else answers: before the
module's own controller runs and before "not found", "not configurable"
or routing errors are revealed. Pecan routes a request before its
``before`` hooks build ``pecan.request.context``, so the check cannot run
while routing; instead the controller method the route resolves to is
wrapped, and the wrapper (invoked after the hooks) checks the policy, then
calls the real method with the arguments Pecan bound for it. Errors found
while routing are deferred the same way.
"""
from __future__ import annotations

import datetime
import decimal
import functools
import types
from collections.abc import Callable, Mapping
from typing import Any, cast

import pecan
import pecan.routing
import pecan.util
import webob.exc
from oslo_log import log
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v1.controllers import module_config
from cloudkitty.api.v1.datamodels import rating as models
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.dataframe import DataPoint, to_decimal
from cloudkitty.rating import modules, quote

LOG = log.getLogger(__name__)

__all__ = ["ModuleConfigController", "ModulesController", "RatingController"]

_CONFIG_POLICY = "rating:module_config"


def _notices() -> types.ModuleType:
    """:mod:`cloudkitty.api.notices`, loaded (with oslo.messaging) when a
    notice is first sent: most API processes never send one."""
    from cloudkitty.api import notices

    return notices


def _manager() -> modules.ModuleManager:
    return modules.ModuleManager(pecan.request.conf)


def _is_set(value: Any) -> bool:
    return value is not None and value is not wtypes.Unset


# -- /v1/rating/modules -------------------------------------------------

class ModulesController(rest.RestController):
    """/v1/rating/modules[/<module_id>]."""

    @wsexpose(models.CloudkittyModuleCollection)
    def get_all(self) -> models.CloudkittyModuleCollection:
        """Every installed module, enabled or not."""
        policy.authorize(pecan.request.context, "rating:list_modules", {})
        return models.CloudkittyModuleCollection(modules=[
            models.CloudkittyModule.from_info(info)
            for info in _manager().list_modules()])

    @wsexpose(models.CloudkittyModule, wtypes.text)
    def get_one(self, module_id: str) -> models.CloudkittyModule:
        """One module."""
        policy.authorize(pecan.request.context, "rating:get_module", {})
        try:
            info = _manager().get_module(module_id)
        except exceptions.NotFound:
            raise exceptions.NotFound("Module not found.") from None
        return models.CloudkittyModule.from_info(info)

    @wsexpose(models.CloudkittyModule, wtypes.text,
              body=models.CloudkittyModule, status_code=302)
    def put(self, module_id: str | None = None,
            module: models.CloudkittyModule | None = None) -> None:
        """Enable or disable a module or change its priority; answers 302
        to the module's URL with a ``null`` body."""
        policy.authorize(pecan.request.context, "rating:update_module", {})
        if module is None or not _is_set(module.module_id):
            raise exceptions.InvalidInput(
                "Mandatory field missing: module_id.", field="module_id")
        if module_id is None:
            module_id = module.module_id
        elif module.module_id != module_id:
            raise exceptions.InvalidInput(
                f"'module_id' of the body ({module.module_id}) differs "
                f"from the module of the URL ({module_id}).",
                field="module_id")
        manager = _manager()
        try:
            before = manager.get_module(module_id)
        except exceptions.NotFound:
            raise exceptions.NotFound("Module not found.") from None
        enabled = module.enabled if _is_set(module.enabled) else None
        priority = module.priority if _is_set(module.priority) else None
        after = manager.update(module_id, enabled=enabled, priority=priority)
        if after != before:
            _notices().module_changed(pecan.request.conf, before, after)
        pecan.response.location = pecan.request.url
        return None


# -- /v1/rating/module_config -------------------------------------------

def _authorize_config() -> None:
    policy.authorize(pecan.request.context, _CONFIG_POLICY, {})


class _Deferred:
    """Answers ``error`` to an authorised caller, 403 to anyone else."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    @pecan.expose(content_type="application/json")
    def respond(self, *_args: Any, **_kwargs: Any) -> None:
        _authorize_config()
        raise self.error


def _guarded(target: Any, method: str) -> Any:
    """A callable Pecan invokes like ``target`` (same exposure settings,
    same argument binding) that checks the policy first."""
    owner = getattr(target, "__self__", None)
    func = getattr(target, "__func__", target)
    settings = pecan.util._cfg(func)
    if settings.get("generic"):
        # Pecan picks a generic controller's per-method handler from its
        # settings, which would bypass a wrapper: pick it here.
        handlers = settings["generic_handlers"]
        func = handlers.get(method, handlers["DEFAULT"])
        settings = {key: value for key, value in pecan.util._cfg(func).items()
                    if key != "generic_handler"}

    @functools.wraps(func)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        _authorize_config()
        return func(self, *args, **kwargs)

    checked._pecan = settings  # type: ignore[attr-defined]
    return checked if owner is None else types.MethodType(checked, owner)


class ModuleConfigController:
    """``/v1/rating/module_config/<module>/...``, routed to the controller
    :func:`module_config.config_controller` names; an installed module
    without one answers 409, an unknown module 404."""

    @pecan.expose()
    def _route(self, args: list[str], request: Any = None
               ) -> tuple[Callable[..., Any], list[str]]:
        request = request if request is not None else pecan.request
        name = args[0] if args else ""
        if name not in modules.installed_processors():
            return _Deferred(exceptions.NotFound(
                f"Module '{name}' not found" if name
                else "A module name is required.")).respond, []
        controller = module_config.config_controller(name)
        if controller is None:
            return _Deferred(exceptions.Conflict(
                "Module is not configurable")).respond, []
        try:
            target, remainder = pecan.routing.lookup_controller(
                controller, list(args[1:]), request)
        except pecan.routing.NonCanonicalPath as path:
            # An index reached without its trailing slash: Pecan would
            # serve it directly, past the wrapper, unless handled here.
            target, remainder = path.controller, path.remainder
        except webob.exc.HTTPException as exc:
            if exc.status_int < 400:
                raise
            return _Deferred(exc).respond, []
        return _guarded(target, request.method), remainder


# -- /v1/rating/quote ---------------------------------------------------

def _mapping(value: Any, field: str) -> dict[str, Any]:
    if value is None or value is wtypes.Unset:
        return {}
    if not isinstance(value, Mapping) or not all(
            isinstance(key, str) for key in value):
        raise exceptions.InvalidInput(
            f"'{field}' must be an object with string keys.", field=field)
    return dict(value)


def _point(resource: models.CloudkittyResource, index: int
           ) -> tuple[str, DataPoint]:
    where = f"resources[{index}]"
    service = resource.service
    if not _is_set(service) or not service:
        raise exceptions.InvalidInput(
            f"'{where}.service' is required.", field=f"{where}.service")
    if not _is_set(resource.volume):
        raise exceptions.InvalidInput(
            f"'{where}.volume' is required.", field=f"{where}.volume")
    volume = to_decimal(resource.volume, f"{where}.volume")
    desc = _mapping(resource.desc, f"{where}.desc")
    # As upstream, keys directly under desc are not part of the point.
    groupby = _mapping(desc.get("groupby"), f"{where}.desc.groupby")
    metadata = _mapping(desc.get("metadata"), f"{where}.desc.metadata")
    return service, DataPoint("undef", volume, 0, groupby, metadata)


def price_quote(conf: Any, resources: list[models.CloudkittyResource],
                now: datetime.datetime | None = None) -> decimal.Decimal:
    """Total price of ``resources`` for one collect period from ``now``,
    rated by the enabled modules with global rules only."""
    usage: dict[str, list[DataPoint]] = {}
    for index, resource in enumerate(resources):
        if resource is None:
            raise exceptions.InvalidInput(
                f"'resources[{index}]' must be an object.",
                field=f"resources[{index}]")
        service, point = _point(resource, index)
        usage.setdefault(service, []).append(point)
    return quote.quote_total(conf, usage, now)


# -- /v1/rating ---------------------------------------------------------

class RatingController(rest.RestController):
    """/v1/rating and /v1/billing."""

    modules = ModulesController()
    module_config = ModuleConfigController()

    _custom_actions = {"quote": ["POST"], "reload_modules": ["GET"]}

    @wsexpose(float, body=models.CloudkittyResourceCollection)
    def quote(self, res_data: models.CloudkittyResourceCollection) -> float:
        """Price resource descriptions; answers a JSON number."""
        policy.authorize(pecan.request.context, "rating:quote", {})
        if res_data is None or not isinstance(res_data.resources, list):
            raise exceptions.InvalidInput("'resources' must be a list.",
                                          field="resources")
        resources = cast("list[models.CloudkittyResource]",
                         res_data.resources)
        total = price_quote(pecan.request.conf, resources)
        return float(total)

    @wsexpose(None, status_code=204)
    def reload_modules(self) -> None:
        """Ask the processors to reload their rating modules."""
        _authorize_config()
        _notices().modules_reloaded(pecan.request.conf)
