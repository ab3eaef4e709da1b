"""Per-scope locks shared by every processor and API (tooz).

All locks of a process come from one coordinator built from
``[orchestrator] coordination_url`` (``file://``, ``redis://``,
``etcd3+http://``...). A lock's name is the SHA-256 of a description of
what it protects, as upstream names them, so upstream processors and ours
exclude each other when they share a backend.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib import parse

from oslo_config import cfg

from cloudkitty import exceptions

__all__ = ["Coordinator", "reprocessing_lock_name", "scope_lock_name"]

LOG = logging.getLogger(__name__)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scope_lock_name(scope_id: str, collector: str, fetcher: str,
                    scope_key: str) -> str:
    """Name of the lock a worker holds while rating ``scope_id``."""
    return _digest(f"cloudkitty-{scope_id}-{collector}-{fetcher}-"
                   f"{scope_key}")


def reprocessing_lock_name(scope_id: str, start: Any, end: Any) -> str:
    """Name of the lock a worker holds while running a reprocessing
    schedule (``start``/``end`` as stored)."""
    return _digest(f"CloudKittyReprocessor-id={scope_id}-start={start}-"
                   f"end={end}")


class Coordinator:
    """A started tooz coordinator and the locks taken through it.

    Thread-safe: the workers of one process may share it.
    """

    def __init__(self, conf: cfg.ConfigOpts,
                 member_id: str | None = None) -> None:
        from tooz import coordination  # imported late: heavy

        self.url: str = conf.orchestrator.coordination_url
        _prepare_backend(self.url)
        member = member_id or f"cloudkitty-{os.getpid()}-{uuid.uuid4().hex}"
        try:
            self._coordinator = coordination.get_coordinator(
                self.url, member.encode("utf-8"))
            self._coordinator.start(start_heart=True)
        except Exception as exc:
            raise exceptions.ConfigError(
                f"cannot start the lock coordinator "
                f"'{_redact(self.url)}': {exc}",
                section="orchestrator", option="coordination_url") from None
        self._guard = threading.Lock()

    def stop(self) -> None:
        try:
            self._coordinator.stop()
        except Exception:  # stopping is best effort
            LOG.warning("Error while stopping the lock coordinator",
                        exc_info=True)

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _lock(self, name: str) -> Any:
        with self._guard:
            return self._coordinator.get_lock(name.encode("utf-8"))

    @contextmanager
    def try_lock(self, name: str) -> Iterator[bool]:
        """Take lock ``name`` without waiting; yields whether it was taken
        (and releases it on exit if so)."""
        lock = self._lock(name)
        taken = bool(lock.acquire(blocking=False))
        try:
            yield taken
        finally:
            if taken:
                _release(lock, name)

    @contextmanager
    def lock(self, name: str, timeout: float | None = None) -> Iterator[None]:
        """Hold lock ``name``, waiting for it at most ``timeout`` seconds
        (forever if None); :class:`Conflict` if it stays taken."""
        lock = self._lock(name)
        blocking: bool | float = True if timeout is None else timeout
        if not _acquire(lock, blocking):
            raise exceptions.Conflict(
                "The scope is being processed; try again later.")
        try:
            yield
        finally:
            _release(lock, name)


def _acquire(lock: Any, blocking: bool | float) -> bool:
    try:
        return bool(lock.acquire(blocking=blocking))
    except Exception as exc:
        # The etcd3 driver gives up waiting with tenacity's RetryError
        # instead of returning False.
        if type(exc).__name__ == "RetryError":
            return False
        raise


def _release(lock: Any, name: str) -> None:
    try:
        lock.release()
    except Exception:  # the lock expired or the backend went away
        LOG.warning("Could not release lock %s", name, exc_info=True)


def _prepare_backend(url: str) -> None:
    """tooz's file driver wants its directory to exist."""
    parsed = parse.urlparse(url)
    if parsed.scheme == "file" and parsed.path:
        try:
            os.makedirs(parsed.path, exist_ok=True)
        except OSError as exc:
            raise exceptions.ConfigError(
                f"cannot create the lock directory {parsed.path}: "
                f"{exc.strerror}", section="orchestrator",
                option="coordination_url") from None


def _redact(url: str) -> str:
    parsed = parse.urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parse.urlunparse(parsed._replace(netloc=netloc))
    return url
