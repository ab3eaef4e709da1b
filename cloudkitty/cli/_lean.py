"""Keeping the long-running processes small.

futurist, dnspython and oslo.service's default backend import eventlet
whenever it is installed, although no CloudKitty process uses it: the RPC
servers run with the threading executor and the processor's workers are
plain processes. Importing it (with dnspython and cryptography behind it)
costs about 15 MiB of resident memory in every process, that is in each
of the processor's workers.
"""
from __future__ import annotations

import sys

__all__ = ["without_eventlet"]


def without_eventlet() -> bool:
    """Select oslo.service's threading backend and make ``import eventlet``
    fail in this process, so the libraries take their eventlet-free paths.

    Must run before oslo.messaging is imported. Does nothing (and returns
    False) when eventlet is already imported, for example by an application
    server's eventlet workers; returns True when it took effect.
    """
    if "eventlet" in sys.modules:
        return False
    sys.modules["eventlet"] = None  # type: ignore[assignment]
    from oslo_service import backend

    try:
        backend.init_backend(backend.BackendType.THREADING)
    except backend.exceptions.BackendAlreadySelected:
        del sys.modules["eventlet"]
        return False
    return True
