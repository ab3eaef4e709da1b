"""/v1/rating/module_config/hashmap/groups[/<group_id>|/mappings|
/thresholds]."""
from __future__ import annotations

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api.v1.controllers.hashmap import _common
from cloudkitty.api.v1.datamodels import hashmap as models
from cloudkitty.api.v1.expose import wsexpose


class GroupsController(rest.RestController):
    """Groups of rules."""

    _custom_actions = {"mappings": ["GET"], "thresholds": ["GET"]}

    @wsexpose(models.MappingCollection, wtypes.text)
    def get_mappings(self, group_id: str) -> models.MappingCollection:
        """The live mappings of a group."""
        return models.MappingCollection(mappings=[
            models.Mapping.from_db(m)
            for m in _common.store().group_mappings(group_id)])

    @wsexpose(models.ThresholdCollection, wtypes.text)
    def get_thresholds(self, group_id: str) -> models.ThresholdCollection:
        return models.ThresholdCollection(thresholds=[
            models.Threshold.from_db(t)
            for t in _common.store().group_thresholds(group_id)])

    @wsexpose(models.GroupCollection)
    def get_all(self) -> models.GroupCollection:
        return models.GroupCollection(groups=[
            models.Group.from_db(g) for g in _common.store().list_groups()])

    @wsexpose(models.Group, wtypes.text)
    def get_one(self, group_id: str) -> models.Group:
        return models.Group.from_db(_common.store().get_group(group_id))

    @wsexpose(models.Group, body=models.Group, status_code=201)
    def post(self, group: models.Group) -> models.Group:
        name = _common.mandatory(group.name, "name")
        created = _common.store().create_group(name)
        _common.created(created.group_id)
        return models.Group.from_db(created)

    @wsexpose(None, wtypes.text, models.Flag("recursive"), status_code=204)
    def delete(self, group_id: str, recursive: bool = False) -> None:
        """``recursive`` deletes the group's mappings and thresholds;
        otherwise they stay, without a group."""
        _common.store().delete_group(group_id, recursive=bool(recursive))
