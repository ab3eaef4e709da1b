"""Configuration store of the hashmap module: services, fields, groups,
mappings and thresholds, with the checks the configuration API applies.

Objects are handed out as frozen dataclasses (:mod:`.records`) whose parent
references are the public UUIDs (never the integer primary keys). Every
method runs in its own transaction. Errors are :mod:`cloudkitty.exceptions`:
``NotFound`` (404), ``InvalidInput`` naming the field (400), ``Conflict``
(409). Messages repeat upstream's wording where clients may show them.
Times are naive UTC; ``now`` is always passed in by the caller.
"""
from cloudkitty.rating.hash.db._mappings import MappingStore
from cloudkitty.rating.hash.db._structure import StructureStore
from cloudkitty.rating.hash.db._thresholds import ThresholdStore
from cloudkitty.rating.hash.db.records import (
    COST_QUANTUM,
    LEVEL_QUANTUM,
    MAP_TYPES,
    Field,
    Group,
    Mapping,
    MappingFilters,
    MappingUpdate,
    NewMapping,
    NewThreshold,
    RuleFilters,
    Service,
    Threshold,
    ThresholdUpdate,
    audit_user,
    cost_value,
    level_value,
)

__all__ = [
    "COST_QUANTUM", "Field", "Group", "HashMapDB", "LEVEL_QUANTUM",
    "MAP_TYPES", "Mapping", "MappingFilters", "MappingUpdate", "NewMapping",
    "NewThreshold", "RuleFilters", "Service", "Threshold", "ThresholdUpdate",
    "audit_user", "cost_value", "level_value",
]


class HashMapDB(StructureStore, MappingStore, ThresholdStore):
    """The hashmap configuration in the database of ``engine``."""
