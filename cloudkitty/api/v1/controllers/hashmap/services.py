"""/v1/rating/module_config/hashmap/services[/<service_id>[/fields]]."""
from __future__ import annotations

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api.v1.controllers.hashmap import _common
from cloudkitty.api.v1.controllers.hashmap.fields import FieldsController
from cloudkitty.api.v1.datamodels import hashmap as models
from cloudkitty.api.v1.expose import wsexpose


class ServicesController(rest.RestController):
    """Services: one per rated metric (by alt_name)."""

    #: /services/<service_id>/fields: the fields of that service.
    fields = FieldsController()

    @wsexpose(models.ServiceCollection)
    def get_all(self) -> models.ServiceCollection:
        return models.ServiceCollection(services=[
            models.Service.from_db(s)
            for s in _common.store().list_services()])

    @wsexpose(models.Service, wtypes.text)
    def get_one(self, service_id: str) -> models.Service:
        return models.Service.from_db(_common.store().get_service(service_id))

    @wsexpose(models.Service, body=models.Service, status_code=201)
    def post(self, service: models.Service) -> models.Service:
        name = _common.mandatory(service.name, "name")
        created = _common.store().create_service(name)
        _common.created(created.service_id)
        return models.Service.from_db(created)

    @wsexpose(None, wtypes.text, status_code=204)
    def delete(self, service_id: str) -> None:
        """Deletes the service's fields, mappings and thresholds too."""
        _common.store().delete_service(service_id)
