"""Services, fields and groups of the hashmap store."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db.models.hashmap import (
    HashMapField,
    HashMapGroup,
    HashMapMapping,
    HashMapService,
    HashMapThreshold,
)
from cloudkitty.rating.hash.db._base import StoreBase
from cloudkitty.rating.hash.db.records import (
    LIMITS,
    Field,
    Group,
    Service,
    check_length,
)


class StructureStore(StoreBase):
    """Services, fields and groups."""

    # -- services ----------------------------------------------------------

    def list_services(self) -> list[Service]:
        with self._session() as session:
            rows = session.scalars(
                sa.select(HashMapService).order_by(HashMapService.id))
            return [Service(r.service_id, r.name) for r in rows]

    def get_service(self, service_id: str) -> Service:
        with self._session() as session:
            row = self._service_row(session, service_id)
            return Service(row.service_id, row.name)

    def create_service(self, name: str) -> Service:
        check_length(name, "name", LIMITS["name"])
        with self._session() as session:
            existing = session.scalars(sa.select(HashMapService).where(
                HashMapService.name == name)).first()
            if existing is not None:
                raise exceptions.Conflict(
                    f"Service {name} already exists (UUID: "
                    f"{existing.service_id})")
            row = HashMapService(service_id=str(uuid.uuid4()), name=name)
            session.add(row)
            session.flush()
            return Service(row.service_id, row.name)

    def delete_service(self, service_id: str) -> None:
        """Delete a service with its fields, mappings and thresholds."""
        with self._session() as session:
            row = self._service_row(session, service_id)
            field_ids = sa.select(HashMapField.id).where(
                HashMapField.service_id == row.id)
            for model in (HashMapMapping, HashMapThreshold):
                session.execute(sa.delete(model).where(sa.or_(
                    model.service_id == row.id,
                    model.field_id.in_(field_ids))))
            session.execute(sa.delete(HashMapField).where(
                HashMapField.service_id == row.id))
            session.delete(row)

    # -- fields ------------------------------------------------------------

    def list_fields(self, service_id: str) -> list[Field]:
        """Fields of a service; none for an unknown service."""
        with self._session() as session:
            rows = session.execute(
                sa.select(HashMapField, HashMapService.service_id)
                .join(HashMapService,
                      HashMapService.id == HashMapField.service_id)
                .where(HashMapService.service_id == service_id)
                .order_by(HashMapField.id)).all()
            return [Field(f.field_id, f.name, s) for f, s in rows]

    def get_field(self, field_id: str) -> Field:
        with self._session() as session:
            row = self._field_row(session, field_id)
            service = session.get(HashMapService, row.service_id)
            assert service is not None
            return Field(row.field_id, row.name, service.service_id)

    def create_field(self, service_id: str, name: str) -> Field:
        check_length(name, "name", LIMITS["name"])
        with self._session() as session:
            service = self._referenced(session, "service", service_id)
            existing = session.scalars(sa.select(HashMapField).where(
                HashMapField.service_id == service.id,
                HashMapField.name == name)).first()
            if existing is not None:
                raise exceptions.Conflict(
                    f"Field {name} already exists (UUID: "
                    f"{existing.field_id})")
            row = HashMapField(field_id=str(uuid.uuid4()), name=name,
                               service_id=service.id)
            session.add(row)
            session.flush()
            return Field(row.field_id, row.name, service.service_id)

    def delete_field(self, field_id: str) -> None:
        """Delete a field with its mappings and thresholds."""
        with self._session() as session:
            row = self._field_row(session, field_id)
            for model in (HashMapMapping, HashMapThreshold):
                session.execute(sa.delete(model).where(
                    model.field_id == row.id))
            session.delete(row)

    # -- groups ------------------------------------------------------------

    def list_groups(self) -> list[Group]:
        with self._session() as session:
            rows = session.scalars(
                sa.select(HashMapGroup).order_by(HashMapGroup.id))
            return [Group(r.group_id, r.name) for r in rows]

    def get_group(self, group_id: str) -> Group:
        with self._session() as session:
            row = self._group_row(session, group_id)
            return Group(row.group_id, row.name)

    def create_group(self, name: str) -> Group:
        check_length(name, "name", LIMITS["name"])
        with self._session() as session:
            existing = session.scalars(sa.select(HashMapGroup).where(
                HashMapGroup.name == name)).first()
            if existing is not None:
                raise exceptions.Conflict(
                    f"Group {name} already exists (UUID: "
                    f"{existing.group_id})")
            row = HashMapGroup(group_id=str(uuid.uuid4()), name=name)
            session.add(row)
            session.flush()
            return Group(row.group_id, row.name)

    def delete_group(self, group_id: str, recursive: bool = False) -> None:
        """Delete a group. Its rules are deleted with it when
        ``recursive`` (mappings included soft-deleted ones, for good);
        otherwise they stay, without a group."""
        with self._session() as session:
            row = self._group_row(session, group_id)
            for model in (HashMapMapping, HashMapThreshold):
                where = model.group_id == row.id
                if recursive:
                    session.execute(sa.delete(model).where(where))
                else:
                    session.execute(sa.update(model).where(where)
                                    .values(group_id=None))
            session.delete(row)
