"""Rating in the collector's own process.

A worker process that hosts rating workers rates the frames its
collector and reprocessing workers collect by calling the rating unit
directly: same unit of work, same replies and errors as the
``rate_frame``/``rate_frames`` RPC calls of :class:`~cloudkitty.processor.
rpcapi.RatingClient`, without serialising the frames or a trip through
the message bus. A :class:`RatingGate` bounds how many frames the process
rates at once, whoever asked (its own workers or, over RPC, the collector
workers of processors without rating workers).
"""
from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.processor.rpcapi import BatchReply, ScopeFrame
from cloudkitty.processor.unit import BatchItem, RatingUnit

__all__ = ["LocalRating", "RatingGate"]

LOG = log.getLogger(__name__)


class RatingGate:
    """At most ``slots`` frames (or batches of frames) rated at once;
    ``None``: no bound."""

    def __init__(self, slots: int | None) -> None:
        self._slots = None if slots is None \
            else threading.BoundedSemaphore(max(1, slots))

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self._slots is None:
            yield
            return
        with self._slots:
            yield


class LocalRating:
    """The :class:`RatingClient` interface, served in-process by
    ``unit``."""

    def __init__(self, unit: RatingUnit, gate: RatingGate) -> None:
        self._unit = unit
        self._gate = gate

    def rate_frame(self, scope_id: str, frame: DataFrame,
                   expected: datetime.datetime | None,
                   schedule_id: int | None = None) -> dict[str, Any]:
        """Rate and store ``frame``; :class:`StaleProgress` when the
        progress moved, :class:`ProcessorError` on any other failure."""
        what = f"scope '{scope_id}' period {frame.start.isoformat()}"
        with self._gate.slot(), _as_processor_error(what):
            return self._unit.rate_and_store(scope_id, frame, expected,
                                             schedule_id)

    def rate_frames(self, begin: datetime.datetime,
                    end: datetime.datetime,
                    items: Sequence[ScopeFrame]) -> BatchReply:
        """Rate and store the frames of ``items`` in bulk; which scopes
        were stored, found stale or failed."""
        what = f"{len(items)} scopes for period {begin.isoformat()}"
        batch = [BatchItem(item.scope_id, item.frame, item.expected)
                 for item in items]
        with self._gate.slot(), _as_processor_error(what):
            reply = self._unit.rate_and_store_many(begin, end, batch)
        return BatchReply(stored=reply["stored"], stale=reply["stale"],
                          failed=reply["failed"])


@contextmanager
def _as_processor_error(what: str) -> Iterator[None]:
    """Errors other than a stale progress become :class:`ProcessorError`
    (the worker logs them and retries the scopes next cycle)."""
    try:
        yield
    except exceptions.StaleProgress:
        raise
    except exceptions.CloudKittyError as exc:
        raise exceptions.ProcessorError(
            f"Rating {what} failed: {exc.message}") from None
    except Exception as exc:
        LOG.exception("Unexpected error rating %s", what)
        raise exceptions.ProcessorError(
            f"Rating {what} failed: unexpected error: {exc}") from None
