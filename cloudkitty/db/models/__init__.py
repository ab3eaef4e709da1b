"""SQLAlchemy models of every relational table, on one metadata.

Importing this package registers the core, rating module and scope state
tables on :data:`Base.metadata`. :func:`load_all` also imports model
modules that live elsewhere (the v2 ``sqlalchemy`` storage backend), so
migrations and schema checks see the complete schema.
"""
from __future__ import annotations

import importlib

import sqlalchemy as sa

from cloudkitty.db.models import core, hashmap, pyscripts, storage_state
from cloudkitty.db.models.base import Base

#: Model modules outside this package, imported when installed.
EXTRA_MODEL_MODULES = ("cloudkitty.storage.v2.sqlalchemy.models",)


def load_all() -> sa.MetaData:
    """Import every model module and return the complete metadata."""
    for name in EXTRA_MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only a missing module is optional; an import error inside an
            # existing one must surface.
            if exc.name is None or not name.startswith(exc.name):
                raise
    return Base.metadata


__all__ = ["Base", "core", "hashmap", "load_all", "pyscripts",
           "storage_state"]
