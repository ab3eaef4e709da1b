"""Objects the hashmap store hands out and takes in, and the value
checks shared by its parts (lengths, decimal places, map types)."""
from __future__ import annotations

import dataclasses
import datetime
import decimal
from typing import Any, TypeVar

from cloudkitty import exceptions
from cloudkitty.db.models.hashmap import (
    HashMapMapping,
    HashMapThreshold,
)

MAP_TYPES = ("flat", "rate")

#: Column sizes of the upstream schema; longer input is refused (400)
#: rather than left to the database (500, or silent truncation).
LIMITS = {"name": 255, "value": 255, "tenant_id": 255, "mapping_name": 32,
           # A MySQL TEXT holds 65535 bytes: 4 per character at worst.
           "description": 16383}
_AUDIT_USER_LENGTH = 32
#: NUMERIC(40, 28) and NUMERIC(20, 8): digits before the point.
_COST_INTEGER_DIGITS = 12
_LEVEL_INTEGER_DIGITS = 12
COST_QUANTUM = decimal.Decimal(1).scaleb(-28)
LEVEL_QUANTUM = decimal.Decimal(1).scaleb(-8)


# -- objects handed out -----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Service:
    service_id: str
    name: str


@dataclasses.dataclass(frozen=True)
class Field:
    field_id: str
    name: str
    service_id: str


@dataclasses.dataclass(frozen=True)
class Group:
    group_id: str
    name: str


@dataclasses.dataclass(frozen=True)
class Mapping:
    mapping_id: str
    value: str | None
    map_type: str
    cost: decimal.Decimal
    service_id: str | None
    field_id: str | None
    group_id: str | None
    tenant_id: str | None
    name: str
    created_at: datetime.datetime
    start: datetime.datetime
    end: datetime.datetime | None
    description: str | None
    deleted: datetime.datetime | None
    created_by: str
    updated_by: str | None
    deleted_by: str | None


@dataclasses.dataclass(frozen=True)
class Threshold:
    threshold_id: str
    level: decimal.Decimal | None
    map_type: str
    cost: decimal.Decimal
    service_id: str | None
    field_id: str | None
    group_id: str | None
    tenant_id: str | None


# -- input ------------------------------------------------------------------

@dataclasses.dataclass
class NewMapping:
    """A mapping to create; ``start``/``end`` already parsed (naive UTC)."""

    cost: decimal.Decimal
    map_type: str = "flat"
    value: str | None = None
    service_id: str | None = None
    field_id: str | None = None
    group_id: str | None = None
    tenant_id: str | None = None
    name: str | None = None
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    description: str | None = None


@dataclasses.dataclass
class MappingUpdate:
    """What a client sent to update a mapping; None = not given."""

    cost: decimal.Decimal | None = None
    map_type: str | None = None
    value: str | None = None
    service_id: str | None = None
    field_id: str | None = None
    group_id: str | None = None
    tenant_id: str | None = None
    name: str | None = None
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    description: str | None = None


@dataclasses.dataclass
class NewThreshold:
    level: decimal.Decimal
    cost: decimal.Decimal
    map_type: str = "flat"
    service_id: str | None = None
    field_id: str | None = None
    group_id: str | None = None
    tenant_id: str | None = None


@dataclasses.dataclass
class ThresholdUpdate:
    """Threshold attributes a client may change; None = not given.

    ``clear_group``/``clear_tenant``: the client explicitly sent null, so
    the threshold leaves its group / becomes global.
    """

    level: decimal.Decimal | None = None
    cost: decimal.Decimal | None = None
    map_type: str | None = None
    group_id: str | None = None
    tenant_id: str | None = None
    clear_group: bool = False
    clear_tenant: bool = False


@dataclasses.dataclass
class RuleFilters:
    """Listing filters shared by mappings and thresholds.

    ``tenant_id`` only applies with ``filter_tenant``; then a missing
    ``tenant_id`` selects the rules of no tenant (global rules).
    """

    service_id: str | None = None
    field_id: str | None = None
    group_id: str | None = None
    no_group: bool = False
    tenant_id: str | None = None
    filter_tenant: bool = False


@dataclasses.dataclass
class MappingFilters(RuleFilters):
    deleted: bool = False
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None
    deleted_by: str | None = None
    description: str | None = None
    is_active: bool | None = None
    all: bool = True


# -- helpers ----------------------------------------------------------------

Row = TypeVar("Row", HashMapMapping, HashMapThreshold)
#: Primary key (None for "no parent") -> public id.
Ids = dict[int | None, str]


def check_length(value: str | None, field: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise exceptions.InvalidInput(
            f"Invalid value for field '{field}': at most {limit} "
            f"characters.", field=field)


def check_type(map_type: str) -> None:
    if map_type not in MAP_TYPES:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute type. Value: "
            f"'{map_type}'. Value should be one of: flat, rate",
            field="type")


def _quantize(value: decimal.Decimal, field: str, quantum: decimal.Decimal,
              integer_digits: int) -> decimal.Decimal:
    if not value.is_finite():
        raise exceptions.InvalidInput(
            f"Invalid value for field '{field}': {value} is not a number.",
            field=field)
    if value.adjusted() >= integer_digits:
        raise exceptions.InvalidInput(
            f"Invalid value for field '{field}': at most {integer_digits} "
            f"digits before the decimal point.", field=field)
    context = decimal.Context(prec=integer_digits - quantum.adjusted() + 1)
    return value.quantize(quantum, context=context)


def cost_value(value: decimal.Decimal, field: str = "cost"
               ) -> decimal.Decimal:
    """``value`` as stored in a cost column (28 decimal places)."""
    return _quantize(value, field, COST_QUANTUM, _COST_INTEGER_DIGITS)


def level_value(value: decimal.Decimal) -> decimal.Decimal:
    """``value`` as stored in a level column (8 decimal places)."""
    return _quantize(value, "level", LEVEL_QUANTUM, _LEVEL_INTEGER_DIGITS)


def audit_user(user_id: str | None) -> str:
    """Who to record in created_by/updated_by/deleted_by."""
    return (user_id or "unknown")[:_AUDIT_USER_LENGTH]


def same(column: Any, value: Any) -> Any:
    """``column = value`` where NULL matches NULL."""
    return column.is_(None) if value is None else column == value
