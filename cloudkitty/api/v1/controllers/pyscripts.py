"""/v1/rating/module_config/pyscripts: administrators' rating scripts.

Mounted by the module_config dispatcher, which checks the
``rating:module_config`` policy (admin only by default) for every route
below it: scripts run as trusted code in the processor, so only
administrators may store them.

Wire behaviour kept from OpenStack CloudKitty: ids in the path, the query
string or the JSON body; POST answers 201 with a ``Location``; PUT also
answers 201 with the script in the body (clients read it), but with a
correct ``Location`` (upstream doubled the id); DELETE is a soft delete.
"""
from __future__ import annotations

import datetime
from typing import Any

import pecan
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api.v1.datamodels import pyscripts as models
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.db import api as db_api
from cloudkitty.rating import lifecycle
from cloudkitty.rating.pyscripts import db

__all__ = ["PyScriptsConfigController", "ScriptsController"]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _engine() -> Any:
    return db_api.get_engine(pecan.request.conf)


def _user() -> str:
    return getattr(pecan.request.context, "user_id", None) or "unknown"


def _given(value: Any) -> Any:
    """None for an attribute the client did not send."""
    return None if value is wtypes.Unset else value


def _script_id(path_id: str | None, body: models.Script | None) -> str:
    script_id = _given(path_id) or (
        _given(body.script_id) if body is not None else None)
    if not script_id:
        raise exceptions.InvalidInput("Missing argument: script_id",
                                      field="script_id")
    return str(script_id)


def _set_location(script_id: str) -> None:
    """``Location: <collection URL>/<script_id>`` whatever the request
    path (with or without the id, with or without a trailing slash)."""
    url = pecan.request.path_url.rstrip("/")
    if url.rsplit("/", 1)[-1] == script_id:
        url = url.rsplit("/", 1)[0]
    pecan.response.location = f"{url}/{script_id}"


class ScriptsController(rest.RestController):
    """/v1/rating/module_config/pyscripts/scripts[/<script_id>]."""

    @wsexpose(models.ScriptCollection, models.Boolean(), models.Boolean(),
              wtypes.text, wtypes.text, wtypes.text, wtypes.text,
              wtypes.text, wtypes.text, models.Boolean())
    def get_all(self, no_data: bool = False, deleted: bool = False,
                start: str | None = None, end: str | None = None,
                updated_by: str | None = None,
                created_by: str | None = None,
                deleted_by: str | None = None,
                description: str | None = None,
                is_active: bool | None = None) -> models.ScriptCollection:
        """Scripts, oldest first; soft-deleted ones only if ``deleted``.

        ``start``: starting at or after; ``end``: ending before;
        ``description``: case-insensitive substring; ``is_active``: active
        now (true) or not (false); ``no_data``: without the source.
        """
        filters = db.ScriptFilters(
            deleted=bool(deleted),
            start=lifecycle.parse_time(start, "start"),
            end=lifecycle.parse_time(end, "end"),
            created_by=created_by or None, updated_by=updated_by or None,
            deleted_by=deleted_by or None, description=description or None,
            is_active=is_active)
        scripts = db.list_scripts(_engine(), filters, _now())
        return models.ScriptCollection(scripts=[
            models.Script.from_script(s, no_data=bool(no_data))
            for s in scripts])

    @wsexpose(models.Script, wtypes.text)
    def get_one(self, script_id: str) -> models.Script:
        """One script; 404 when unknown or deleted."""
        return models.Script.from_script(db.get_script(_engine(),
                                                       script_id))

    @wsexpose(models.Script, models.Boolean(), body=models.Script,
              status_code=201)
    def post(self, force: bool = False,
             script_data: models.Script | None = None) -> models.Script:
        """Create a script; ``force`` allows a ``start`` in the past."""
        if script_data is None:
            raise exceptions.InvalidInput("Missing argument: script_data",
                                          field="script_data")
        script = db.create_script(
            _engine(), name=script_data.name,
            data=_given(script_data.data) or "",
            start=lifecycle.parse_time(_given(script_data.start), "start"),
            end=lifecycle.parse_time(_given(script_data.end), "end",
                                     end_of_day=True),
            description=_given(script_data.description),
            created_by=_user(), now=_now(), force=bool(force))
        _set_location(script.script_id)
        return models.Script.from_script(script)

    @wsexpose(models.Script, wtypes.text, models.Boolean(),
              body=models.Script, status_code=201)
    def put(self, script_id: str | None = None, force: bool = False,
            script_data: models.Script | None = None) -> models.Script:
        """Update a script (201 with the script, as upstream).

        Once started, only ``end`` may be set, once, in the future; the
        other attributes may be sent back unchanged.
        """
        script_id = _script_id(script_id, script_data)
        if script_data is None:
            raise exceptions.InvalidInput("Missing argument: script_data",
                                          field="script_data")
        requested = {
            "name": _given(script_data.name),
            "data": _given(script_data.data),
            "start": lifecycle.parse_time(_given(script_data.start),
                                          "start"),
            "end": lifecycle.parse_time(_given(script_data.end), "end",
                                        end_of_day=True),
            "description": _given(script_data.description),
        }
        script = db.update_script(_engine(), script_id, requested,
                                  now=_now(), updated_by=_user(),
                                  force=bool(force))
        _set_location(script.script_id)
        return models.Script.from_script(script)

    @wsexpose(None, wtypes.text, status_code=204)
    def delete(self, script_id: str) -> None:
        """Soft-delete a script: it stops running at once."""
        db.delete_script(_engine(), script_id, now=_now(),
                         deleted_by=_user())


class PyScriptsConfigController(rest.RestController):
    """/v1/rating/module_config/pyscripts."""

    scripts = ScriptsController()
