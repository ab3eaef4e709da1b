"""Refusing requests that cannot be read, before anything reads them.

WebOb decodes the path, the query string and form bodies lazily, and the
databases refuse NUL characters in text (PostgreSQL's driver raises).
Left alone, an invalid percent-encoded UTF-8 sequence, a malformed
multipart body or a NUL character fails deep inside Pecan, WSME or the
database driver, with a 400 that does not say why, or a 500.
:func:`check_request` raises :class:`~cloudkitty.exceptions.InvalidInput`
naming the part instead.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

import webob
import webob.exc

from cloudkitty import exceptions

__all__ = ["check_request"]

_NOT_UTF8 = "is not valid UTF-8 (percent-encoded bytes must form UTF-8 text)"
_NUL = "contains a NUL character, which is not allowed"


def _decoded(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _check_path(environ: dict[str, Any]) -> None:
    try:
        raw = str(environ.get("PATH_INFO", "")).encode("latin-1")
    except UnicodeEncodeError:
        return  # not WSGI bytes-as-latin-1: the server decoded it
    path = _decoded(raw)
    if path is None:
        raise exceptions.InvalidInput(f"The request path {_NOT_UTF8}.",
                                      field="path")
    if "\x00" in path:
        raise exceptions.InvalidInput(f"The request path {_NUL}.",
                                      field="path")


def _check_query(environ: dict[str, Any]) -> None:
    for pair in str(environ.get("QUERY_STRING", "")).split("&"):
        raw_name, _, raw_value = pair.partition("=")
        name = _decoded(unquote_to_bytes(raw_name.replace("+", " ")))
        if name is None:
            raise exceptions.InvalidInput(
                f"A query parameter name {_NOT_UTF8}.", field="query")
        if "\x00" in name:
            raise exceptions.InvalidInput(
                f"A query parameter name {_NUL}.", field="query")
        value = _decoded(unquote_to_bytes(raw_value.replace("+", " ")))
        if value is None:
            raise exceptions.InvalidInput(
                f"The value of query parameter '{name}' {_NOT_UTF8}.",
                field=name)
        if "\x00" in value:
            raise exceptions.InvalidInput(
                f"The value of query parameter '{name}' {_NUL}.",
                field=name)


def _check_form(request: webob.Request) -> None:
    try:
        # Parsed (and cached by WebOb) for form content types only; the
        # property itself, not Pecan's request wrapper which turns decoding
        # errors into a bare 400.
        form = webob.Request.POST.fget(request)
    except (ValueError, webob.exc.HTTPBadRequest) as exc:
        raise exceptions.InvalidInput(
            f"The request body is not a valid {request.content_type} "
            f"document ({exc}).", field="body") from None
    for name, value in form.items():
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise exceptions.InvalidInput(
                f"Form field '{name.replace(chr(0), '')}' {_NUL}.",
                field=name)


def _nul_paths(document: Any, path: str) -> Iterator[str]:
    if isinstance(document, str):
        if "\x00" in document:
            yield path
    elif isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else key
            if "\x00" in key:
                yield where.replace("\x00", "\\u0000")
            yield from _nul_paths(value, where)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _nul_paths(value, f"{path}[{index}]")


def _check_json_body(request: webob.Request) -> None:
    body = request.body
    # A NUL can only be in a JSON document as this escape.
    if b"\\u0000" not in body:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return  # the endpoint says the body is not JSON
    for path in _nul_paths(document, ""):
        raise exceptions.InvalidInput(
            f"'{path or 'body'}' {_NUL}.", field=path or "body")


def check_request(request: webob.Request) -> None:
    """Raise InvalidInput naming the part of ``request`` (path, query
    parameter, form field, JSON key or value) that is not valid UTF-8 or
    holds a NUL character, or when a form body cannot be parsed."""
    _check_path(request.environ)
    _check_query(request.environ)
    _check_form(request)
    _check_json_body(request)
