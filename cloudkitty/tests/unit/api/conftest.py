"""Fixtures of the API tests: configurations and the real WSGI apps."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest
from oslo_config import cfg

import cloudkitty
from cloudkitty.api import app

PASTE_FILE = (Path(cloudkitty.__file__).resolve().parents[1]
              / "etc" / "cloudkitty" / "api_paste.ini")

METRICS_YML = """\
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id]
    metadata: [flavor_name, flavor_id]
  image.size:
    unit: MiB
    factor: 1/1048576
    groupby: [id]
    metadata: [disk_format]
  volume.size:
    unit: GiB
"""

#: keystonemiddleware options pointing at nothing: public routes never call
#: Keystone and a request without a token is refused before any call.
KEYSTONE_AUTHTOKEN = {
    "auth_type": "password",
    "auth_url": "http://127.0.0.1:9/identity",
    "www_authenticate_uri": "http://127.0.0.1:9/identity",
    "username": "cloudkitty",
    "password": "secret",
    "project_name": "service",
    "user_domain_id": "default",
    "project_domain_id": "default",
}

ConfFactory = Callable[..., cfg.ConfigOpts]


@pytest.fixture
def metrics_file(tmp_path: Path) -> Path:
    path = tmp_path / "metrics.yml"
    path.write_text(METRICS_YML)
    return path


@pytest.fixture
def api_conf(make_conf, metrics_file: Path) -> ConfFactory:
    """``api_conf(auth_strategy, **{section: {option: value}})``."""
    def _make(auth_strategy: str = "noauth",
              **sections: dict[str, Any]) -> cfg.ConfigOpts:
        merged: dict[str, dict[str, Any]] = {
            # Notices to processors stay in the process.
            "DEFAULT": {"auth_strategy": auth_strategy,
                        "api_paste_config": PASTE_FILE,
                        "transport_url": "fake://"},
            "storage": {"backend": "sqlalchemy"},
            "collect": {"collector": "prometheus",
                        "metrics_conf": metrics_file},
        }
        if auth_strategy == "keystone":
            merged["keystone_authtoken"] = dict(KEYSTONE_AUTHTOKEN)
        for section, options in sections.items():
            merged.setdefault(section, {}).update(options)
        return make_conf(merged)
    return _make


@pytest.fixture
def noauth_app(api_conf: ConfFactory) -> webtest.TestApp:
    """The deployed application (paste pipeline) with auth_strategy
    noauth."""
    return webtest.TestApp(app.build_wsgi_app(api_conf("noauth")))


@pytest.fixture
def keystone_app(api_conf: ConfFactory) -> webtest.TestApp:
    """The deployed application with auth_strategy keystone."""
    return webtest.TestApp(app.build_wsgi_app(api_conf("keystone")))


@pytest.fixture
def policy_app(api_conf: ConfFactory, tmp_path: Path
               ) -> Callable[[dict[str, str]], webtest.TestApp]:
    """The Pecan application alone with auth_strategy keystone: the
    identity headers (X-Roles, X-Project-Id) are set by the test, as
    keystonemiddleware would after validating a token.

    ``policy_app({rule: check})`` overrides rules through a policy file.
    """
    def _make(overrides: dict[str, str] | None = None) -> webtest.TestApp:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text("".join(
            f'"{rule}": "{check}"\n'
            for rule, check in (overrides or {}).items()) or "{}\n")
        conf = api_conf("keystone",
                        oslo_policy={"policy_file": policy_file})
        return webtest.TestApp(app.setup_app(conf))
    return _make


@pytest.fixture
def fake_controllers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mount the test-only controllers at /v1/tests and /v2/tests."""
    from cloudkitty.api.v1.root import V1Controller
    from cloudkitty.api.v2.root import V2Controller
    from cloudkitty.tests.unit.api import fakes

    monkeypatch.setattr(V1Controller, "tests", fakes.V1Things(),
                        raising=False)
    monkeypatch.setattr(V2Controller, "tests", fakes.V2Things(),
                        raising=False)
