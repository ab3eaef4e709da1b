"""Storage of rating scripts (table ``pyscripts_scripts``).

The table keeps upstream's layout so an existing database is used in
place: ``data`` is the zlib-compressed UTF-8 source and ``checksum`` the
SHA-512 hex digest of the uncompressed bytes. This module hides both:
callers see and give source text.

Every function takes the engine and, where the answer depends on the
clock, ``now`` (naive UTC), so the API, the processor and the tests
choose the time. Validity-window rules come from
:mod:`cloudkitty.rating.lifecycle`.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import uuid
import zlib
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.db.models.pyscripts import PyScript
from cloudkitty.rating import lifecycle
from cloudkitty.rating.pyscripts import runner

__all__ = ["Script", "ScriptFilters", "active_scripts", "checksum_of",
           "compress_source", "create_script", "decompress_source",
           "delete_script", "get_script", "list_scripts", "update_script"]

#: Width of the audit user columns (``created_by``...).
_USER_WIDTH = 32
_NAME_WIDTH = 255
_ID_WIDTH = 36


def compress_source(source: str) -> bytes:
    """The stored form of a script's source."""
    return zlib.compress(source.encode("utf-8"))


def decompress_source(blob: bytes) -> str:
    """The source text of a stored ``data`` value."""
    return zlib.decompress(blob).decode("utf-8")


def checksum_of(source: str) -> str:
    """SHA-512 hex digest of the UTF-8 source, as upstream computes it."""
    return hashlib.sha512(source.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Script:
    """A stored script, source decompressed; times are naive UTC."""

    script_id: str
    name: str
    data: str
    checksum: str
    created_at: datetime.datetime
    start: datetime.datetime
    end: datetime.datetime | None
    description: str | None
    deleted: datetime.datetime | None
    created_by: str
    updated_by: str | None
    deleted_by: str | None

    @classmethod
    def from_row(cls, row: PyScript) -> Script:
        return cls(script_id=row.script_id, name=row.name,
                   data=decompress_source(row.data), checksum=row.checksum,
                   created_at=row.created_at, start=row.start, end=row.end,
                   description=row.description, deleted=row.deleted,
                   created_by=row.created_by, updated_by=row.updated_by,
                   deleted_by=row.deleted_by)


@dataclasses.dataclass(frozen=True)
class ScriptFilters:
    """Listing filters of ``GET /scripts``; None = not filtered.

    ``start``: scripts starting at or after it; ``end``: scripts whose
    end is before it; ``description``: case-insensitive substring;
    ``is_active``: True for the scripts active at ``now``, False for the
    others; ``deleted``: include soft-deleted scripts.
    """

    deleted: bool = False
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None
    deleted_by: str | None = None
    description: str | None = None
    is_active: bool | None = None


def _user(user: str | None) -> str:
    # The columns are 32 characters wide (a Keystone user id); a longer id
    # from another identity backend is cut rather than refused.
    return (user or "unknown")[:_USER_WIDTH]


def _check_text(value: str | None, field: str) -> None:
    # PostgreSQL refuses NUL characters in text; refuse them everywhere so
    # the answer does not depend on the database.
    if value is not None and "\x00" in value:
        raise exceptions.InvalidInput(
            f"Invalid value for field '{field}': NUL characters are not "
            f"allowed.", field=field)


def _not_found(script_id: str) -> exceptions.NotFound:
    return exceptions.NotFound(f"No such script: None (UUID: {script_id})")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise exceptions.InvalidInput(
            "Invalid value for field 'name': a script needs a name.",
            field="name")
    if len(name) > _NAME_WIDTH:
        raise exceptions.InvalidInput(
            f"Invalid value for field 'name': at most {_NAME_WIDTH} "
            f"characters.", field="name")
    _check_text(name, "name")


def _check_source(source: str) -> None:
    """Refuse source that cannot even be compiled: better a 400 now than
    every scope-period failing later."""
    try:
        compile(source, "<pyscript>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise exceptions.InvalidInput(
            f"Invalid value for field 'data': the script does not compile: "
            f"{runner.syntax_problem(exc)}", field="data") from None


def _alive(session: Session, script_id: str, *,
           lock: bool = False) -> PyScript:
    if "\x00" in script_id or len(script_id) > _ID_WIDTH:
        # Cannot be stored, so cannot exist (and PostgreSQL would refuse
        # the query).
        raise _not_found(script_id)
    query = sa.select(PyScript).where(PyScript.script_id == script_id,
                                      PyScript.deleted.is_(None))
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise _not_found(script_id)
    return row


def _check_name_free(session: Session, name: str,
                     script_id: str | None = None) -> None:
    """409 when a script that is not deleted already has ``name``."""
    query = sa.select(PyScript).where(PyScript.name == name,
                                      PyScript.deleted.is_(None))
    if script_id is not None:
        query = query.where(PyScript.script_id != script_id)
    other = session.scalars(query.limit(1)).first()
    if other is not None:
        raise exceptions.Conflict(
            f"Script {name} already exists (UUID: {other.script_id})")


def get_script(engine: sa.Engine, script_id: str) -> Script:
    """The script ``script_id``; NotFound when unknown or deleted."""
    with db_api.session_scope(engine) as session:
        return Script.from_row(_alive(session, script_id))


def _active_clause(at: datetime.datetime) -> sa.ColumnElement[bool]:
    # lifecycle.is_active, in SQL.
    return sa.and_(PyScript.deleted.is_(None), PyScript.start <= at,
                   sa.or_(PyScript.end.is_(None), PyScript.end > at))


def list_scripts(engine: sa.Engine, filters: ScriptFilters,
                 now: datetime.datetime) -> list[Script]:
    """Scripts matching ``filters``, oldest first."""
    for field in ("created_by", "updated_by", "deleted_by", "description"):
        _check_text(getattr(filters, field), field)
    query = sa.select(PyScript)
    if not filters.deleted:
        query = query.where(PyScript.deleted.is_(None))
    if filters.start is not None:
        query = query.where(PyScript.start >= filters.start)
    if filters.end is not None:
        query = query.where(PyScript.end < filters.end)
    for column, value in ((PyScript.created_by, filters.created_by),
                          (PyScript.updated_by, filters.updated_by),
                          (PyScript.deleted_by, filters.deleted_by)):
        if value is not None:
            query = query.where(column == value)
    if filters.description is not None:
        query = query.where(sa.func.lower(PyScript.description).contains(
            filters.description.lower(), autoescape=True))
    if filters.is_active is True:
        query = query.where(_active_clause(now))
    elif filters.is_active is False:
        query = query.where(sa.not_(_active_clause(now)))
    query = query.order_by(PyScript.created_at, PyScript.id)
    with db_api.session_scope(engine) as session:
        return [Script.from_row(row) for row in session.scalars(query)]


def active_scripts(engine: sa.Engine,
                   at: datetime.datetime) -> list[Script]:
    """Scripts active at ``at`` (naive UTC), in the order they run:
    by creation time, then by insertion order."""
    query = (sa.select(PyScript).where(_active_clause(at))
             .order_by(PyScript.created_at, PyScript.id))
    with db_api.session_scope(engine) as session:
        return [Script.from_row(row) for row in session.scalars(query)]


def create_script(engine: sa.Engine, *, name: str, data: str,
                  now: datetime.datetime,
                  start: datetime.datetime | None = None,
                  end: datetime.datetime | None = None,
                  description: str | None = None,
                  created_by: str | None = None,
                  force: bool = False) -> Script:
    """Store a new script.

    ``start`` defaults to ``now``; a ``start`` in the past needs
    ``force``. InvalidInput for a bad name, window or source; Conflict
    when a script that is not deleted has the same name.
    """
    _check_name(name)
    _check_source(data)
    _check_text(description, "description")
    window = lifecycle.validate_new_window(start, end, now, force=force)
    row = PyScript(script_id=str(uuid.uuid4()), name=name,
                   data=compress_source(data), checksum=checksum_of(data),
                   created_at=now, start=window.start, end=window.end,
                   description=description, created_by=_user(created_by))
    with db_api.session_scope(engine) as session:
        _check_name_free(session, name)
        session.add(row)
        session.flush()
        # Read back what the database kept (MariaDB drops microseconds).
        session.refresh(row)
        return Script.from_row(row)


#: What a client may send back unchanged for a script that has started.
_COMPARED_ONCE_STARTED = ("name", "data", "start", "description")


def update_script(engine: sa.Engine, script_id: str,
                  requested: Mapping[str, Any], *, now: datetime.datetime,
                  updated_by: str | None = None,
                  force: bool = False) -> Script:
    """Apply a client's update of ``name``, ``data``, ``start``, ``end``,
    ``description`` (None or missing = not given).

    A script that has started may only get an ``end``, once, in the
    future (see :func:`lifecycle.plan_update`); before it starts, every
    one of them may change. The checksum follows the source.
    """
    name = requested.get("name")
    data = requested.get("data")
    if name is not None:
        _check_name(name)
    if data is not None:
        _check_source(data)
    _check_text(requested.get("description"), "description")
    with db_api.session_scope(engine) as session:
        row = _alive(session, script_id, lock=True)
        current = {"start": row.start, "end": row.end, "name": row.name,
                   "data": decompress_source(row.data),
                   "description": row.description}
        changes = lifecycle.plan_update(
            current, requested, now, compared=_COMPARED_ONCE_STARTED,
            force=force)
        if not lifecycle.has_started(row.start, now):
            # Before it starts a script is not yet a rating rule anyone
            # relied on: its name and source may change too.
            if name is not None and name != row.name:
                changes["name"] = name
            if data is not None:
                changes["data"] = data
        if "name" in changes:
            _check_name_free(session, changes["name"], script_id)
        if "data" in changes:
            source = changes.pop("data")
            row.data = compress_source(source)
            row.checksum = checksum_of(source)
        for attribute, value in changes.items():
            setattr(row, attribute, value)
        row.updated_by = _user(updated_by)
        session.flush()
        session.refresh(row)
        return Script.from_row(row)


def delete_script(engine: sa.Engine, script_id: str, *,
                  now: datetime.datetime,
                  deleted_by: str | None = None) -> None:
    """Soft-delete: the row stays, marked ``deleted`` at ``now``."""
    with db_api.session_scope(engine) as session:
        row = _alive(session, script_id, lock=True)
        row.deleted = now
        row.deleted_by = _user(deleted_by)
