"""HashMap rating module tables (upstream names and constraints)."""
from __future__ import annotations

import decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cloudkitty.db.models._common import AuditMixin, FixedDecimal
from cloudkitty.db.models.base import Base

#: One PostgreSQL enum type serves mappings and thresholds: upstream's
#: migrations created both columns with ``enum_map_type`` (its ORM names
#: the thresholds one ``enum_hashmap_type``, a type no migration creates).
MAP_TYPE = sa.Enum("flat", "rate", name="enum_map_type",
                   create_constraint=True)

COST = FixedDecimal(40, 28)
LEVEL = FixedDecimal(20, 8)


def _fk(target: str, ondelete: str, name: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=ondelete, name=name)


class HashMapService(Base):
    """A rated service; its name is the metric's alt_name."""

    __tablename__ = "hashmap_services"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        sa.String(36), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(
        sa.String(255), nullable=False, unique=True)


class HashMapField(Base):
    """A metadata field of a service whose value selects mappings."""

    __tablename__ = "hashmap_fields"
    __table_args__ = (
        sa.UniqueConstraint("service_id", "name",
                            name="uniq_field_per_service"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    field_id: Mapped[str] = mapped_column(
        sa.String(36), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    service_id: Mapped[int] = mapped_column(
        sa.Integer,
        _fk("hashmap_services.id", "CASCADE",
            "fk_hashmap_fields_service_id_hashmap_services"),
        nullable=False)


class HashMapGroup(Base):
    """Rules of one group are combined; groups are summed."""

    __tablename__ = "hashmap_groups"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    group_id: Mapped[str] = mapped_column(
        sa.String(36), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(
        sa.String(255), nullable=False, unique=True)


class HashMapMapping(AuditMixin, Base):
    """A flat or rate price for a service or a field value.

    No unique constraint on (value, parent, tenant): upstream's last
    migration dropped them because soft-deleted rows may repeat a key;
    the API checks conflicts among live rows instead.
    """

    __tablename__ = "hashmap_mappings"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    mapping_id: Mapped[str] = mapped_column(
        sa.String(36), nullable=False, unique=True)
    value: Mapped[str | None] = mapped_column(sa.String(255))
    cost: Mapped[decimal.Decimal] = mapped_column(COST, nullable=False)
    map_type: Mapped[str] = mapped_column(MAP_TYPE, nullable=False)
    service_id: Mapped[int | None] = mapped_column(
        sa.Integer,
        _fk("hashmap_services.id", "CASCADE",
            "fk_hashmap_mappings_service_id_hashmap_services"))
    field_id: Mapped[int | None] = mapped_column(
        sa.Integer,
        _fk("hashmap_fields.id", "CASCADE",
            "fk_hashmap_mappings_field_id_hashmap_fields"))
    group_id: Mapped[int | None] = mapped_column(
        sa.Integer,
        _fk("hashmap_groups.id", "SET NULL",
            "fk_hashmap_mappings_group_id_hashmap_groups"))
    tenant_id: Mapped[str | None] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(32), nullable=False)


class HashMapThreshold(Base):
    """A price that applies once a quantity level is reached."""

    __tablename__ = "hashmap_thresholds"
    __table_args__ = (
        # NULL tenant_id never collides, so global duplicates are possible,
        # as upstream.
        sa.UniqueConstraint("level", "field_id", "tenant_id",
                            name="uniq_field_threshold"),
        sa.UniqueConstraint("level", "service_id", "tenant_id",
                            name="uniq_service_threshold"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    threshold_id: Mapped[str] = mapped_column(
        sa.String(36), nullable=False, unique=True)
    level: Mapped[decimal.Decimal | None] = mapped_column(LEVEL)
    cost: Mapped[decimal.Decimal] = mapped_column(COST, nullable=False)
    map_type: Mapped[str] = mapped_column(MAP_TYPE, nullable=False)
    service_id: Mapped[int | None] = mapped_column(
        sa.Integer,
        _fk("hashmap_services.id", "CASCADE",
            "fk_hashmap_thresholds_service_id_hashmap_services"))
    field_id: Mapped[int | None] = mapped_column(
        sa.Integer,
        _fk("hashmap_fields.id", "CASCADE",
            "fk_hashmap_thresholds_field_id_hashmap_fields"))
    group_id: Mapped[int | None] = mapped_column(
        sa.Integer,
        _fk("hashmap_groups.id", "SET NULL",
            "fk_hashmap_thresholds_group_id_hashmap_groups"))
    tenant_id: Mapped[str | None] = mapped_column(sa.String(255))
