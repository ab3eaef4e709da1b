"""The OpenAPI description of API v2: valid, served without a token, and
in step with the routes the application exposes (so neither can drift)."""
from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pecan.util
import pytest
import schemathesis
import webtest
import yaml
from pecan import rest

from cloudkitty.api.v2 import openapi
from cloudkitty.api.v2.root import V2Controller

#: RestController methods and the HTTP method they answer; those marked
#: True answer on the item path (``/<id>``) when they take an argument.
_REST_METHODS = {"get_all": ("get", False), "get_one": ("get", True),
                 "post": ("post", None), "put": ("put", None),
                 "patch": ("patch", None), "delete": ("delete", None)}

_SHIPPED = Path(openapi.__file__).with_name("openapi.yaml")


def _positional(method: Any) -> list[str]:
    spec = pecan.util._cfg(method)["argspec"]
    return list(spec.args[1:])


def _exposed(controller: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(method, path template)`` of everything ``controller`` (mounted
    at ``path``) exposes, walking its children like Pecan routes."""
    if isinstance(controller, rest.RestController):
        for name, (verb, on_item) in _REST_METHODS.items():
            method = getattr(controller, name, None)
            if not getattr(method, "exposed", False):
                continue
            args = _positional(method)
            if on_item is False:
                assert not args, f"{path} {name} takes {args}"
            if on_item is True:
                assert len(args) == 1, f"{path} {name} takes {args}"
            yield verb, path + "".join(f"/{{{a}}}" for a in args)
    index = getattr(controller, "index", None)
    if getattr(index, "exposed", False):
        handlers = pecan.util._cfg(index).get("generic_handlers", {})
        for verb in handlers:
            if verb not in ("DEFAULT", "HEAD"):
                yield verb.lower(), path
    for name in dir(type(controller)):
        if name.startswith("_"):
            continue
        child = getattr(controller, name)
        if inspect.isroutine(child) or not type(child).__module__ \
                .startswith("cloudkitty.api"):
            continue
        yield from _exposed(child, f"{path}/{name}")


def _described() -> set[tuple[str, str]]:
    methods = ("get", "put", "post", "patch", "delete", "head", "options")
    return {(verb, path)
            for path, item in openapi.document()["paths"].items()
            for verb in item if verb in methods}


def test_every_route_is_described_and_every_description_routed() -> None:
    exposed = set(_exposed(V2Controller(), "/v2"))
    assert exposed, "the walk found no route"
    assert exposed == _described()


def test_described_operations_are_routed(noauth_app: webtest.TestApp
                                         ) -> None:
    """Probe each described operation: Pecan must route it (not the
    bare 404 or 405 of an unknown path or method)."""
    examples = {"scope_id": "proj-a", "module_id": "noop"}
    for verb, template in sorted(_described()):
        path = template.format(**examples)
        response = noauth_app.request(path, method=verb.upper(),
                                      expect_errors=True)
        assert response.status_int != 405, (verb, path)
        assert response.json != {
            "message": "The resource could not be found."}, (verb, path)


def test_the_description_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(openapi.document())
    schema.validate()


def test_served_as_json_is_the_shipped_file(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get(openapi.PATH)
    assert response.content_type == "application/json"
    assert response.json == yaml.safe_load(_SHIPPED.read_text())


def test_served_without_a_token(keystone_app: webtest.TestApp) -> None:
    assert keystone_app.get(openapi.PATH).json["openapi"].startswith("3.")


@pytest.mark.parametrize("verb", ["POST", "PUT", "DELETE"])
def test_only_read(noauth_app: webtest.TestApp, verb: str) -> None:
    response = noauth_app.request(openapi.PATH, method=verb, status=405)
    assert "GET" in response.headers["Allow"]
    assert response.json["message"]
