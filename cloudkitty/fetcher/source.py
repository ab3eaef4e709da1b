"""Fetcher returning the scopes listed in ``[fetcher_source]sources``."""
from __future__ import annotations

from typing import ClassVar

from cloudkitty.fetcher.base import BaseFetcher


class SourceFetcher(BaseFetcher):
    """Rates exactly the configured scope ids; useful without Keystone."""

    name: ClassVar[str] = "source"

    def get_scopes(self) -> list[str]:
        # Operators may repeat ids or leave stray blanks in the list; the
        # contract is sorted and unique, so normalise here.
        sources = self.conf.fetcher_source.sources
        return self._normalize(s.strip() for s in sources)
