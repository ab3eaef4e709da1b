"""Core tables: legacy states, rating module state, service mappings."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cloudkitty.db.models.base import Base


class State(Base):
    """A named integer state (legacy v1 storage bookkeeping)."""

    __tablename__ = "states"

    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    state: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    #: Kept for adopted databases; nothing reads it at run time.
    s_metadata: Mapped[str | None] = mapped_column(sa.Text)


class ModuleState(Base):
    """Whether a rating module is enabled, and its priority."""

    __tablename__ = "modules_state"

    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    state: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False)
    #: Upstream leaves this nullable; readers treat NULL and 0 as 1.
    priority: Mapped[int | None] = mapped_column(sa.Integer, default=1)


class ServiceToCollectorMapping(Base):
    """Which collector handles a service (v1 era; kept for adoption)."""

    __tablename__ = "service_to_collector_mappings"

    service: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    collector: Mapped[str] = mapped_column(sa.String(255), nullable=False)
