"""What the long-running processes import: the processor loads no API
framework, and neither the processor nor the API loads eventlet (each of
these costs resident memory in every process)."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import TypedDict

import pytest

_API_ONLY = ("pecan", "wsme", "keystonemiddleware", "paste.deploy")
_NEVER = ("eventlet", "dns", "greenlet.greenlet")


class _Probe(TypedDict):
    loaded: list[str]
    backend: str


def _loaded_after(code: str) -> _Probe:
    """Run ``code`` in a fresh interpreter; report which watched modules
    it left loaded and the oslo.service backend it selected."""
    probe = f"""
import json, sys
{code}
from oslo_service import backend
watched = {list(_API_ONLY + _NEVER)!r}
print(json.dumps({{
    "loaded": [m for m in watched if sys.modules.get(m) is not None],
    "backend": backend.get_backend_type().value}}))
"""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", probe],
                         capture_output=True, text=True, check=True,
                         timeout=120)
    result: _Probe = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_processor_workers_load_no_api_framework_nor_eventlet() -> None:
    # What the console script does before its master forks the workers.
    got = _loaded_after("""
from cloudkitty.cli import _lean, processor
assert _lean.without_eventlet()
from cloudkitty.processor import service
from cloudkitty.collector import prometheus, gnocchi
from cloudkitty.rating import modules
modules.installed_processors()
""")
    assert got["loaded"] == []
    assert got["backend"] == "threading"


def test_importing_the_console_script_modules_loads_nothing_heavy() -> None:
    # The entry points must be able to rule eventlet out before anything
    # imports oslo.messaging: their modules import it lazily.
    got = _loaded_after("""
from cloudkitty.cli import api, processor
heavy = [m for m in ("oslo_messaging", "pecan", "sqlalchemy", "futurist")
         if m in sys.modules]
assert heavy == [], heavy
from cloudkitty.cli import _lean
assert _lean.without_eventlet()
""")
    assert got["loaded"] == []


def test_api_loads_no_eventlet() -> None:
    got = _loaded_after("""
from cloudkitty.cli import _lean
assert _lean.without_eventlet()
from cloudkitty.api import app
""")
    assert "eventlet" not in got["loaded"]
    assert "pecan" in got["loaded"]
    assert got["backend"] == "threading"


@pytest.mark.parametrize("already", ["eventlet", "backend"])
def test_without_eventlet_steps_aside(already: str) -> None:
    # An application server's eventlet workers (or code that picked
    # oslo.service's eventlet backend) keep what they chose.
    setup = ("import eventlet" if already == "eventlet" else
             "from oslo_service import backend as b\n"
             "b.init_backend(b.BackendType.EVENTLET)")
    got = _loaded_after(f"""
{setup}
from cloudkitty.cli import _lean
assert not _lean.without_eventlet()
import oslo_messaging
""")
    assert "eventlet" in got["loaded"]
    assert got["backend"] == "eventlet"
