"""/v1/rating/module_config/hashmap/thresholds[/<threshold_id>|/group]."""
from __future__ import annotations

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api.v1.controllers.hashmap import _common
from cloudkitty.api.v1.datamodels import hashmap as models
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.rating.hash import db

_text = wtypes.text


class ThresholdsController(rest.RestController):
    """Thresholds: prices from a quantity level on (hard-deleted)."""

    _custom_actions = {"group": ["GET"]}

    @wsexpose(models.Group, _text)
    def get_group(self, threshold_id: str) -> models.Group:
        """The group of a threshold (404 when it has none)."""
        return models.Group.from_db(
            _common.store().threshold_group(threshold_id))

    @wsexpose(models.ThresholdCollection, _text, _text, _text,
              models.Flag("no_group"), _text, models.Flag("filter_tenant"))
    def get_all(self, service_id: str | None = None,
                field_id: str | None = None, group_id: str | None = None,
                no_group: bool = False, tenant_id: str | None = None,
                filter_tenant: bool = False) -> models.ThresholdCollection:
        """Thresholds, filtered; without a filter, all of them."""
        filters = db.RuleFilters(
            service_id=service_id, field_id=field_id, group_id=group_id,
            no_group=bool(no_group), tenant_id=tenant_id,
            filter_tenant=bool(filter_tenant))
        return models.ThresholdCollection(thresholds=[
            models.Threshold.from_db(t)
            for t in _common.store().list_thresholds(filters)])

    @wsexpose(models.Threshold, _text)
    def get_one(self, threshold_id: str) -> models.Threshold:
        return models.Threshold.from_db(
            _common.store().get_threshold(threshold_id))

    @wsexpose(models.Threshold, body=models.Threshold, status_code=201)
    def post(self, threshold: models.Threshold) -> models.Threshold:
        g = _common.given
        new = db.NewThreshold(
            level=_common.mandatory(threshold.level, "level"),
            cost=_common.mandatory(threshold.cost, "cost"),
            map_type=g(threshold.type) or "flat",
            service_id=g(threshold.service_id),
            field_id=g(threshold.field_id), group_id=g(threshold.group_id),
            tenant_id=g(threshold.tenant_id))
        created = _common.store().create_threshold(new)
        _common.created(created.threshold_id)
        return models.Threshold.from_db(created)

    @wsexpose(None, _text, body=models.Threshold, status_code=302)
    def put(self, threshold_id: str | None = None,
            threshold: models.Threshold | None = None) -> None:
        """Change level, cost, type, group or tenant; a null group or
        tenant removes it."""
        body = _common.mandatory(threshold, "threshold")
        threshold_id = _common.same_id(threshold_id, body.threshold_id,
                                       "threshold_id")
        g = _common.given
        update = db.ThresholdUpdate(
            level=_common.mandatory(body.level, "level"),
            cost=_common.mandatory(body.cost, "cost"),
            map_type=g(body.type), group_id=g(body.group_id),
            tenant_id=g(body.tenant_id),
            clear_group=body.group_id is None,
            clear_tenant=body.tenant_id is None)
        _common.store().update_threshold(threshold_id, update)
        _common.updated()

    @wsexpose(None, _text, status_code=204)
    def delete(self, threshold_id: str) -> None:
        """Hard delete."""
        _common.store().delete_threshold(threshold_id)
