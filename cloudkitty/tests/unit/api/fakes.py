"""Test-only controllers mounted at /v1/tests and /v2/tests, built with the
same helpers real resources use."""
from __future__ import annotations

import datetime
import decimal
from typing import Any

import pecan
import voluptuous as vol
import wsme.api
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.api.v2 import base, validation

RAISED: dict[str, Exception] = {
    "invalid": exceptions.InvalidInput("Bad value for 'size'.",
                                       field="size"),
    "missing": exceptions.NotFound("No such thing: missing"),
    "conflict": exceptions.Conflict("Thing already exists."),
    "storage": exceptions.StorageError(),
    "crash": RuntimeError("secret internal detail"),
}


class Thing(wtypes.Base):
    name = wtypes.text
    size = int
    cost = decimal.Decimal
    created = datetime.datetime


def _raise(kind: str) -> None:
    if kind in RAISED:
        raise RAISED[kind]
    if kind == "denied":
        policy.authorize(pecan.request.context, "info:get_config", {})


class V1Things(rest.RestController):
    """/v1/tests"""

    @wsexpose([Thing], int)
    def get_all(self, size: int = 0) -> list[Thing]:
        return [Thing(name="a", size=size, cost=decimal.Decimal("1.5"),
                      created=datetime.datetime(2024, 1, 2, 3, 4, 5))]

    @wsexpose(Thing, wtypes.text)
    def get_one(self, thing_id: str) -> Thing:
        _raise(thing_id)
        return Thing(name=thing_id)

    @wsexpose(Thing, body=Thing, status_code=201)
    def post(self, thing: Thing) -> Thing:
        return thing

    @wsexpose(None, wtypes.text, status_code=204)
    def delete(self, thing_id: str) -> None:
        _raise(thing_id)

    @wsexpose(Thing, wtypes.text, wtypes.text)
    def put(self, thing_id: str, name: str) -> Any:
        return wsme.api.Response(Thing(name=name), status_code=202)


class V2Things(base.Resource):
    """/v2/tests"""

    @base.expose(query={
        vol.Optional("one"): validation.SingleQueryParam(int),
        vol.Optional("many"): validation.MultiQueryParam(str),
        vol.Optional("filters"): validation.SingleDictQueryParam(str, str),
        vol.Optional("groups"): validation.MultiDictQueryParam(str, str),
        **validation.PAGINATION,
    })
    def get_all(self, **params: Any) -> dict[str, Any]:
        return {"params": params, "price": decimal.Decimal("2.25"),
                "at": datetime.datetime(2024, 1, 2, 3, 4, 5,
                                        tzinfo=datetime.timezone.utc)}

    @base.expose()
    def get_one(self, thing_id: str) -> dict[str, Any]:
        _raise(thing_id)
        return {"thing_id": thing_id}

    @base.expose(body={vol.Required("name"): str,
                       vol.Optional("size", default=0): int}, status=201)
    def post(self, *, name: str, size: int) -> dict[str, Any]:
        return {"name": name, "size": size}

    @base.expose(status=204)
    def delete(self, thing_id: str) -> None:
        _raise(thing_id)
