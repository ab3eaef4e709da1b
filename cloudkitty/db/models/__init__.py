"""SQLAlchemy models of every relational table, on one metadata."""
from cloudkitty.db.models.base import Base

__all__ = ["Base"]
