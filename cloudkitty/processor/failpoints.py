"""Crash points for crash-safety tests.

``CLOUDKITTY_FAILPOINTS="name[:n],..."`` in the environment makes the
process kill its whole process group with SIGKILL at the ``n``-th time
(default: the first) execution reaches ``hit(name)``. Unset — the normal
case — :func:`hit` is one dictionary lookup. Names used by the processor:
``collect`` (a scope-period's first metric was fetched), ``rate`` (a rating
worker received a frame, before storing it) and ``after-store`` (the frame
is committed, the reply not sent yet).
"""
from __future__ import annotations

import os
import signal
import threading

__all__ = ["hit"]

ENV = "CLOUDKITTY_FAILPOINTS"


def _parse(text: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, count = item.partition(":")
        points[name] = int(count) if count else 1
    return points


_POINTS = _parse(os.environ.get(ENV, ""))
_LOCK = threading.Lock()


def hit(name: str) -> None:
    if name not in _POINTS:
        return
    with _LOCK:
        _POINTS[name] -= 1
        if _POINTS[name] > 0:
            return
    os.killpg(os.getpgrp(), signal.SIGKILL)
