"""Base of the v2 controllers: plain JSON in and out, voluptuous input.

A v2 resource is a :class:`Resource` (a ``pecan.rest.RestController``)
whose methods are decorated with :func:`expose`. Path segments arrive as
positional parameters; validated query and body values arrive as
keyword-only parameters::

    class ModuleResource(base.Resource):

        @base.expose(query={**validation.PAGINATION})
        def get_all(self, *, offset: int, limit: int) -> dict:
            ...

        @base.expose(body={vol.Optional("enabled"): bool}, status=204)
        def put(self, module_id: str, *, enabled: bool | None = None) -> None:
            ...

RestController maps ``GET /x`` to ``get_all``, ``GET /x/<id>`` to
``get_one``, and ``POST``/``PUT``/``PATCH``/``DELETE`` to the method of that
name. Invalid input raises :class:`cloudkitty.exceptions.InvalidInput`,
answered with 400 ``{"message": ...}`` naming the field.
"""
from __future__ import annotations

import datetime
import decimal
import functools
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pecan
import pecan.util
import voluptuous as vol
from pecan import rest

from cloudkitty import exceptions

__all__ = ["Resource", "expose", "to_json"]

F = TypeVar("F", bound=Callable[..., Any])


class Resource(rest.RestController):
    """A v2 resource; see the module documentation."""


def _json_default(value: Any) -> Any:
    # v2 renders money as JSON numbers (upstream's encoder does the same).
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(document: Any) -> str:
    """``document`` as v2 JSON: Decimal as a number, dates in ISO 8601."""
    return json.dumps(document, default=_json_default)


def _query_args(request: Any) -> dict[str, list[str]]:
    params = request.GET
    return {name: params.getall(name) for name in dict.fromkeys(params)}


def _body_args(request: Any) -> Any:
    if not request.body:
        return {}
    try:
        return json.loads(request.body)
    except ValueError:
        raise exceptions.InvalidInput("The request body is not valid JSON.",
                                      field="body") from None


#: How much of the invalid input an error message quotes.
_SHOWN_INPUT = 300


def _validate(schema: vol.Schema, args: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = schema(args)
    except vol.Invalid as exc:
        path = [str(p) for p in exc.path]
        shown = str(args)
        if len(shown) > _SHOWN_INPUT:
            # Upstream's message quotes the input; keep it readable.
            shown = shown[:_SHOWN_INPUT] + "..."
        raise exceptions.InvalidInput(
            f"Invalid data '{shown}' : {exc.msg} (path: '{path}')",
            field=".".join(path) or None) from None
    return result


#: Controller methods answering on a resource's own path, by HTTP method.
_COLLECTION_METHODS = {"get_all": "GET", "post": "POST", "put": "PUT",
                       "patch": "PATCH", "delete": "DELETE"}


def _required_positional(spec: inspect.FullArgSpec) -> int:
    """Path segments a method needs (its positional parameters but
    ``self``, without a default)."""
    return len(spec.args) - 1 - len(spec.defaults or ())


def _not_on_collection(resource: Any) -> None:
    """405 for a method that needs an id in the path but got none (Pecan
    would call it without the argument)."""
    allowed = []
    for name, verb in _COLLECTION_METHODS.items():
        method = getattr(resource, name, None)
        if getattr(method, "exposed", False) and _required_positional(
                pecan.util._cfg(method)["argspec"]) == 0:
            allowed.append(verb)
    pecan.abort(405, headers={"Allow": ", ".join(allowed)})


def expose(*, query: Mapping[Any, Any] | None = None,
           body: Mapping[Any, Any] | None = None,
           status: int = 200) -> Callable[[F], F]:
    """Expose a v2 controller method.

    ``query`` and ``body`` are voluptuous schema dicts; unknown keys are
    rejected (a method without ``query`` ignores the query string). The
    method's return value is rendered as JSON (:func:`to_json`) with
    ``status``; 204, or a ``None`` return, gives an empty body.
    """
    query_schema = vol.Schema(dict(query)) if query is not None else None
    body_schema = vol.Schema(dict(body)) if body is not None else None

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def handler(self: Any, *args: Any, **_ignored: Any) -> str:
            request = pecan.request
            if len(args) < required:
                _not_on_collection(self)
            kwargs: dict[str, Any] = {}
            if query_schema is not None:
                kwargs.update(_validate(query_schema, _query_args(request)))
            if body_schema is not None:
                kwargs.update(_validate(body_schema, _body_args(request)))
            result = func(self, *args, **kwargs)
            pecan.response.status = status
            if status == 204 or result is None:
                pecan.request.pecan["content_type"] = None
                pecan.response.content_type = None
                return ""
            return to_json(result)

        pecan.expose(content_type="application/json")(handler)
        # Pecan only binds path segments, to the positional parameters;
        # validated input is passed by this wrapper.
        spec = inspect.getfullargspec(func)
        required = _required_positional(spec)
        pecan.util._cfg(handler)["argspec"] = spec._replace(
            varkw=None, kwonlyargs=[], kwonlydefaults=None)
        return handler  # type: ignore[return-value]

    return decorate
