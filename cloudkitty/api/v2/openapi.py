"""``GET /v2/openapi.json``: the OpenAPI 3 description of API v2.

The description is ``openapi.yaml`` beside this module (shipped in the
package), served as JSON. It needs no token: the paste pipeline lists the
path in ``acl_public_routes``.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

import pecan
import yaml

__all__ = ["OpenAPIDocument", "PATH", "document"]

#: Where the description is served.
PATH = "/v2/openapi.json"


@functools.cache
def _text() -> str:
    raw = importlib.resources.files(__package__).joinpath(
        "openapi.yaml").read_text(encoding="utf-8")
    return json.dumps(yaml.safe_load(raw))


def document() -> dict[str, Any]:
    """The OpenAPI description (a fresh copy)."""
    loaded: dict[str, Any] = json.loads(_text())
    return loaded


class OpenAPIDocument:
    """/v2/openapi.json."""

    @pecan.expose(generic=True, content_type="application/json")
    def index(self) -> str:
        pecan.abort(405, headers={"Allow": "GET, HEAD"})
        return ""  # pragma: no cover - abort raises

    @index.when(method="GET", content_type="application/json")
    def index_get(self) -> str:
        return _text()

    @index.when(method="HEAD", content_type="application/json")
    def index_head(self) -> str:
        return _text()
