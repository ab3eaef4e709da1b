"""Baseline: every relational table, or adoption of an upstream database.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-27

On an empty database this creates the core, hashmap, pyscripts and scope
state tables. On a database made by upstream CloudKitty 25.0 it keeps
every row, creates the tables upstream never created and fixes the
differences (see ``cloudkitty.db.migration._upstream``). Table
definitions are frozen here on purpose: later model changes need a new
revision.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cloudkitty.db.migration import _upstream

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

_MAP_TYPE_VALUES = ("flat", "rate")


def _map_type() -> sa.types.TypeEngine:
    # The PostgreSQL type is created once, up front, for both tables.
    return sa.Enum(*_MAP_TYPE_VALUES, name="enum_map_type",
                   create_constraint=True).with_variant(
        postgresql.ENUM(*_MAP_TYPE_VALUES, name="enum_map_type",
                        create_type=False), "postgresql")


def _exact(precision: int, scale: int) -> sa.types.TypeEngine:
    # SQLite has no exact decimal: fixed-point text there (see
    # cloudkitty.db.models._common.FixedDecimal).
    return sa.Numeric(precision, scale).with_variant(
        sa.String(precision + 2), "sqlite")


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False,
                  server_default=sa.func.now()),
        sa.Column("start", sa.DateTime, nullable=False,
                  server_default=sa.func.now()),
        sa.Column("end", sa.DateTime),
        sa.Column("description", sa.Text),
        sa.Column("deleted", sa.DateTime),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(32)),
        sa.Column("deleted_by", sa.String(32)),
    ]


def _parent_columns(table: str) -> list[sa.Column]:
    """service_id / field_id / group_id of mappings and thresholds."""
    return [
        sa.Column("service_id", sa.Integer, sa.ForeignKey(
            "hashmap_services.id", ondelete="CASCADE",
            name=f"fk_{table}_service_id_hashmap_services")),
        sa.Column("field_id", sa.Integer, sa.ForeignKey(
            "hashmap_fields.id", ondelete="CASCADE",
            name=f"fk_{table}_field_id_hashmap_fields")),
        sa.Column("group_id", sa.Integer, sa.ForeignKey(
            "hashmap_groups.id", ondelete="SET NULL",
            name=f"fk_{table}_group_id_hashmap_groups")),
        sa.Column("tenant_id", sa.String(255)),
    ]


def _states() -> None:
    op.create_table(
        "states",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("state", sa.BigInteger, nullable=False),
        sa.Column("s_metadata", sa.Text))


def _modules_state() -> None:
    op.create_table(
        "modules_state",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("state", sa.Boolean, nullable=False),
        sa.Column("priority", sa.Integer))


def _service_to_collector_mappings() -> None:
    op.create_table(
        "service_to_collector_mappings",
        sa.Column("service", sa.String(255), primary_key=True),
        sa.Column("collector", sa.String(255), nullable=False))


def _hashmap_services() -> None:
    op.create_table(
        "hashmap_services",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.UniqueConstraint("service_id",
                            name="uq_hashmap_services_service_id"),
        sa.UniqueConstraint("name", name="uq_hashmap_services_name"))


def _hashmap_fields() -> None:
    op.create_table(
        "hashmap_fields",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("field_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("service_id", sa.Integer, sa.ForeignKey(
            "hashmap_services.id", ondelete="CASCADE",
            name="fk_hashmap_fields_service_id_hashmap_services"),
            nullable=False),
        sa.UniqueConstraint("field_id", name="uq_hashmap_fields_field_id"),
        sa.UniqueConstraint("service_id", "name",
                            name="uniq_field_per_service"))


def _hashmap_groups() -> None:
    op.create_table(
        "hashmap_groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.UniqueConstraint("group_id", name="uq_hashmap_groups_group_id"),
        sa.UniqueConstraint("name", name="uq_hashmap_groups_name"))


def _hashmap_mappings() -> None:
    op.create_table(
        "hashmap_mappings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mapping_id", sa.String(36), nullable=False),
        sa.Column("value", sa.String(255)),
        sa.Column("cost", _exact(40, 28), nullable=False),
        sa.Column("map_type", _map_type(), nullable=False),
        *_parent_columns("hashmap_mappings"),
        sa.Column("name", sa.String(32), nullable=False),
        *_audit_columns(),
        sa.UniqueConstraint("mapping_id",
                            name="uq_hashmap_mappings_mapping_id"))


def _hashmap_thresholds() -> None:
    op.create_table(
        "hashmap_thresholds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("threshold_id", sa.String(36), nullable=False),
        sa.Column("level", _exact(20, 8)),
        sa.Column("cost", _exact(40, 28), nullable=False),
        sa.Column("map_type", _map_type(), nullable=False),
        *_parent_columns("hashmap_thresholds"),
        sa.UniqueConstraint("threshold_id",
                            name="uq_hashmap_thresholds_threshold_id"),
        sa.UniqueConstraint("level", "field_id", "tenant_id",
                            name="uniq_field_threshold"),
        sa.UniqueConstraint("level", "service_id", "tenant_id",
                            name="uniq_service_threshold"))


def _pyscripts_scripts() -> None:
    op.create_table(
        "pyscripts_scripts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("script_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("checksum", sa.String(128), nullable=False),
        *_audit_columns(),
        sa.UniqueConstraint("script_id",
                            name="uq_pyscripts_scripts_script_id"))


def _cloudkitty_storage_states() -> None:
    op.create_table(
        "cloudkitty_storage_states",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("identifier", sa.String(256), nullable=False),
        sa.Column("scope_key", sa.String(40)),
        sa.Column("fetcher", sa.String(40)),
        sa.Column("collector", sa.String(40)),
        sa.Column("last_processed_timestamp", sa.DateTime, nullable=False),
        sa.Column("scope_activation_toggle_date", sa.DateTime,
                  nullable=False, server_default=sa.func.now()),
        sa.Column("active", sa.Boolean, nullable=False,
                  server_default=sa.true()),
        sa.UniqueConstraint("identifier", "scope_key", "collector",
                            "fetcher",
                            name="uq_cloudkitty_storage_states_identifier"))


def _storage_scope_reprocessing_schedule() -> None:
    op.create_table(
        "storage_scope_reprocessing_schedule",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("identifier", sa.String(256), nullable=False),
        sa.Column("start_reprocess_time", sa.DateTime, nullable=False),
        sa.Column("end_reprocess_time", sa.DateTime, nullable=False),
        sa.Column("current_reprocess_time", sa.DateTime),
        sa.Column("reason", sa.Text, nullable=False))


#: In creation order (parents before children).
_CREATORS: dict[str, Callable[[], None]] = {
    "states": _states,
    "modules_state": _modules_state,
    "service_to_collector_mappings": _service_to_collector_mappings,
    "hashmap_services": _hashmap_services,
    "hashmap_fields": _hashmap_fields,
    "hashmap_groups": _hashmap_groups,
    "hashmap_mappings": _hashmap_mappings,
    "hashmap_thresholds": _hashmap_thresholds,
    "pyscripts_scripts": _pyscripts_scripts,
    "cloudkitty_storage_states": _cloudkitty_storage_states,
    "storage_scope_reprocessing_schedule":
        _storage_scope_reprocessing_schedule,
}


def upgrade() -> None:
    bind = op.get_bind()
    found = _upstream.found_revisions(bind)
    existing = set(sa.inspect(bind).get_table_names())
    if bind.dialect.name == "postgresql":
        postgresql.ENUM(*_MAP_TYPE_VALUES, name="enum_map_type").create(
            bind, checkfirst=True)
    for table, create in _CREATORS.items():
        if table not in existing:
            create()
    _upstream.adopt(found)
