"""/v1/rating/module_config/hashmap/fields[/<field_id>]."""
from __future__ import annotations

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api.v1.controllers.hashmap import _common
from cloudkitty.api.v1.datamodels import hashmap as models
from cloudkitty.api.v1.expose import wsexpose


class FieldsController(rest.RestController):
    """Fields of services; listing needs the service."""

    @wsexpose(models.FieldCollection, wtypes.text)
    def get_all(self, service_id: str) -> models.FieldCollection:
        """Fields of ``service_id`` (none for an unknown service)."""
        return models.FieldCollection(fields=[
            models.Field.from_db(f)
            for f in _common.store().list_fields(service_id)])

    @wsexpose(models.Field, wtypes.text)
    def get_one(self, field_id: str) -> models.Field:
        return models.Field.from_db(_common.store().get_field(field_id))

    @wsexpose(models.Field, body=models.Field, status_code=201)
    def post(self, field: models.Field) -> models.Field:
        service_id = _common.mandatory(field.service_id, "service_id")
        name = _common.mandatory(field.name, "name")
        created = _common.store().create_field(service_id, name)
        _common.created(created.field_id)
        return models.Field.from_db(created)

    @wsexpose(None, wtypes.text, status_code=204)
    def delete(self, field_id: str) -> None:
        """Deletes the field's mappings and thresholds too."""
        _common.store().delete_field(field_id)
