"""Configuration store of the hashmap module: services, fields, groups,
mappings and thresholds, with the checks the configuration API applies.

Objects are handed out as frozen dataclasses whose parent references are
the public UUIDs (never the integer primary keys). Every method runs in its
own transaction. Errors are :mod:`cloudkitty.exceptions`: ``NotFound``
(404), ``InvalidInput`` naming the field (400), ``Conflict`` (409).

Messages repeat upstream's wording where clients may show them.
Times are naive UTC; ``now`` is always passed in by the caller.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

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
from cloudkitty.rating import lifecycle

__all__ = [
    "Field", "Group", "HashMapDB", "Mapping", "MappingFilters",
    "MappingUpdate", "NewMapping", "NewThreshold", "RuleFilters",
    "Service", "Threshold", "ThresholdUpdate", "MAP_TYPES",
]

MAP_TYPES = ("flat", "rate")

#: Column sizes of the upstream schema; longer input is refused (400)
#: rather than left to the database (500, or silent truncation).
_LIMITS = {"name": 255, "value": 255, "tenant_id": 255, "mapping_name": 32,
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

_Row = TypeVar("_Row", HashMapMapping, HashMapThreshold)
#: Primary key (None for "no parent") -> public id.
_Ids = dict[int | None, str]


def _check_length(value: str | None, field: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise exceptions.InvalidInput(
            f"Invalid value for field '{field}': at most {limit} "
            f"characters.", field=field)


def _check_type(map_type: str) -> None:
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


def _same(column: Any, value: Any) -> Any:
    """``column = value`` where NULL matches NULL."""
    return column.is_(None) if value is None else column == value


class HashMapDB:
    """The hashmap configuration in the database of ``engine``."""

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
    def _uuid_maps(session: Session) -> tuple[_Ids, _Ids, _Ids]:
        """Primary key -> public id of every service, field and group (a
        handful of rows: cheaper than joining three tables per rule)."""
        services: _Ids = dict(session.execute(
            sa.select(HashMapService.id, HashMapService.service_id)).all())
        fields: _Ids = dict(session.execute(
            sa.select(HashMapField.id, HashMapField.field_id)).all())
        groups: _Ids = dict(session.execute(
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
        _check_length(name, "name", _LIMITS["name"])
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
        _check_length(name, "name", _LIMITS["name"])
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
        _check_length(name, "name", _LIMITS["name"])
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

    # -- rules: shared -----------------------------------------------------

    def _filtered(self, session: Session, model: type[_Row],
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
            query = query.where(_same(model.tenant_id, filters.tenant_id))
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
            _same(M.value, value), _same(M.tenant_id, tenant_id),
            _same(M.service_id, service_pk), _same(M.field_id, field_pk),
            _same(M.group_id, group_pk), overlap)
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
        _check_type(new.map_type)
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
        _check_length(new.value, "value", _LIMITS["value"])
        _check_length(new.tenant_id, "tenant_id", _LIMITS["tenant_id"])
        _check_length(new.name, "name", _LIMITS["mapping_name"])
        _check_length(new.description, "description",
                      _LIMITS["description"])
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
            _check_type(update.map_type)
        cost = None if update.cost is None else cost_value(update.cost)
        _check_length(update.description, "description",
                      _LIMITS["description"])
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

    # -- thresholds --------------------------------------------------------

    def list_thresholds(self, filters: RuleFilters) -> list[Threshold]:
        with self._session() as session:
            query = self._filtered(session, HashMapThreshold, filters)
            if query is None:
                return []
            return self._thresholds_out(session,
                                        session.scalars(query).all())

    def group_thresholds(self, group_id: str) -> list[Threshold]:
        return self.list_thresholds(RuleFilters(group_id=group_id))

    def _threshold_row(self, session: Session, threshold_id: str
                       ) -> HashMapThreshold:
        row = session.scalars(sa.select(HashMapThreshold).where(
            HashMapThreshold.threshold_id == threshold_id)).first()
        if row is None:
            raise exceptions.NotFound(f"No such threshold: {threshold_id}")
        return row

    def get_threshold(self, threshold_id: str) -> Threshold:
        with self._session() as session:
            return self._thresholds_out(
                session, [self._threshold_row(session, threshold_id)])[0]

    def threshold_group(self, threshold_id: str) -> Group:
        with self._session() as session:
            row = self._threshold_row(session, threshold_id)
            if row.group_id is None:
                raise exceptions.NotFound(
                    f"Threshold has no group (UUID: {threshold_id})")
            group = session.get(HashMapGroup, row.group_id)
            assert group is not None
            return Group(group.group_id, group.name)

    @staticmethod
    def _check_threshold_conflict(session: Session, row: HashMapThreshold,
                                  exclude_pk: int | None = None) -> None:
        """409 when the parent already has a threshold at that level for
        the same tenant. Unlike the unique constraints, a NULL tenant counts
        too: two global thresholds at one level would make pricing depend
        on row order."""
        T = HashMapThreshold
        query = sa.select(T.threshold_id).where(
            T.level == row.level, _same(T.tenant_id, row.tenant_id),
            _same(T.service_id, row.service_id),
            _same(T.field_id, row.field_id))
        if exclude_pk is not None:
            query = query.where(T.id != exclude_pk)
        existing = session.execute(query.limit(1)).scalar()
        if existing is not None:
            kind = "service" if row.service_id is not None else "field"
            raise exceptions.Conflict(
                f"Threshold '{row.level}' already exists for {kind}, "
                f"tenant: '{row.tenant_id}' (UUID: {existing})")

    def create_threshold(self, new: NewThreshold) -> Threshold:
        _check_type(new.map_type)
        level = level_value(new.level)
        cost = cost_value(new.cost)
        _check_length(new.tenant_id, "tenant_id", _LIMITS["tenant_id"])
        with self._session() as session:
            service, field = self._parents(session, new.service_id,
                                           new.field_id)
            row = HashMapThreshold(
                threshold_id=str(uuid.uuid4()), level=level, cost=cost,
                map_type=new.map_type,
                service_id=service.id if service else None,
                field_id=field.id if field else None,
                group_id=self._group_pk(session, new.group_id),
                tenant_id=new.tenant_id)
            self._check_threshold_conflict(session, row)
            session.add(row)
            self._flush_unique(session, row)
            return self._thresholds_out(session, [row])[0]

    def update_threshold(self, threshold_id: str,
                         update: ThresholdUpdate) -> Threshold:
        """Change level, cost, type, group or tenant (no time window)."""
        if update.map_type is not None:
            _check_type(update.map_type)
        _check_length(update.tenant_id, "tenant_id", _LIMITS["tenant_id"])
        with self._session() as session:
            row = self._threshold_row(session, threshold_id)
            if update.level is not None:
                row.level = level_value(update.level)
            if update.cost is not None:
                row.cost = cost_value(update.cost)
            if update.map_type is not None:
                row.map_type = update.map_type
            if update.group_id:
                row.group_id = self._group_pk(session, update.group_id)
            elif update.clear_group:
                row.group_id = None
            if update.tenant_id:
                row.tenant_id = update.tenant_id
            elif update.clear_tenant:
                row.tenant_id = None
            with session.no_autoflush:
                self._check_threshold_conflict(session, row,
                                               exclude_pk=row.id)
            self._flush_unique(session, row)
            return self._thresholds_out(session, [row])[0]

    @staticmethod
    def _flush_unique(session: Session, row: HashMapThreshold) -> None:
        # The unique constraints still guard against a concurrent writer.
        try:
            session.flush()
        except sa_exc.IntegrityError:
            raise exceptions.Conflict(
                f"Threshold '{row.level}' already exists, tenant: "
                f"'{row.tenant_id}'") from None

    def delete_threshold(self, threshold_id: str) -> None:
        """Hard delete."""
        with self._session() as session:
            session.delete(self._threshold_row(session, threshold_id))
