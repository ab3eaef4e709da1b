"""Configuration API of the hashmap module (v1), mounted by the rating
controller at ``/v1/rating/module_config/hashmap``.

Every id may come from the path, the query string or the JSON body, on
any method (the official client deletes and updates with the id in the
body only). Creations answer 201 with ``Location: <collection>/<id>``,
updates 302 to the request's path with an empty body, deletions 204.
"""
from __future__ import annotations

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api.v1.controllers.hashmap.fields import FieldsController
from cloudkitty.api.v1.controllers.hashmap.groups import GroupsController
from cloudkitty.api.v1.controllers.hashmap.mappings import (
    MappingsController,
)
from cloudkitty.api.v1.controllers.hashmap.services import (
    ServicesController,
)
from cloudkitty.api.v1.controllers.hashmap.thresholds import (
    ThresholdsController,
)
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.rating.hash import db

__all__ = ["HashMapConfigController"]


class HashMapConfigController(rest.RestController):
    """/v1/rating/module_config/hashmap."""

    _custom_actions = {"types": ["GET"]}

    services = ServicesController()
    fields = FieldsController()
    groups = GroupsController()
    mappings = MappingsController()
    thresholds = ThresholdsController()

    @wsexpose([wtypes.text])
    def get_types(self) -> list[str]:
        """The mapping and threshold types: ``flat`` and ``rate``."""
        return list(db.MAP_TYPES)
