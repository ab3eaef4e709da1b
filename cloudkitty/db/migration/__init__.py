"""The one alembic tree of the relational schema.

Alembic is configured in code (no ``alembic.ini``): callers hand over an
engine, and the revision history lives in ``versions/``. Our version table
is ``ck_alembic_version``, distinct from upstream CloudKitty's per-branch
tables, so an upstream database is recognisable before we adopt it (see
``versions/0001_baseline.py``).
"""
from __future__ import annotations

import pathlib
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from cloudkitty.db import models
from cloudkitty.db.migration import _upstream

#: Version table of our tree; upstream's are listed in ``_upstream``.
VERSION_TABLE = "ck_alembic_version"

_SCRIPT_LOCATION = str(pathlib.Path(__file__).resolve().parent)


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this release knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the tree is never empty
    return head


def _revision(connection: sa.Connection) -> str | None:
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None if we never migrated it."""
    with engine.connect() as connection:
        return _revision(connection)


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision``; a no-op when already there.

    An upstream CloudKitty 25.0 database is adopted in place by the first
    revision. Raises :class:`cloudkitty.exceptions.DatabaseError` when the
    database cannot be adopted.
    """
    with engine.begin() as connection:
        if _revision(connection) is None:
            # Refuse an upstream database we cannot adopt before alembic
            # writes anything (MySQL would keep a half-made version table).
            _upstream.found_revisions(connection)
        command.upgrade(_config(connection), revision)


def stamp(engine: sa.Engine, revision: str) -> None:
    """Record ``revision`` as current without running any migration."""
    with engine.begin() as connection:
        command.stamp(_config(connection), revision)


def include_name(name: str | None, type_: Any, parent_names: Any) -> bool:
    """Autogenerate filter: only our tables count. Upstream's version
    tables and anything else found in the database are left alone."""
    if type_ == "table":
        return name in models.load_all().tables
    return True


#: Spellings of the same server default across dialects.
_DEFAULT_SYNONYMS = {
    "now()": "now", "current_timestamp": "now",
    "current_timestamp()": "now", "1": "true", "0": "false",
}


def _normal_default(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip().lower()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = text.strip("'")
    return _DEFAULT_SYNONYMS.get(text, text)


def _compare_server_default(context: Any, inspected_column: Any,
                            metadata_column: Any,
                            inspected_default: str | None,
                            metadata_default: Any,
                            rendered_metadata_default: str | None) -> bool:
    """True when the defaults differ in meaning, not only in spelling
    (MariaDB reports ``current_timestamp()`` for ``now()``, ``1`` for
    ``true``)."""
    return (_normal_default(inspected_default)
            != _normal_default(rendered_metadata_default))


def schema_differences(engine: sa.Engine) -> list[Any]:
    """What the database lacks or has extra compared with the models, as
    alembic autogenerate operations; empty when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            "compare_server_default": _compare_server_default,
            "include_name": include_name,
        })
        return list(compare_metadata(context, models.load_all()))


__all__ = ["VERSION_TABLE", "current_revision", "head_revision",
           "schema_differences", "stamp", "upgrade"]
