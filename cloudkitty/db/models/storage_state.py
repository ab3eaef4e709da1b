"""Scope state and reprocessing schedule tables (upstream names kept)."""
from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cloudkitty.db.models.base import Base


class ScopeState(Base):
    """Where rating of one scope stands, per (scope, scope_key, collector,
    fetcher). Timestamps are naive UTC."""

    __tablename__ = "cloudkitty_storage_states"
    __table_args__ = (
        sa.UniqueConstraint(
            "identifier", "scope_key", "collector", "fetcher",
            name="uq_cloudkitty_storage_states_identifier"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    scope_key: Mapped[str | None] = mapped_column(sa.String(40))
    fetcher: Mapped[str | None] = mapped_column(sa.String(40))
    collector: Mapped[str | None] = mapped_column(sa.String(40))
    #: Start of the last period rated for this scope.
    last_processed_timestamp: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, nullable=False)
    scope_activation_toggle_date: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, nullable=False, server_default=sa.func.now())
    active: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.true())


class ReprocessingSchedule(Base):
    """A window of one scope to rate again. Finished once
    ``current_reprocess_time`` is set and not before ``end_reprocess_time``.
    """

    __tablename__ = "storage_scope_reprocessing_schedule"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    start_reprocess_time: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, nullable=False)
    end_reprocess_time: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, nullable=False)
    current_reprocess_time: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False)
