"""``/``: the version document, and the v1 and v2 mounts."""
from __future__ import annotations

from typing import Any

import pecan

from cloudkitty.api.v1 import root as v1_root
from cloudkitty.api.v2 import root as v2_root

#: (id, status) of each API version, in the order the document lists them.
VERSIONS = (("v1", "CURRENT"), ("v2", "EXPERIMENTAL"))


def version_document(base_url: str) -> dict[str, Any]:
    """The public document of ``GET /``; hrefs are under ``base_url``."""
    base = base_url.rstrip("/")
    return {"versions": [
        {"id": version,
         "links": [{"href": f"{base}/{version}", "rel": "self"}],
         "status": status}
        for version, status in VERSIONS
    ]}


class RootController:
    v1 = v1_root.V1Controller()
    v2 = v2_root.V2Controller()

    @pecan.expose(generic=True)
    def index(self) -> None:
        pecan.abort(405, headers={"Allow": "GET, HEAD"})

    @index.when(method="GET", template="json")
    def index_get(self) -> dict[str, Any]:
        return version_document(pecan.request.application_url)

    @index.when(method="HEAD", template="json")
    def index_head(self) -> dict[str, Any]:
        return version_document(pecan.request.application_url)
