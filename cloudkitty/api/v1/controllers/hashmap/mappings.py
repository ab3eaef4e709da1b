"""/v1/rating/module_config/hashmap/mappings[/<mapping_id>|/group]."""
from __future__ import annotations

import datetime

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api.v1.controllers.hashmap import _common
from cloudkitty.api.v1.datamodels import hashmap as models
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.rating.hash import db

_text = wtypes.text


class MappingsController(rest.RestController):
    """Mappings: soft-deleted, time-bounded price rules."""

    _custom_actions = {"group": ["GET"]}

    @wsexpose(models.Group, _text)
    def get_group(self, mapping_id: str) -> models.Group:
        """The group of a mapping (404 when it has none)."""
        return models.Group.from_db(_common.store().mapping_group(mapping_id))

    @wsexpose(models.MappingCollection, _text, _text, _text,
              models.Flag("no_group"), _text, models.Flag("filter_tenant"),
              models.Flag("deleted"), models.RuleTime("start"),
              models.RuleTime("end"), _text, _text, _text, _text,
              models.Flag("is_active"), models.Flag("all"))
    def get_all(self, service_id: str | None = None,
                field_id: str | None = None, group_id: str | None = None,
                no_group: bool = False, tenant_id: str | None = None,
                filter_tenant: bool = False, deleted: bool = False,
                start: datetime.datetime | None = None,
                end: datetime.datetime | None = None,
                updated_by: str | None = None,
                created_by: str | None = None,
                deleted_by: str | None = None,
                description: str | None = None,
                is_active: bool | None = None,
                all: bool = True,  # noqa: A002 - the wire name
                ) -> models.MappingCollection:
        """Mappings, filtered. ``tenant_id`` only filters with
        ``filter_tenant`` (and then its absence means global rules);
        ``deleted`` includes soft-deleted ones; ``start``/``end`` keep
        rules starting at or after / ending before; ``description`` is a
        case-insensitive substring; ``is_active`` keeps the rules pricing
        now."""
        filters = db.MappingFilters(
            service_id=service_id, field_id=field_id, group_id=group_id,
            no_group=bool(no_group), tenant_id=tenant_id,
            filter_tenant=bool(filter_tenant), deleted=bool(deleted),
            start=start, end=end, created_by=created_by,
            updated_by=updated_by, deleted_by=deleted_by,
            description=description, is_active=is_active,
            all=True if all is None else bool(all))
        return models.MappingCollection(mappings=[
            models.Mapping.from_db(m)
            for m in _common.store().list_mappings(filters, _common.now())])

    @wsexpose(models.Mapping, _text)
    def get_one(self, mapping_id: str) -> models.Mapping:
        """A mapping, even a soft-deleted one."""
        return models.Mapping.from_db(_common.store().get_mapping(mapping_id))

    @wsexpose(models.Mapping, models.Flag("force"), body=models.Mapping,
              status_code=201)
    def post(self, force: bool = False,
             mapping: models.Mapping | None = None) -> models.Mapping:
        """Create a mapping; a ``start`` in the past needs ``force``."""
        body = _common.mandatory(mapping, "mapping")
        g = _common.given
        new = db.NewMapping(
            cost=_common.mandatory(body.cost, "cost"),
            map_type=g(body.type) or "flat", value=g(body.value),
            service_id=g(body.service_id), field_id=g(body.field_id),
            group_id=g(body.group_id), tenant_id=g(body.tenant_id),
            name=g(body.name), start=g(body.start), end=g(body.end),
            description=g(body.description))
        created = _common.store().create_mapping(
            new, now=_common.now(), user=_common.user(), force=bool(force))
        _common.created(created.mapping_id)
        return models.Mapping.from_db(created)

    @wsexpose(None, _text, body=models.Mapping, status_code=302)
    def put(self, mapping_id: str | None = None,
            mapping: models.Mapping | None = None) -> None:
        """Update a mapping. Once it has started, only an ``end`` may be
        set (once, in the future); before, its cost, window and
        description may change."""
        body = _common.mandatory(mapping, "mapping")
        mapping_id = _common.same_id(mapping_id, body.mapping_id,
                                     "mapping_id")
        g = _common.given
        update = db.MappingUpdate(
            cost=_common.mandatory(body.cost, "cost"), map_type=g(body.type),
            value=g(body.value), service_id=g(body.service_id),
            field_id=g(body.field_id), group_id=g(body.group_id),
            tenant_id=g(body.tenant_id), name=g(body.name),
            start=g(body.start), end=g(body.end),
            description=g(body.description))
        _common.store().update_mapping(mapping_id, update,
                                       now=_common.now(),
                                       user=_common.user())
        _common.updated()

    @wsexpose(None, _text, status_code=204)
    def delete(self, mapping_id: str) -> None:
        """Soft delete: the mapping stops pricing but stays readable."""
        _common.store().delete_mapping(mapping_id, now=_common.now(),
                                       user=_common.user())
