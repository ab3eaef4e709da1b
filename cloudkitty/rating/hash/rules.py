"""Read the hashmap rules that apply to a scope at a processing time.

Read-only: one short transaction of five SELECTs, whatever the number of
rules (:func:`load_rules_many`, for many scopes at once: five, plus two per
500 scopes). The rows are handed to :class:`~cloudkitty.rating.hash.pricing.
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

__all__ = ["load_rules", "load_rules_many", "naive_utc"]


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


def _mapping_query(at: datetime.datetime) -> Any:
    m = HashMapMapping.__table__.c
    return (sa.select(m.id, m.value, m.cost, m.map_type, m.service_id,
                      m.field_id, m.group_id, m.tenant_id)
            .where(m.deleted.is_(None), m.start <= at,
                   sa.or_(m.end.is_(None), m.end > at)))


def _threshold_query() -> Any:
    t = HashMapThreshold.__table__.c
    return sa.select(t.id, t.level, t.cost, t.map_type, t.service_id,
                     t.field_id, t.group_id, t.tenant_id)


class _Parents:
    """Services, fields and groups: what rules hang on (read once)."""

    def __init__(self, connection: sa.Connection) -> None:
        services = connection.execute(
            sa.select(HashMapService.id, HashMapService.name)
            .order_by(HashMapService.id)).all()
        fields = connection.execute(
            sa.select(HashMapField.id, HashMapField.name,
                      HashMapField.service_id)
            .order_by(HashMapField.id)).all()
        self.groups: dict[int, str] = {
            row.id: row.name for row in connection.execute(
                sa.select(HashMapGroup.id, HashMapGroup.name))}
        self.services = {row.id: row.name for row in services}
        # field id -> (service name, field name), in primary-key order.
        self.fields: dict[int, tuple[str, str]] = {
            row.id: (self.services[row.service_id], row.name)
            for row in fields}

    def target(self, row: Any) -> tuple[str, str | None] | None:
        if row.field_id is not None:
            return self.fields.get(row.field_id)
        if row.service_id is not None:
            return self.services[row.service_id], None
        return None  # a rule with no parent rates nothing

    def build(self, mappings: Sequence[Any],
              thresholds: Sequence[Any]) -> RuleSet:
        """A rule set from rows already in loading order."""
        builder = RuleSetBuilder()
        for name in self.services.values():
            builder.add_service(name)
        for service, field in self.fields.values():
            builder.add_field(service, field)
        for row in mappings:
            where = self.target(row)
            if where is not None:
                builder.add_mapping(where[0], where[1],
                                    self.groups.get(row.group_id),
                                    row.value, row.map_type, row.cost)
        for row in thresholds:
            where = self.target(row)
            if where is not None:
                builder.add_threshold(where[0], where[1],
                                      self.groups.get(row.group_id),
                                      row.level, row.map_type, row.cost)
        return builder.build()


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
        parents = _Parents(connection)
        mappings = connection.execute(_mapping_query(at).where(
            _tenant_filter(m.tenant_id, scope_id))).all()
        thresholds = connection.execute(_threshold_query().where(
            _tenant_filter(t.tenant_id, scope_id))).all()
    return parents.build(_loading_order(mappings),
                         _loading_order(thresholds))


#: Scope ids per ``IN`` list (well under every backend's bind limit).
_IN_CHUNK = 500


def load_rules_many(engine: sa.Engine, scope_ids: Sequence[str],
                    at: datetime.datetime) -> dict[str, RuleSet]:
    """:func:`load_rules` for each of ``scope_ids``, from one read of the
    global rules and one of the scopes' own rules (per 500 scopes).

    Scopes without rules of their own share one rule set (the global
    one); treat the result as read-only.
    """
    at = naive_utc(at)
    wanted = list(dict.fromkeys(scope_ids))
    m = HashMapMapping.__table__.c
    t = HashMapThreshold.__table__.c
    own_mappings: dict[str, list[Any]] = {}
    own_thresholds: dict[str, list[Any]] = {}
    with engine.connect() as connection:
        parents = _Parents(connection)
        global_mappings = connection.execute(
            _mapping_query(at).where(m.tenant_id.is_(None))).all()
        global_thresholds = connection.execute(
            _threshold_query().where(t.tenant_id.is_(None))).all()
        for offset in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[offset:offset + _IN_CHUNK]
            for row in connection.execute(_mapping_query(at).where(
                    m.tenant_id.in_(chunk))):
                own_mappings.setdefault(row.tenant_id, []).append(row)
            for row in connection.execute(_threshold_query().where(
                    t.tenant_id.in_(chunk))):
                own_thresholds.setdefault(row.tenant_id, []).append(row)
    global_mappings = _loading_order(global_mappings)
    global_thresholds = _loading_order(global_thresholds)
    shared: RuleSet | None = None
    rule_sets: dict[str, RuleSet] = {}
    for scope_id in wanted:
        if scope_id in own_mappings or scope_id in own_thresholds:
            rule_sets[scope_id] = parents.build(
                global_mappings + _loading_order(
                    own_mappings.get(scope_id, [])),
                global_thresholds + _loading_order(
                    own_thresholds.get(scope_id, [])))
            continue
        if shared is None:
            shared = parents.build(global_mappings, global_thresholds)
        rule_sets[scope_id] = shared
    return rule_sets
