"""WSME types of the hashmap configuration API (v1).

Costs are rendered with 28 decimal places and levels with 8, as JSON
strings; rule times as naive ISO 8601 (UTC). Every object type also
accepts back what it renders, because the official client updates a
mapping or threshold by sending the whole object it read.
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any

import wsme.exc
from wsme import types as wtypes

from cloudkitty.rating import lifecycle
from cloudkitty.rating.hash import db

__all__ = ["Field", "FieldCollection", "Group", "GroupCollection",
           "Mapping", "MappingCollection", "Service", "ServiceCollection",
           "Threshold", "ThresholdCollection", "FixedPoint", "Flag",
           "RuleTime", "MAP_TYPE"]

MAP_TYPE = wtypes.Enum(wtypes.text, *db.MAP_TYPES)


class FixedPoint(wtypes.UserType):
    """A decimal read from a JSON string or number, written as a string
    with a fixed number of decimal places (never in exponent form)."""

    basetype = wtypes.text

    def __init__(self, field: str, places: int) -> None:
        self.field = field
        self.name = f"decimal({places})"
        self.quantum = decimal.Decimal(1).scaleb(-places)

    def validate(self, value: Any) -> Any:
        return value

    def frombasetype(self, value: Any) -> decimal.Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(
                value, str | int | float | decimal.Decimal):
            raise wsme.exc.InvalidInput(self.field, value,
                                        "Expected a decimal number.")
        try:
            # str() first: a JSON float keeps the digits the client wrote.
            number = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise wsme.exc.InvalidInput(self.field, value,
                                        "Expected a decimal number.") \
                from None
        if not number.is_finite():
            raise wsme.exc.InvalidInput(self.field, value,
                                        "Expected a finite number.")
        return number

    def tobasetype(self, value: Any) -> str | None:
        if value is None:
            return None
        number = decimal.Decimal(value)
        context = decimal.Context(prec=max(number.adjusted(), 0) + 40)
        return format(number.quantize(self.quantum, context=context), "f")


class RuleTime(wtypes.UserType):
    """A rule time: ISO 8601 in (offset converted to UTC), naive ISO out.

    ``end_of_day`` reads a bare date as 23:59:59 of that day (an ``end``).
    """

    basetype = wtypes.text
    name = "datetime"

    def __init__(self, field: str, end_of_day: bool = False) -> None:
        self.field = field
        self.end_of_day = end_of_day

    def validate(self, value: Any) -> Any:
        return value

    def frombasetype(self, value: Any) -> datetime.datetime | None:
        return lifecycle.parse_time(value, self.field,
                                    end_of_day=self.end_of_day)

    def tobasetype(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        return str(value)


class Flag(wtypes.UserType):
    """A boolean argument: JSON true/false, or true/false, yes/no, on/off,
    1/0 in a query string (WSME's own ``bool`` reads "false" as true)."""

    basetype = wtypes.text
    name = "bool"
    _WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}

    def __init__(self, field: str) -> None:
        self.field = field

    def validate(self, value: Any) -> Any:
        return value

    def frombasetype(self, value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in self._WORDS:
            return self._WORDS[value.strip().lower()]
        raise wsme.exc.InvalidInput(self.field, value,
                                    "Expected a boolean (true or false).")

    def tobasetype(self, value: Any) -> Any:
        return value


COST = FixedPoint("cost", 28)
LEVEL = FixedPoint("level", 8)


class Service(wtypes.Base):
    """A rated service (its name is the metric's alt_name)."""

    service_id = wtypes.text
    name = wtypes.wsattr(wtypes.text, mandatory=True)

    @classmethod
    def from_db(cls, service: db.Service) -> Service:
        return cls(service_id=service.service_id, name=service.name)

    @classmethod
    def sample(cls) -> Service:
        return cls(service_id="a733d0e1-1ec9-4800-8df8-671e4affd017",
                   name="instance")


class ServiceCollection(wtypes.Base):
    services = [Service]


class Field(wtypes.Base):
    """A metadata field of a service."""

    field_id = wtypes.text
    name = wtypes.wsattr(wtypes.text, mandatory=True)
    service_id = wtypes.wsattr(wtypes.text, mandatory=True)

    @classmethod
    def from_db(cls, field: db.Field) -> Field:
        return cls(field_id=field.field_id, name=field.name,
                   service_id=field.service_id)

    @classmethod
    def sample(cls) -> Field:
        return cls(field_id="ac55b000-a05b-4832-b2ff-265a034886ab",
                   name="flavor_name",
                   service_id="a733d0e1-1ec9-4800-8df8-671e4affd017")


class FieldCollection(wtypes.Base):
    fields = [Field]


class Group(wtypes.Base):
    """Rules of one group combine; groups add up."""

    group_id = wtypes.text
    name = wtypes.wsattr(wtypes.text, mandatory=True)

    @classmethod
    def from_db(cls, group: db.Group) -> Group:
        return cls(group_id=group.group_id, name=group.name)

    @classmethod
    def sample(cls) -> Group:
        return cls(group_id="afe898cb-86d8-4557-ad67-f4f01891bbee",
                   name="instance_rating")


class GroupCollection(wtypes.Base):
    groups = [Group]


class Mapping(wtypes.Base):
    """A flat or rate price for a service or for a value of a field."""

    mapping_id = wtypes.text
    value = wtypes.text
    type = MAP_TYPE
    cost = wtypes.wsattr(COST, mandatory=True)
    service_id = wtypes.text
    field_id = wtypes.text
    group_id = wtypes.text
    tenant_id = wtypes.text
    created_at = RuleTime("created_at")
    start = RuleTime("start")
    end = RuleTime("end", end_of_day=True)
    name = wtypes.text
    description = wtypes.text
    deleted = RuleTime("deleted")
    created_by = wtypes.text
    updated_by = wtypes.text
    deleted_by = wtypes.text

    @classmethod
    def from_db(cls, mapping: db.Mapping) -> Mapping:
        return cls(
            mapping_id=mapping.mapping_id, value=mapping.value,
            type=mapping.map_type, cost=mapping.cost,
            service_id=mapping.service_id, field_id=mapping.field_id,
            group_id=mapping.group_id, tenant_id=mapping.tenant_id,
            created_at=mapping.created_at, start=mapping.start,
            end=mapping.end, name=mapping.name,
            description=mapping.description, deleted=mapping.deleted,
            created_by=mapping.created_by, updated_by=mapping.updated_by,
            deleted_by=mapping.deleted_by)

    @classmethod
    def sample(cls) -> Mapping:
        return cls(mapping_id="39dbd39d-f663-4444-a795-fb19d81af136",
                   value="m1.small", type="flat",
                   cost=decimal.Decimal("0.5"),
                   field_id="ac55b000-a05b-4832-b2ff-265a034886ab",
                   start=datetime.datetime(2024, 1, 1), name="small",
                   created_by="admin")


class MappingCollection(wtypes.Base):
    mappings = [Mapping]


class Threshold(wtypes.Base):
    """A price that applies once a quantity level is reached."""

    threshold_id = wtypes.text
    level = wtypes.wsattr(LEVEL, mandatory=True)
    type = MAP_TYPE
    cost = wtypes.wsattr(COST, mandatory=True)
    service_id = wtypes.text
    field_id = wtypes.text
    group_id = wtypes.text
    tenant_id = wtypes.text

    @classmethod
    def from_db(cls, threshold: db.Threshold) -> Threshold:
        return cls(threshold_id=threshold.threshold_id,
                   level=threshold.level, type=threshold.map_type,
                   cost=threshold.cost, service_id=threshold.service_id,
                   field_id=threshold.field_id,
                   group_id=threshold.group_id,
                   tenant_id=threshold.tenant_id)

    @classmethod
    def sample(cls) -> Threshold:
        return cls(threshold_id="8a3b5a24-4b55-4fc3-8d55-2e1d2f0d8e51",
                   level=decimal.Decimal(10), type="flat",
                   cost=decimal.Decimal("1.2"),
                   service_id="a733d0e1-1ec9-4800-8df8-671e4affd017")


class ThresholdCollection(wtypes.Base):
    thresholds = [Threshold]
