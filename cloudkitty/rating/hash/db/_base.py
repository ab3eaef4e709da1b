"""What every part of the hashmap store shares."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.db.models.hashmap import (
    HashMapField,
    HashMapGroup,
    HashMapMapping,
    HashMapService,
    HashMapThreshold,
)
from cloudkitty.rating.hash.db.records import (
    Ids,
    Mapping,
    Row,
    RuleFilters,
    Threshold,
    same,
)


class StoreBase:
    """Sessions, error translation and id lookups shared by the parts of
    the hashmap store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with db_api.session_scope(self.engine) as session:
                yield session
        except sa_exc.IntegrityError as exc:
            # The checks above run first; this is a concurrent writer.
            raise exceptions.Conflict(
                "The change conflicts with another object (it was "
                "probably changed at the same time); try again.") from exc
        except sa_exc.DataError as exc:
            raise exceptions.InvalidInput(
                "A value does not fit its database column.") from exc
        except sa_exc.OperationalError as exc:
            raise exceptions.DatabaseError() from exc

    # -- id translation ----------------------------------------------------

    @staticmethod
    def _uuid_maps(session: Session) -> tuple[Ids, Ids, Ids]:
        """Primary key -> public id of every service, field and group (a
        handful of rows: cheaper than joining three tables per rule)."""
        services: Ids = dict(session.execute(
            sa.select(HashMapService.id, HashMapService.service_id)).all())
        fields: Ids = dict(session.execute(
            sa.select(HashMapField.id, HashMapField.field_id)).all())
        groups: Ids = dict(session.execute(
            sa.select(HashMapGroup.id, HashMapGroup.group_id)).all())
        return services, fields, groups

    def _mappings_out(self, session: Session,
                      rows: Sequence[HashMapMapping]) -> list[Mapping]:
        if not rows:
            return []
        services, fields, groups = self._uuid_maps(session)
        return [Mapping(
            mapping_id=row.mapping_id, value=row.value,
            map_type=row.map_type, cost=row.cost,
            service_id=services.get(row.service_id),
            field_id=fields.get(row.field_id),
            group_id=groups.get(row.group_id),
            tenant_id=row.tenant_id, name=row.name,
            created_at=row.created_at, start=row.start, end=row.end,
            description=row.description, deleted=row.deleted,
            created_by=row.created_by, updated_by=row.updated_by,
            deleted_by=row.deleted_by) for row in rows]

    def _thresholds_out(self, session: Session,
                        rows: Sequence[HashMapThreshold]) -> list[Threshold]:
        if not rows:
            return []
        services, fields, groups = self._uuid_maps(session)
        return [Threshold(
            threshold_id=row.threshold_id, level=row.level,
            map_type=row.map_type, cost=row.cost,
            service_id=services.get(row.service_id),
            field_id=fields.get(row.field_id),
            group_id=groups.get(row.group_id),
            tenant_id=row.tenant_id) for row in rows]

    @staticmethod
    def _service_row(session: Session, service_id: str) -> HashMapService:
        row = session.scalars(sa.select(HashMapService).where(
            HashMapService.service_id == service_id)).first()
        if row is None:
            raise exceptions.NotFound(
                f"No such service: None (UUID: {service_id})")
        return row

    @staticmethod
    def _field_row(session: Session, field_id: str) -> HashMapField:
        row = session.scalars(sa.select(HashMapField).where(
            HashMapField.field_id == field_id)).first()
        if row is None:
            raise exceptions.NotFound(f"No such field: {field_id}")
        return row

    @staticmethod
    def _group_row(session: Session, group_id: str) -> HashMapGroup:
        row = session.scalars(sa.select(HashMapGroup).where(
            HashMapGroup.group_id == group_id)).first()
        if row is None:
            raise exceptions.NotFound(
                f"No such group: None (UUID: {group_id})")
        return row

    def _referenced(self, session: Session, kind: str, public_id: str
                    ) -> Any:
        """A parent named in a request body: unknown is a 400, not a 404."""
        lookup = {"service": self._service_row, "field": self._field_row,
                  "group": self._group_row}[kind]
        try:
            return lookup(session, public_id)
        except exceptions.NotFound as exc:
            raise exceptions.InvalidInput(exc.message,
                                          field=f"{kind}_id") from None

    # -- rules: shared -----------------------------------------------------

    def _filtered(self, session: Session, model: type[Row],
                  filters: RuleFilters) -> Any:
        """The listing query, or None when a parent filter names nothing."""
        query = sa.select(model).order_by(model.id)
        parents = (("service", filters.service_id, model.service_id),
                   ("field", filters.field_id, model.field_id),
                   ("group", filters.group_id, model.group_id))
        for kind, public_id, column in parents:
            if public_id is None:
                continue
            try:
                row: Any = {"service": self._service_row,
                            "field": self._field_row,
                            "group": self._group_row}[kind](session,
                                                            public_id)
            except exceptions.NotFound:
                return None
            query = query.where(column == row.id)
        if filters.no_group:
            query = query.where(model.group_id.is_(None))
        if filters.filter_tenant:
            query = query.where(same(model.tenant_id, filters.tenant_id))
        return query

    def _parents(self, session: Session, service_id: str | None,
                 field_id: str | None) -> tuple[Any, Any]:
        """The service or field row of a new rule (exactly one)."""
        if service_id and field_id:
            raise exceptions.InvalidInput(
                "You can only specify one parent.", field="service_id")
        if not service_id and not field_id:
            raise exceptions.InvalidInput(
                "You must specify one parent.", field="service_id")
        if service_id:
            return self._referenced(session, "service", service_id), None
        assert field_id is not None
        return None, self._referenced(session, "field", field_id)

    def _group_pk(self, session: Session, group_id: str | None
                  ) -> int | None:
        if not group_id:
            return None
        return int(self._referenced(session, "group", group_id).id)
