"""Common shape of every scope fetcher.

A fetcher answers one question for the orchestrator: which scopes (project
ids, namespaces, ...) should be rated this cycle. Drivers are looked up by
:func:`cloudkitty.fetcher.get_fetcher` from the ``cloudkitty.fetchers``
entry points.
"""
from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any, ClassVar

from cloudkitty import exceptions


class BaseFetcher(abc.ABC):
    """Lists the scopes to rate.

    Subclasses implement :meth:`get_scopes`; any failure to reach or parse
    the backing source must come out as
    :class:`~cloudkitty.exceptions.FetchError` (use :meth:`_error` so the
    message always names the fetcher).
    """

    #: Name of the entry point / config group suffix; used in error messages.
    name: ClassVar[str] = "base"

    def __init__(self, conf: Any) -> None:
        self.conf = conf

    @abc.abstractmethod
    def get_scopes(self) -> list[str]:
        """Return the scope ids to rate, sorted and without duplicates."""

    def get_tenants(self) -> list[str]:
        """Upstream's name for :meth:`get_scopes`, kept for callers
        written against it."""
        return self.get_scopes()

    def _error(self, reason: str) -> exceptions.FetchError:
        """Build the FetchError every driver raises, naming the driver."""
        return exceptions.FetchError(
            f"Fetcher '{self.name}' could not list scopes: {reason}")

    @staticmethod
    def _normalize(scopes: Iterable[str]) -> list[str]:
        """Sorted, unique, no empty ids: the contract of get_scopes."""
        return sorted({str(s) for s in scopes if s})
