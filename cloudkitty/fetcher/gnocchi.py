"""Fetcher listing the scopes that own resources in Gnocchi (COMPAT §6).

For each configured resource type it asks for resources whose
``scope_attribute`` is not among the scopes already found, one page at a
time, until Gnocchi has none left: each round trip brings at least one new
scope, however many resources a scope has.
"""
from __future__ import annotations

from typing import Any, ClassVar

from cloudkitty import exceptions
from cloudkitty.collector._gnocchi_client import (
    SEARCH_PAGE_SIZE,
    GnocchiClient,
)
from cloudkitty.fetcher.base import BaseFetcher

__all__ = ["GnocchiFetcher"]

GROUP = "fetcher_gnocchi"


class GnocchiFetcher(BaseFetcher):
    """Scopes = distinct values of a resource attribute in Gnocchi."""

    name: ClassVar[str] = "gnocchi"

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        self.client = GnocchiClient(conf, GROUP, exceptions.FetchError)

    def get_scopes(self) -> list[str]:
        opts = getattr(self.conf, GROUP)
        attribute: str = opts.scope_attribute
        seen: set[str] = set()
        try:
            for resource_type in opts.resource_types:
                self._collect(resource_type, attribute, seen)
        except exceptions.FetchError as exc:
            raise self._error(exc.message) from None
        return self._normalize(seen)

    def _collect(self, resource_type: str, attribute: str,
                 seen: set[str]) -> None:
        while True:
            # Resources without the attribute can never become a scope;
            # leaving them out keeps a page of them from ending the loop.
            conditions: list[dict[str, Any]] = [
                {"not": {"=": {attribute: None}}}]
            if seen:
                conditions.append(
                    {"not": {"in": {attribute: sorted(seen)}}})
            page = self.client.search_page(
                resource_type, {"and": conditions}, limit=SEARCH_PAGE_SIZE)
            found = {str(res[attribute]) for res in page
                     if res.get(attribute) not in (None, "")}
            if not found - seen:
                return
            seen.update(found)
