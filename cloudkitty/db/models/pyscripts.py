"""PyScripts rating module table."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cloudkitty.db.models._common import AuditMixin
from cloudkitty.db.models.base import Base


class PyScript(AuditMixin, Base):
    """An operator-written rating script.

    ``data`` holds the zlib-compressed UTF-8 source and ``checksum`` the
    SHA-512 hex digest of the uncompressed bytes, as upstream stores them.
    ``name`` is not unique in the database (upstream dropped that
    constraint so soft-deleted scripts can share a name).
    """

    __tablename__ = "pyscripts_scripts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    script_id: Mapped[str] = mapped_column(
        sa.String(36), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    checksum: Mapped[str] = mapped_column(sa.String(128), nullable=False)
