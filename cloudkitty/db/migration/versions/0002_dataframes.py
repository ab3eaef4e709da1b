"""Rated data table of the ``sqlalchemy`` v2 storage backend.

Revision ID: 0002_dataframes
Revises: 0001_baseline
Create Date: 2026-11-27

Types are spelled out per dialect rather than imported from the model so
this revision never changes; they match
``cloudkitty.storage.v2.sqlalchemy.models.ExactDecimal``: unconstrained
NUMERIC on PostgreSQL, DECIMAL(65, 30) on MySQL/MariaDB, TEXT-affinity
VARCHAR on SQLite (exact values, summed by a Python aggregate).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0002_dataframes"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

_TABLE = "cloudkitty_dataframes"


def _money() -> sa.types.TypeEngine:
    return sa.Numeric(asdecimal=True).with_variant(
        sa.String(160), "sqlite").with_variant(
        mysql.DECIMAL(precision=65, scale=30), "mysql", "mariadb")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _datetime() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("begin", _datetime(), nullable=False),
        sa.Column("end", _datetime(), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("scope_id", sa.String(256)),
        sa.Column("unit", sa.String(255), nullable=False),
        sa.Column("qty", _money(), nullable=False),
        sa.Column("price", _money(), nullable=False),
        sa.Column("groupby", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("description", sa.Text),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.create_index("ix_cloudkitty_dataframes_scope_begin", _TABLE,
                    ["scope_id", "begin"])
    op.create_index("ix_cloudkitty_dataframes_begin_type", _TABLE,
                    ["begin", "type"])


def downgrade() -> None:
    op.drop_table(_TABLE)
