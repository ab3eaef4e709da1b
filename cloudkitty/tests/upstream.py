"""Where ``tools/upstream-venv.sh`` installs upstream CloudKitty, for the
tests and benchmarks that run it beside ours."""
from __future__ import annotations

import os
import pathlib

__all__ = ["UPSTREAM_VERSION", "venv_path", "venv_ready"]

#: The upstream release the interoperability tests and benchmarks use.
UPSTREAM_VERSION = "25.0.0"


def venv_path() -> pathlib.Path:
    """``$CLOUDKITTY_UPSTREAM_VENV``, else the cache directory the script
    uses."""
    explicit = os.environ.get("CLOUDKITTY_UPSTREAM_VENV")
    if explicit:
        return pathlib.Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser(
        "~/.cache")
    return pathlib.Path(cache) / "cloudkitty" / f"upstream-{UPSTREAM_VERSION}"


def venv_ready(venv: pathlib.Path, script: str) -> bool:
    """Whether the script completed in ``venv`` and installed
    ``script``."""
    marker = venv / f".cloudkitty-upstream-{UPSTREAM_VERSION}-complete"
    return marker.exists() and (venv / "bin" / script).exists()
