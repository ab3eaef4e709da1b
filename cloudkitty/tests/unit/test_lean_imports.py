"""What the long-running processes import: the processor loads no API
framework, neither the processor nor the API loads eventlet, the API
under ``noauth`` loads no keystonemiddleware, keystoneauth, requests nor
pygments, the processor loads keystoneauth only for a collector or
fetcher that authenticates with Keystone, and reading the configuration
loads neither oslo.messaging nor oslo.middleware (each of these costs
resident memory in every process)."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any, TypedDict

import pytest

_API_ONLY = ("pecan", "wsme", "keystonemiddleware", "paste.deploy")
_NEVER = ("eventlet", "dns", "greenlet.greenlet")
#: What the keystone pipeline alone needs.
_KEYSTONE_ONLY = ("keystonemiddleware", "keystoneclient", "oslo_cache",
                  "oslo_messaging", "eventlet")
#: What the API under noauth does without: keystoneauth (for the
#: collector and fetcher groups), requests (oslo.policy's http check) and
#: pygments (mako's error pages).
_NOT_IN_NOAUTH_API = ("keystoneauth1", "requests", "urllib3", "pygments")
_ETC = pathlib.Path(__file__).resolve().parents[3] / "etc" / "cloudkitty"
_PASTE_FILE = _ETC / "api_paste.ini"


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


def _run(code: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code],
                         capture_output=True, text=True, check=True,
                         timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _api_conf(tmp_path: pathlib.Path, auth_strategy: str) -> pathlib.Path:
    path = tmp_path / "cloudkitty.conf"
    path.write_text(
        f"[DEFAULT]\nauth_strategy = {auth_strategy}\n"
        f"api_paste_config = {_PASTE_FILE}\n"
        "transport_url = fake://\n"
        f"[database]\nconnection = sqlite:///{tmp_path}/ck.sqlite\n"
        "[storage]\nbackend = sqlalchemy\n"
        "[keystone_authtoken]\nauth_type = password\n"
        "www_authenticate_uri = http://127.0.0.1:1/v3\n"
        "auth_url = http://127.0.0.1:1/v3\n"
        "delay_auth_decision = true\n")
    return path


def _built_api(config_file: pathlib.Path) -> Any:
    return _run(f"""
import json, sys
from cloudkitty import service
from cloudkitty.api import app
conf = service.prepare_service(["--config-file", {str(config_file)!r}],
                               checks=app.API_CHECKS, setup_logging=False,
                               source_auth=False)
app.build_wsgi_app(conf)
print(json.dumps([m for m in sys.modules if sys.modules[m] is not None]))
""")


def test_noauth_api_loads_no_keystone_middleware(tmp_path) -> None:
    loaded = set(_built_api(_api_conf(tmp_path, "noauth")))
    assert "pecan" in loaded
    assert "oslo_middleware.cors" in loaded
    assert loaded.isdisjoint(_KEYSTONE_ONLY), loaded & set(_KEYSTONE_ONLY)
    assert loaded.isdisjoint(_NOT_IN_NOAUTH_API), (
        loaded & set(_NOT_IN_NOAUTH_API))


def test_noauth_wsgi_application_loads_no_keystoneauth_requests_pygments(
        tmp_path) -> None:
    # The deployed entry point, with the default collector (gnocchi) and
    # fetcher (keystone) configured: the API reads neither.
    config_file = _api_conf(tmp_path, "noauth")
    loaded = set(_run(f"""
import json, os, sys
os.environ["CLOUDKITTY_CONFIG_FILE"] = {str(config_file)!r}
from cloudkitty.wsgi import api
assert api.application is not None
print(json.dumps([m for m in sys.modules if sys.modules[m] is not None]))
"""))
    assert {"pecan", "mako.exceptions", "oslo_policy.policy"} <= loaded
    assert loaded.isdisjoint(_NOT_IN_NOAUTH_API), (
        loaded & set(_NOT_IN_NOAUTH_API))


def test_pygments_stays_importable_after_pecan() -> None:
    got = _run("""
import json, sys
from cloudkitty.cli import _lean
_lean.import_pecan()
hidden = "pygments" in sys.modules
import mako.exceptions
import pygments
print(json.dumps([hidden, mako.exceptions.pygments_html_formatter is None,
                  pygments.__name__]))
""")
    assert got == [False, True, "pygments"]


def _prometheus_processor_conf(tmp_path: pathlib.Path) -> pathlib.Path:
    """A processor configuration with the prometheus collector and the
    source fetcher."""
    path = tmp_path / "processor.conf"
    path.write_text(
        "[DEFAULT]\ntransport_url = fake://\n"
        f"[database]\nconnection = sqlite:///{tmp_path}/ck.sqlite\n"
        "[storage]\nbackend = sqlalchemy\n"
        "[collect]\ncollector = prometheus\n"
        f"metrics_conf = {_ETC / 'metrics-prometheus.yml'}\n"
        "[collector_prometheus]\nprometheus_url = http://127.0.0.1:1/api/v1\n"
        "[fetcher]\nbackend = source\n"
        "[fetcher_source]\nsources = p1\n"
        f"[orchestrator]\ncoordination_url = file://{tmp_path}/locks\n")
    return path


def test_processor_with_prometheus_and_source_loads_no_keystoneauth(
        tmp_path) -> None:
    config_file = _prometheus_processor_conf(tmp_path)
    got = _run(f"""
import json, sys
from cloudkitty.cli import _lean, processor
_lean.without_eventlet()
from cloudkitty import service
conf = service.prepare_service(["--config-file", {str(config_file)!r}],
                               checks=processor.PROCESSOR_CHECKS,
                               setup_logging=False)
from cloudkitty.processor import service as processor_service
from cloudkitty import collector, fetcher
collector.get_collector(conf)
assert fetcher.get_fetcher(conf).get_scopes() == ["p1"]
print(json.dumps([m for m in ("keystoneauth1", "requests", "pygments")
                  if sys.modules.get(m) is not None]))
""")
    assert "keystoneauth1" not in got


def test_keystone_api_still_loads_auth_token(tmp_path) -> None:
    loaded = set(_built_api(_api_conf(tmp_path, "keystone")))
    assert "keystonemiddleware.auth_token" in loaded
    assert "cloudkitty.api._authtoken" in loaded


def test_reading_the_configuration_loads_no_messaging_nor_middleware(
        tmp_path) -> None:
    config_file = _api_conf(tmp_path, "noauth")
    got = _run(f"""
import json, sys
from cloudkitty import service
conf = service.prepare_service(["--config-file", {str(config_file)!r}],
                               setup_logging=False)
print(json.dumps([m for m in ("oslo_messaging", "oslo_middleware",
                              "keystonemiddleware", "eventlet")
                  if sys.modules.get(m) is not None]))
""")
    assert got == []


@pytest.mark.parametrize("order", ["loaded_before", "loaded_after"])
def test_control_exchange_default_whenever_messaging_loads(
        tmp_path, order: str) -> None:
    # oslo.messaging loaded before the configuration is read (the
    # processor), or only when the first RPC is sent (the API): the
    # transport uses CloudKitty's exchange either way.
    config_file = _api_conf(tmp_path, "noauth")
    early = "import oslo_messaging" if order == "loaded_before" else ""
    got = _run(f"""
import json
{early}
from oslo_config import cfg
from cloudkitty import service
from cloudkitty.conf import defaults
conf = service.prepare_service(["--config-file", {str(config_file)!r}],
                               conf=cfg.ConfigOpts(), setup_logging=False)
defaults.set_messaging_defaults()
import oslo_messaging
transport = oslo_messaging.get_rpc_transport(conf)
print(json.dumps(conf.control_exchange))
""")
    assert got == "cloudkitty"
