"""Mappings of the hashmap store."""
from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.db.models.hashmap import (
    HashMapGroup,
    HashMapMapping,
)
from cloudkitty.rating import lifecycle
from cloudkitty.rating.hash.db._base import StoreBase
from cloudkitty.rating.hash.db.records import (
    LIMITS,
    Group,
    Mapping,
    MappingFilters,
    MappingUpdate,
    NewMapping,
    audit_user,
    check_length,
    check_type,
    cost_value,
    same,
)


class MappingStore(StoreBase):
    """Mappings: soft-deleted, with validity windows."""

    # -- mappings ----------------------------------------------------------

    def list_mappings(self, filters: MappingFilters,
                      now: datetime.datetime) -> list[Mapping]:
        if not (filters.all or filters.service_id or filters.field_id
                or filters.group_id or filters.no_group):
            raise exceptions.InvalidInput(
                "You must specify either service_id, field_id or "
                "group_id.", field="service_id")
        M = HashMapMapping
        with self._session() as session:
            query = self._filtered(session, M, filters)
            if query is None:
                return []
            if not filters.deleted:
                query = query.where(M.deleted.is_(None))
            if filters.start is not None:
                query = query.where(M.start >= filters.start)
            if filters.end is not None:
                query = query.where(M.end < filters.end)
            for name in ("created_by", "updated_by", "deleted_by"):
                value = getattr(filters, name)
                if value is not None:
                    query = query.where(getattr(M, name) == value)
            if filters.description:
                query = query.where(sa.func.lower(M.description).contains(
                    filters.description.lower(), autoescape=True))
            if filters.is_active:
                query = query.where(
                    M.start <= now, M.deleted.is_(None),
                    sa.or_(M.end.is_(None), M.end > now))
            return self._mappings_out(session,
                                      session.scalars(query).all())

    def _mapping_row(self, session: Session, mapping_id: str,
                     alive: bool = False) -> HashMapMapping:
        query = sa.select(HashMapMapping).where(
            HashMapMapping.mapping_id == mapping_id)
        if alive:
            query = query.where(HashMapMapping.deleted.is_(None))
        row = session.scalars(query).first()
        if row is None:
            raise exceptions.NotFound(f"No such mapping: {mapping_id}")
        return row

    def get_mapping(self, mapping_id: str) -> Mapping:
        """A mapping, soft-deleted ones included."""
        with self._session() as session:
            return self._mappings_out(
                session, [self._mapping_row(session, mapping_id)])[0]

    def mapping_group(self, mapping_id: str) -> Group:
        with self._session() as session:
            row = self._mapping_row(session, mapping_id)
            if row.group_id is None:
                raise exceptions.NotFound(
                    f"Mapping has no group (UUID: {mapping_id})")
            group = session.get(HashMapGroup, row.group_id)
            assert group is not None
            return Group(group.group_id, group.name)

    def group_mappings(self, group_id: str) -> list[Mapping]:
        """The live mappings of a group (none for an unknown group)."""
        return self.list_mappings(MappingFilters(group_id=group_id),
                                  datetime.datetime.min)

    @staticmethod
    def _check_mapping_conflict(
            session: Session, *, name: str, value: str | None,
            tenant_id: str | None, service_pk: int | None,
            field_pk: int | None, group_pk: int | None,
            start: datetime.datetime, end: datetime.datetime | None,
            parent_id: str, parent_kind: str,
            exclude_pk: int | None = None) -> None:
        """409 when a live mapping has the same name, or the same key
        (value, tenant, parent, group) over an overlapping window."""
        M = HashMapMapping
        overlap = sa.or_(M.end.is_(None), M.end > start)
        if end is not None:
            overlap = sa.and_(M.start < end, overlap)
        same_key = sa.and_(
            same(M.value, value), same(M.tenant_id, tenant_id),
            same(M.service_id, service_pk), same(M.field_id, field_pk),
            same(M.group_id, group_pk), overlap)
        query = sa.select(M.id).where(M.deleted.is_(None),
                                      sa.or_(M.name == name, same_key))
        if exclude_pk is not None:
            query = query.where(M.id != exclude_pk)
        if session.execute(query.limit(1)).first() is not None:
            raise exceptions.Conflict(
                f"Mapping '{value}' already exists for {parent_kind} "
                f"'{parent_id}', tenant: '{tenant_id}'")

    def create_mapping(self, new: NewMapping, *, now: datetime.datetime,
                       user: str | None, force: bool = False) -> Mapping:
        """Validate and store a mapping (checks in upstream's order)."""
        check_type(new.map_type)
        cost = cost_value(new.cost)
        window = lifecycle.validate_new_window(new.start, new.end, now,
                                               force=force)
        if new.service_id and new.field_id:
            raise exceptions.InvalidInput(
                "You can only specify one parent.", field="service_id")
        if not new.service_id and not new.field_id:
            raise exceptions.InvalidInput(
                "You must specify one parent.", field="service_id")
        if new.value and new.service_id:
            raise exceptions.InvalidInput(
                "You can't specify a value when using a service mapping.",
                field="value")
        if new.field_id and not new.value:
            raise exceptions.InvalidInput(
                "You must specify a value for a field mapping.",
                field="value")
        check_length(new.value, "value", LIMITS["value"])
        check_length(new.tenant_id, "tenant_id", LIMITS["tenant_id"])
        check_length(new.name, "name", LIMITS["mapping_name"])
        check_length(new.description, "description",
                      LIMITS["description"])
        name = new.name or uuid.uuid4().hex
        value = new.value or None
        with self._session() as session:
            service, field = self._parents(session, new.service_id,
                                           new.field_id)
            group_pk = self._group_pk(session, new.group_id)
            parent_id = new.service_id or new.field_id
            assert parent_id is not None
            self._check_mapping_conflict(
                session, name=name, value=value, tenant_id=new.tenant_id,
                service_pk=service.id if service else None,
                field_pk=field.id if field else None, group_pk=group_pk,
                start=window.start, end=window.end, parent_id=parent_id,
                parent_kind="service" if service else "field")
            row = HashMapMapping(
                mapping_id=str(uuid.uuid4()), value=value, cost=cost,
                map_type=new.map_type,
                service_id=service.id if service else None,
                field_id=field.id if field else None, group_id=group_pk,
                tenant_id=new.tenant_id, name=name, created_at=now,
                start=window.start, end=window.end,
                description=new.description, created_by=audit_user(user))
            session.add(row)
            session.flush()
            return self._mappings_out(session, [row])[0]

    def update_mapping(self, mapping_id: str, update: MappingUpdate, *,
                       now: datetime.datetime,
                       user: str | None) -> Mapping:
        """Apply a client's update under the rule lifecycle: see
        :func:`cloudkitty.rating.lifecycle.plan_update`."""
        if update.map_type is not None:
            check_type(update.map_type)
        cost = None if update.cost is None else cost_value(update.cost)
        check_length(update.description, "description",
                      LIMITS["description"])
        with self._session() as session:
            row = self._mapping_row(session, mapping_id, alive=True)
            current = self._mappings_out(session, [row])[0]
            stored = {"cost": current.cost, "type": current.map_type,
                      "value": current.value,
                      "service_id": current.service_id,
                      "field_id": current.field_id,
                      "group_id": current.group_id,
                      "tenant_id": current.tenant_id, "name": current.name,
                      "start": current.start, "end": current.end,
                      "description": current.description}
            requested = {"cost": cost, "type": update.map_type,
                         "value": update.value,
                         "service_id": update.service_id,
                         "field_id": update.field_id,
                         "group_id": update.group_id,
                         "tenant_id": update.tenant_id, "name": update.name,
                         "start": update.start, "end": update.end,
                         "description": update.description}
            started = lifecycle.has_started(row.start, now)
            if not started:
                # Identity and pricing key are fixed at creation; only the
                # window, cost and description of a future rule may move.
                for key in ("type", "value", "service_id", "field_id",
                            "group_id", "tenant_id", "name"):
                    if requested[key] and requested[key] != stored[key]:
                        raise exceptions.InvalidInput(
                            f"You are allowed to update only the attributes "
                            f"[cost, start, end, description] of a rule; "
                            f"attribute [{key}] cannot change.", field=key)
            changes = lifecycle.plan_update(stored, requested, now)
            if not changes:
                row.updated_by = audit_user(user)
                session.flush()
                return self._mappings_out(session, [row])[0]
            if not started and ("start" in changes or "end" in changes):
                parent_id = current.service_id or current.field_id
                assert parent_id is not None
                self._check_mapping_conflict(
                    session, name=row.name, value=row.value,
                    tenant_id=row.tenant_id, service_pk=row.service_id,
                    field_pk=row.field_id, group_pk=row.group_id,
                    start=changes.get("start", row.start),
                    end=changes.get("end", row.end), parent_id=parent_id,
                    parent_kind="service" if row.service_id else "field",
                    exclude_pk=row.id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_by = audit_user(user)
            session.flush()
            return self._mappings_out(session, [row])[0]

    def delete_mapping(self, mapping_id: str, *, now: datetime.datetime,
                       user: str | None) -> None:
        """Soft delete: the row stays, marked deleted (and by whom)."""
        with self._session() as session:
            row = self._mapping_row(session, mapping_id, alive=True)
            row.deleted = now
            row.deleted_by = audit_user(user)
