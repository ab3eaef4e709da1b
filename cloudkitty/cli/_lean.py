"""Keeping the long-running processes small.

futurist, dnspython and oslo.service's default backend import eventlet
whenever it is installed, although no CloudKitty process uses it: the RPC
servers run with the threading executor and the processor's workers are
plain processes. Importing it (with dnspython and cryptography behind it)
costs about 15 MiB of resident memory in every process, that is in each
of the processor's workers.

pecan imports mako, whose ``mako.exceptions`` imports pygments (about
4.5 MiB) to colour the HTML error pages of pecan's debug mode;
:func:`import_pecan` imports them without it.
"""
from __future__ import annotations

import importlib
import sys

__all__ = ["import_pecan", "without_eventlet"]


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


def import_pecan() -> None:
    """Import pecan with mako's syntax highlighting left out.

    pygments is hidden while pecan and ``mako.exceptions`` are imported,
    so mako settles for plain HTML escaping, then made importable again
    for any later user. Does nothing more than importing pecan when
    pygments or ``mako.exceptions`` is already imported.
    """
    if "pygments" in sys.modules or "mako.exceptions" in sys.modules:
        importlib.import_module("pecan")
        return
    sys.modules["pygments"] = None  # type: ignore[assignment]
    try:
        importlib.import_module("mako.exceptions")
        importlib.import_module("pecan")
    finally:
        if sys.modules.get("pygments", False) is None:
            del sys.modules["pygments"]
