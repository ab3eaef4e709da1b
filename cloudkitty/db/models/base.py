"""Declarative base shared by every table of the single alembic tree."""
from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Base of all models. Table and constraint names are spelled out on
    each model, as upstream CloudKitty's databases must be adopted in place.
    """
