"""What every hashmap configuration controller needs from the request."""
from __future__ import annotations

import datetime
from typing import Any

import pecan
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.rating.hash import db

__all__ = ["created", "given", "mandatory", "now", "store", "updated",
           "user"]


def store() -> db.HashMapDB:
    """The hashmap configuration in the service's database."""
    return db.HashMapDB(db_api.get_engine(pecan.request.conf))


def now() -> datetime.datetime:
    """Naive UTC, to the second: every database stores it unchanged, so
    what a create answers equals what a later read returns."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None,
                                                       microsecond=0)


def user() -> str | None:
    """The caller to record in the audit columns (None: "unknown")."""
    context = getattr(pecan.request, "context", None)
    return getattr(context, "user_id", None)


def given(value: Any) -> Any:
    """``value``, or None when the client did not send it."""
    return None if value is wtypes.Unset else value


def mandatory(value: Any, field: str) -> Any:
    """``value``; a missing or null mandatory attribute is a 400."""
    if value is None or value is wtypes.Unset:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute {field}. Value: 'None'. "
            f"Mandatory field missing.", field=field)
    return value


def created(object_id: str) -> None:
    """201 with ``Location: <collection URL>/<id>``."""
    location = pecan.request.path_url
    if not location.endswith("/"):
        location += "/"
    pecan.response.location = location + object_id


def updated() -> None:
    """302 to the request's own path, as upstream's PUTs answer."""
    pecan.response.headers["Location"] = pecan.request.path


def same_id(path_id: str | None, body_id: Any, field: str) -> str:
    """The id of the object a PUT updates: from the path, else the body."""
    body_id = given(body_id)
    if path_id and body_id and path_id != body_id:
        raise exceptions.InvalidInput(
            f"'{field}' of the body ({body_id}) differs from the one of "
            f"the URL ({path_id}).", field=field)
    object_id = path_id or body_id
    if not object_id:
        raise exceptions.InvalidInput(f'Missing argument: "{field}"',
                                      field=field)
    return str(object_id)
