"""/v1/collector (deprecated upstream): service to collector mappings and
collector states.

* ``mappings[/<service>]`` — list (``collector`` filter), show, create or
  replace (``POST`` with ``collector`` and ``service`` from the path
  ``/mappings/<collector>/<service>``, the query or the body), delete;
* ``states`` (also ``states/<name>`` and ``<name>/states``) — whether a
  collector is enabled (``GET``, ``name`` from the path, the query or the
  body) and enabling or disabling it (``PUT`` with ``{"name",
  "enabled"}``).

Both are stored as upstream stores them (see
:mod:`cloudkitty.db.collectors`) and nothing else reads them: collection
is configured by ``[collect] collector`` and ``metrics.yml``.
"""
from __future__ import annotations

import pecan
from oslo_log import log
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v1.datamodels import collector as models
from cloudkitty.api.v1.datamodels.report import NAME
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.db import collectors

LOG = log.getLogger(__name__)

__all__ = ["CollectorController", "CollectorStateController",
           "MappingController"]

_DEPRECATED = "The /v1/collector API is deprecated and has no effect."


def _authorize(rule: str) -> None:
    policy.authorize(pecan.request.context, rule, {})


def _required(value: str | None, field: str) -> str:
    if not value:
        raise exceptions.InvalidInput(f'Missing argument: "{field}"',
                                      field=field)
    return value


def _mappings() -> collectors.ServiceMappings:
    return collectors.ServiceMappings(pecan.request.conf)


def _states() -> collectors.CollectorStates:
    return collectors.CollectorStates(pecan.request.conf)


class MappingController(rest.RestController):
    """/v1/collector/mappings[/<service>]."""

    @wsexpose(models.ServiceToCollectorMappingCollection,
              NAME)
    def get_all(self, collector: str | None = None
                ) -> models.ServiceToCollectorMappingCollection:
        """Every mapping, or those of ``collector``."""
        LOG.debug(_DEPRECATED)
        _authorize("collector:list_mappings")
        return models.ServiceToCollectorMappingCollection(mappings=[
            models.ServiceToCollectorMapping.from_db(mapping)
            for mapping in _mappings().list(collector or None)])

    @wsexpose(models.ServiceToCollectorMapping, NAME)
    def get_one(self, service: str) -> models.ServiceToCollectorMapping:
        """The mapping of a service (404 when it has none)."""
        LOG.debug(_DEPRECATED)
        _authorize("collector:get_mapping")
        return models.ServiceToCollectorMapping.from_db(
            _mappings().get(_required(service, "service")))

    @wsexpose(models.ServiceToCollectorMapping, NAME,
              NAME)
    def post(self, collector: str | None = None,
             service: str | None = None
             ) -> models.ServiceToCollectorMapping:
        """Map a service to a collector, replacing its mapping if it had
        one; answers the mapping (200)."""
        LOG.debug(_DEPRECATED)
        _authorize("collector:manage_mapping")
        mapping = _mappings().set(_required(service, "service"),
                                  _required(collector, "collector"))
        return models.ServiceToCollectorMapping.from_db(mapping)

    @wsexpose(None, NAME, status_code=204)
    def delete(self, service: str | None = None) -> None:
        """Remove the mapping of a service (404 when it has none)."""
        LOG.debug(_DEPRECATED)
        _authorize("collector:manage_mapping")
        _mappings().delete(_required(service, "service"))


class CollectorStateController(rest.RestController):
    """/v1/collector/states[/<name>] and /v1/collector/<name>/states."""

    @wsexpose(models.CollectorInfos, NAME)
    def get(self, name: str | None = None) -> models.CollectorInfos:
        """Whether a collector is enabled (false for one never set)."""
        LOG.debug(_DEPRECATED)
        _authorize("collector:get_state")
        name = _required(name, "name")
        return models.CollectorInfos(name=name, enabled=_states().get(name))

    @wsexpose(models.CollectorInfos, NAME,
              body=models.CollectorInfos)
    def put(self, name: str | None = None,
            infos: models.CollectorInfos | None = None
            ) -> models.CollectorInfos:
        """Enable or disable a collector; the name comes from the URL or
        the query, else from the body."""
        LOG.debug(_DEPRECATED)
        _authorize("collector:update_state")
        if infos is None:
            raise exceptions.InvalidInput(
                "Invalid input for field/attribute enabled. Value: 'None'. "
                "Mandatory field missing.", field="enabled")
        body_name = infos.name if isinstance(infos.name, str) else None
        if name and body_name and name != body_name:
            raise exceptions.InvalidInput(
                f"'name' of the body ({body_name}) differs from the one of "
                f"the URL ({name}).", field="name")
        name = _required(name or body_name, "name")
        enabled = _states().set(name, infos.enabled)
        return models.CollectorInfos(name=name, enabled=enabled)


class CollectorController(rest.RestController):
    """/v1/collector."""

    mappings = MappingController()
    states = CollectorStateController()

    @wsexpose(None, wtypes.text)
    def get_one(self, name: str) -> None:
        """Nothing lives at /v1/collector/<name> itself; having this
        method lets Pecan route /v1/collector/<name>/states."""
        raise exceptions.NotFound(
            f"Unknown resource: /v1/collector/{name}")
