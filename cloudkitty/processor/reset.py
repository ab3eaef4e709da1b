"""Scope state reset: forget rated data from a date on and restart there.

:func:`reset_scopes` is what ``PUT /v2/scope`` and the processor's
``reset_state`` RPC endpoint run. For each scope it takes the scope's
tooz lock (the one a processor holds while rating that scope), so a reset
never interleaves with the rating of the same scope, then calls
``BaseStorage.reset_scope``: the scope's rated data from the timestamp on
is deleted and its ``last_processed_timestamp`` set to the period before
the timestamp, so rating resumes with the period starting at it.

Every lock is taken before anything is changed and the whole wait is
bounded by ``lock_timeout``: either every scope is reset or, when one lock
stays taken, none is (:class:`~cloudkitty.exceptions.Conflict`).

:func:`shared_coordinator` gives the API process its one lock coordinator,
started on first use and stopped at interpreter exit.
"""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.processor import locks
from cloudkitty.storage import get_storage
from cloudkitty.storage import state as state_api
from cloudkitty.storage.v2.base import BaseStorage

__all__ = ["DEFAULT_LOCK_TIMEOUT", "ScopeKeys", "ScopeRef", "reset_scopes",
           "shared_coordinator", "stop_shared_coordinators"]

LOG = logging.getLogger(__name__)

#: Seconds :func:`reset_scopes` waits, in all, for the scopes' locks.
DEFAULT_LOCK_TIMEOUT = 30.0


class ScopeKeys(Protocol):
    """What identifies a scope's state row (``ScopeStateRecord`` fits);
    a None key means the value configured for this process."""

    @property
    def scope_id(self) -> str: ...

    @property
    def scope_key(self) -> str | None: ...

    @property
    def fetcher(self) -> str | None: ...

    @property
    def collector(self) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class ScopeRef:
    """A scope to reset, e.g. built from an RPC message."""

    scope_id: str
    scope_key: str | None = None
    fetcher: str | None = None
    collector: str | None = None


@dataclasses.dataclass(frozen=True, order=True)
class _Target:
    lock_name: str
    scope_id: str
    scope_key: str
    fetcher: str
    collector: str


def _targets(conf: cfg.ConfigOpts,
             scopes: Iterable[ScopeKeys]) -> list[_Target]:
    """The scopes with every key filled in, each once, in lock order (the
    same order for every caller, so two resets cannot deadlock)."""
    key, fetcher, collector = state_api.StateManager(conf).current_keys()
    targets = set()
    for scope in scopes:
        filled = (scope.scope_key or key, scope.fetcher or fetcher,
                  scope.collector or collector)
        name = locks.scope_lock_name(scope.scope_id, filled[2], filled[1],
                                     filled[0])
        targets.add(_Target(name, scope.scope_id, *filled))
    return sorted(targets)


def reset_scopes(conf: cfg.ConfigOpts, scopes: Sequence[ScopeKeys],
                 timestamp: datetime.datetime, *,
                 coordinator: locks.Coordinator | None = None,
                 storage: BaseStorage | None = None,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Reset every scope of ``scopes`` to ``timestamp``.

    ``timestamp`` may be aware (any zone) or naive (UTC). ``coordinator``
    defaults to :func:`shared_coordinator`, ``storage`` to the configured
    backend. Raises :class:`~cloudkitty.exceptions.Conflict`, having
    changed nothing, when a scope's lock is still held by someone else
    after ``lock_timeout`` seconds (counted for all the scopes together).
    """
    targets = _targets(conf, scopes)
    if not targets:
        return
    if coordinator is None:
        coordinator = shared_coordinator(conf)
    if storage is None:
        storage = get_storage(conf)
    deadline = time.monotonic() + lock_timeout
    with contextlib.ExitStack() as held:
        for target in targets:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                held.enter_context(coordinator.lock(target.lock_name,
                                                    timeout=remaining))
            except exceptions.Conflict:
                raise exceptions.Conflict(
                    f"Scope '{target.scope_id}' is being processed: its "
                    f"lock was not released within {lock_timeout:g} "
                    f"seconds. No scope was reset; try again later.",
                    field="scope_id") from None
        for target in targets:
            storage.reset_scope(target.scope_id, timestamp,
                                target.scope_key, target.fetcher,
                                target.collector)
            LOG.info("Scope %s (%s, %s, %s) reset to %s", target.scope_id,
                     target.scope_key, target.fetcher, target.collector,
                     timestamp.isoformat())


# One coordinator per (process, coordination URL): a forked worker gets its
# own, and tests running apps with different URLs in one process too.
_shared: dict[tuple[int, str], locks.Coordinator] = {}
_shared_guard = threading.Lock()
_atexit_registered = False


def shared_coordinator(conf: cfg.ConfigOpts) -> locks.Coordinator:
    """The process's coordinator for ``[orchestrator] coordination_url``,
    started on the first call (thread-safe) and stopped at exit."""
    global _atexit_registered
    key = (os.getpid(), conf.orchestrator.coordination_url)
    with _shared_guard:
        coordinator = _shared.get(key)
        if coordinator is None:
            coordinator = locks.Coordinator(conf)
            _shared[key] = coordinator
            if not _atexit_registered:
                atexit.register(stop_shared_coordinators)
                _atexit_registered = True
        return coordinator


def stop_shared_coordinators() -> None:
    """Stop the coordinators :func:`shared_coordinator` started in this
    process (the next call starts a new one)."""
    with _shared_guard:
        pid = os.getpid()
        mine = [key for key in _shared if key[0] == pid]
        stopping = [_shared.pop(key) for key in mine]
    for coordinator in stopping:
        coordinator.stop()
