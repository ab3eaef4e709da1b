"""Read the hashmap rules that apply to a scope at a processing time.

Read-only: one short transaction of five SELECTs, whatever the number of
rules. The rows are handed to :class:`~cloudkitty.rating.hash.pricing.
RuleSetBuilder` in the order that decides who wins a key: global rules
(``tenant_id`` NULL) before the scope's, and by primary key inside each of
those two sets. Fields are declared in primary-key order, which is the
order their rules are applied in (it only matters for threshold ties).
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from cloudkitty.db.models.hashmap import (
    HashMapField,
    HashMapGroup,
    HashMapMapping,
    HashMapService,
    HashMapThreshold,
)
from cloudkitty.rating.hash.pricing import RuleSet, RuleSetBuilder

__all__ = ["load_rules", "naive_utc"]


def naive_utc(at: datetime.datetime) -> datetime.datetime:
    """``at`` as the naive UTC datetime the rule tables store."""
    if at.tzinfo is None:
        return at
    return at.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _tenant_filter(column: Any, scope_id: str | None) -> Any:
    if scope_id is None:
        return column.is_(None)
    return sa.or_(column.is_(None), column == scope_id)


def _loading_order(rows: Sequence[Any]) -> list[Any]:
    # Global rows first, then the scope's; by id inside each set. Done in
    # Python: portable, and the number of rows is small.
    return sorted(rows, key=lambda row: (row.tenant_id is not None, row.id))


def load_rules(engine: sa.Engine, scope_id: str | None,
               at: datetime.datetime) -> RuleSet:
    """The rules of ``scope_id`` (None: global rules only) at ``at``.

    Mappings count when active at ``at``: ``start <= at``, ``end`` NULL or
    after ``at``, not soft-deleted. Thresholds have no validity window.
    """
    at = naive_utc(at)
    m = HashMapMapping.__table__.c
    t = HashMapThreshold.__table__.c
    with engine.connect() as connection:
        services = connection.execute(
            sa.select(HashMapService.id, HashMapService.name)
            .order_by(HashMapService.id)).all()
        fields = connection.execute(
            sa.select(HashMapField.id, HashMapField.name,
                      HashMapField.service_id)
            .order_by(HashMapField.id)).all()
        groups = dict(connection.execute(
            sa.select(HashMapGroup.id, HashMapGroup.name)).all())
        mappings = connection.execute(
            sa.select(m.id, m.value, m.cost, m.map_type, m.service_id,
                      m.field_id, m.group_id, m.tenant_id)
            .where(m.deleted.is_(None), m.start <= at,
                   sa.or_(m.end.is_(None), m.end > at),
                   _tenant_filter(m.tenant_id, scope_id))).all()
        thresholds = connection.execute(
            sa.select(t.id, t.level, t.cost, t.map_type, t.service_id,
                      t.field_id, t.group_id, t.tenant_id)
            .where(_tenant_filter(t.tenant_id, scope_id))).all()

    builder = RuleSetBuilder()
    service_names = {row.id: row.name for row in services}
    for name in service_names.values():
        builder.add_service(name)
    # field id -> (service name, field name)
    field_names: dict[int, tuple[str, str]] = {}
    for row in fields:
        service = service_names[row.service_id]
        field_names[row.id] = (service, row.name)
        builder.add_field(service, row.name)

    def target(row: Any) -> tuple[str, str | None] | None:
        if row.field_id is not None:
            return field_names.get(row.field_id)
        if row.service_id is not None:
            return service_names[row.service_id], None
        return None  # a rule with no parent rates nothing

    for row in _loading_order(mappings):
        where = target(row)
        if where is not None:
            builder.add_mapping(where[0], where[1], groups.get(row.group_id),
                                row.value, row.map_type, row.cost)
    for row in _loading_order(thresholds):
        where = target(row)
        if where is not None:
            builder.add_threshold(where[0], where[1],
                                  groups.get(row.group_id), row.level,
                                  row.map_type, row.cost)
    return builder.build()
