"""The one place where errors become HTTP responses.

Every exception escaping a controller (ours, WSME's argument errors, Pecan's
routing errors, anything unexpected) reaches :func:`to_response` through the
error hook. The body shape depends on the API version of the path:

* ``/v1`` (WSME): ``{"faultcode": "Client"|"Server", "faultstring": msg,
  "debuginfo": null}``
* anything else (``/v2``, ``/``): ``{"message": msg}``

Server errors (5xx) are logged with their traceback; clients only get the
message, and only our own exceptions' messages are shown.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import webob
import webob.exc
import wsme.exc
from oslo_log import log

from cloudkitty import exceptions

LOG = log.getLogger(__name__)

__all__ = ["Fault", "classify", "to_response", "v1_body", "v2_body"]

_UNEXPECTED = "An unexpected error occurred."


@dataclasses.dataclass(frozen=True)
class Fault:
    """What the client is told about an error."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def is_client_error(self) -> bool:
        return self.status < 500


def _http_exception_fault(exc: webob.exc.HTTPException,
                          method: str) -> Fault:
    status = exc.status_int
    if exc.detail:
        message = str(exc.detail)
    elif status == 405:
        message = f"The method {method} is not allowed for this resource."
    else:
        message = exc.explanation or exc.title
    # Keep the headers that mean something to the client (Allow on 405,
    # WWW-Authenticate on 401, Location...); the body is ours.
    headers = tuple((name, value) for name, value in exc.headers.items()
                    if name.lower() not in ("content-type",
                                            "content-length"))
    return Fault(status, message, headers)


def classify(exc: BaseException, method: str = "GET") -> Fault:
    """Map ``exc`` to a status and a message safe to show the client."""
    if isinstance(exc, exceptions.CloudKittyError):
        return Fault(exc.http_status, exc.message)
    if isinstance(exc, wsme.exc.ClientSideError):
        return Fault(exc.code, exc.faultstring)
    if isinstance(exc, webob.exc.HTTPException):
        return _http_exception_fault(exc, method)
    return Fault(500, _UNEXPECTED)


def v1_body(fault: Fault) -> dict[str, Any]:
    """The WSME fault document of API v1."""
    return {"faultcode": "Client" if fault.is_client_error else "Server",
            "faultstring": fault.message,
            "debuginfo": None}


def v2_body(fault: Fault) -> dict[str, Any]:
    """The error document of API v2 (and of the root)."""
    message = fault.message
    if fault.status == 403:
        # v2 answers policy denials with one fixed text, whatever the rule.
        message = exceptions.Forbidden.default_message
    return {"message": message}


def _is_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def _raw_path(request: webob.Request) -> str:
    # Not request.path_info: it decodes, and the error may be that the
    # path is not valid UTF-8.
    return str(request.environ.get("PATH_INFO", ""))


def to_response(request: webob.Request, exc: BaseException) -> \
        webob.Response | None:
    """The response for ``exc`` raised while serving ``request``.

    ``None`` for redirections and successful statuses raised as exceptions
    (``pecan.redirect``): Pecan serves those itself.
    """
    if isinstance(exc, webob.exc.HTTPException) and exc.status_int < 400:
        return None
    fault = classify(exc, request.method)
    path = _raw_path(request)
    if fault.is_client_error:
        LOG.debug("%s %s: %s %s", request.method, path, fault.status,
                  fault.message)
    else:
        LOG.error("%s %s failed with %s: %s", request.method, path,
                  fault.status, fault.message, exc_info=exc)
    body = v1_body(fault) if _is_v1(path) else v2_body(fault)
    response = webob.Response(status=fault.status,
                              content_type="application/json",
                              charset="UTF-8")
    for name, value in fault.headers:
        response.headers[name] = value
    response.text = json.dumps(body)
    return response
