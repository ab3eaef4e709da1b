"""The paste pipelines: noauth and keystone, public routes, paste file
lookup (COMPAT.md §10)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import webtest

from cloudkitty import exceptions
from cloudkitty.api import app, middleware
from cloudkitty.tests.unit.api.conftest import KEYSTONE_AUTHTOKEN, PASTE_FILE

PUBLIC = {"/": 200, "/v1": 405, "/v1/": 405, "/v2": 404, "/v2/": 404}


@pytest.mark.parametrize(("path", "status"), sorted(PUBLIC.items()))
def test_keystone_public_routes_need_no_token(
        keystone_app: webtest.TestApp, path: str, status: int) -> None:
    assert keystone_app.get(path, status=status).status_int == status


def test_keystone_healthcheck_needs_no_token(
        keystone_app: webtest.TestApp) -> None:
    assert keystone_app.get("/healthcheck").text == "OK"


def test_healthcheck_fails_while_the_disable_file_exists(
        api_conf, tmp_path: Path) -> None:
    flag = tmp_path / "healthcheck_disable"
    paste = tmp_path / "api_paste.ini"
    paste.write_text(PASTE_FILE.read_text().replace(
        "/etc/cloudkitty/healthcheck_disable", str(flag)))
    client = webtest.TestApp(app.build_wsgi_app(
        api_conf(DEFAULT={"api_paste_config": paste})))
    assert client.get("/healthcheck").status_int == 200
    flag.touch()
    assert client.get("/healthcheck", status=503).text == "DISABLED BY FILE"


@pytest.mark.parametrize("path", ["/v1/info/metrics", "/v1/info/config/",
                                  "/v1/info", "/v2/summary", "/v1/x/v1"])
def test_keystone_protects_everything_else(
        keystone_app: webtest.TestApp, path: str) -> None:
    response = keystone_app.get(path, status=401)
    assert response.headers["WWW-Authenticate"] == \
        f'Keystone uri="{KEYSTONE_AUTHTOKEN["www_authenticate_uri"]}"'


def test_keystone_ignores_forged_identity_without_token(
        keystone_app: webtest.TestApp) -> None:
    keystone_app.get("/v1/info/metrics",
                     headers={"X-Roles": "admin", "X-Project-Id": "p",
                              "X-Identity-Status": "Confirmed"},
                     status=401)


def test_noauth_serves_everything_without_token(
        noauth_app: webtest.TestApp) -> None:
    assert noauth_app.get("/v1/info/metrics").status_int == 200


def test_relative_paste_file_is_found_next_to_the_config(
        make_conf, tmp_path: Path) -> None:
    # make_conf writes its configuration file into tmp_path.
    shutil.copy(PASTE_FILE, tmp_path / "api_paste.ini")
    conf = make_conf({"DEFAULT": {"auth_strategy": "noauth",
                                  "api_paste_config": "api_paste.ini"}})
    assert app.paste_config_path(conf) == str(tmp_path / "api_paste.ini")
    client = webtest.TestApp(app.build_wsgi_app(conf))
    assert client.get("/").status_int == 200


def test_missing_paste_file_names_the_option(api_conf) -> None:
    conf = api_conf(DEFAULT={"api_paste_config": "nowhere.ini"})
    with pytest.raises(exceptions.ConfigError) as info:
        app.build_wsgi_app(conf)
    message = str(info.value)
    assert "section [DEFAULT], option api_paste_config" in message
    assert "'nowhere.ini' not found" in message


def test_paste_file_without_the_pipeline_names_auth_strategy(
        api_conf, tmp_path: Path) -> None:
    paste = tmp_path / "partial.ini"
    paste.write_text(PASTE_FILE.read_text().replace(
        "[pipeline:cloudkitty+keystone]", "[pipeline:other]"))
    conf = api_conf("keystone", DEFAULT={"api_paste_config": paste})
    with pytest.raises(exceptions.ConfigError) as info:
        app.build_wsgi_app(conf)
    assert "option auth_strategy" in str(info.value)
    assert "cloudkitty+keystone" in str(info.value)


def test_paste_factories_need_the_application_builder() -> None:
    with pytest.raises(exceptions.ConfigError):
        middleware.conf_from_paste({})
