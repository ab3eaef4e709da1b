"""``wsexpose``: expose a v1 controller method with WSME types.

Arguments are bound the WSME way, which clients rely on: each argument may
come from a path segment, the query string or a key of a JSON body, on any
HTTP method; unknown arguments are rejected with 400. Results are encoded
with WSME's JSON rules (``Decimal`` as a string, naive ISO datetimes).

Errors are not handled here: they propagate to the error hook
(:mod:`cloudkitty.api.errors`), which renders the WSME fault document.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import pecan
import pecan.util
import wsme
import wsme.api
import wsme.exc
import wsme.rest.args
import wsme.rest.json
import wsme.types

from cloudkitty.api.v1.streaming import Streamed

__all__ = ["wsexpose"]

F = TypeVar("F", bound=Callable[..., Any])


def wsexpose(return_type: Any = None, *arg_types: Any,
             **options: Any) -> Callable[[F], F]:
    """Declare the WSME types of a controller method and expose it.

    ``return_type`` and ``arg_types`` are WSME types (``wtypes.text``,
    ``int``, a ``wtypes.Base`` subclass, ``[Type]``...); ``options`` are
    those of :class:`wsme.signature`: ``body=Type`` for an argument read from
    the whole JSON body, ``status_code=201``... A method returning
    :class:`wsme.api.Response` chooses its status and type per call; a
    ``None`` return type gives an empty body. A method returning
    :class:`~cloudkitty.api.v1.streaming.Streamed` sends its chunks as they
    are produced (the return type then only documents the body).
    """
    def decorate(func: F) -> F:
        wsme.signature(return_type, *arg_types, **options)(func)
        funcdef = wsme.api.FunctionDefinition.get(func)
        funcdef.resolve_types(wsme.types.registry)

        @functools.wraps(func)
        def handler(self: Any, *args: Any, **kwargs: Any) -> str:
            request = pecan.request
            try:
                args, kwargs = wsme.rest.args.get_args(
                    funcdef, args, kwargs, request.params, None,
                    request.body, request.content_type)
            except (AttributeError, TypeError, ValueError) as exc:
                # WSME assumes a JSON object body; anything else ("[]",
                # "5") breaks deep inside it.
                raise wsme.exc.ClientSideError(
                    f"Invalid request body: {exc}") from None
            if funcdef.pass_request:
                kwargs[funcdef.pass_request] = request
            result = func(self, *args, **kwargs)
            if isinstance(result, Streamed):
                return _stream(result)
            status = funcdef.status_code
            datatype = funcdef.return_type
            if isinstance(result, wsme.api.Response):
                status = result.status_code or status
                if not isinstance(result.return_type, wsme.types.UnsetType):
                    datatype = result.return_type
                result = result.obj
            pecan.response.status = status
            if datatype is None or status == 204:
                pecan.request.pecan["content_type"] = None
                pecan.response.content_type = None
                return ""
            return wsme.rest.json.encode_result(result, datatype)

        pecan.expose(content_type="application/json")(handler)
        # Pecan binds path segments and query values to the positional
        # parameters of the decorated method, not of this wrapper.
        pecan.util._cfg(handler)["argspec"] = inspect.getfullargspec(func)
        return handler  # type: ignore[return-value]

    return decorate


def _stream(result: Streamed) -> Any:
    """Hand ``result``'s chunks to the server as the response iterable.
    Pecan keeps a response returned as is; it peeks at a generator's
    first chunk only, to tell an empty body."""
    response = pecan.response
    response.status = result.status
    response.content_type = result.content_type
    response.app_iter = (chunk for chunk in result.chunks)
    return response
