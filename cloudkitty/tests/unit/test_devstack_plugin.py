"""The DevStack plugin (``devstack/plugin.sh`` and ``devstack/settings``).

DevStack cannot run here, so each phase is run under bash against recorded
stand-ins of the DevStack helpers (``cloudkitty/tests/devstack_fakes``):
the tests check the helper calls and commands the plugin issues, and the
configuration files it writes, parsed both as plain ini files and with
CloudKitty's own option definitions. The plugin is also checked with
shellcheck and bashate.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import uuid
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import webtest

from cloudkitty.api import app
from cloudkitty.collector import metrics
from cloudkitty.conf import _keystone
from cloudkitty.tests.devstack_fakes import (
    FAKES,
    KEYSTONE_URI,
    PLUGIN_DIR,
    REPO,
    SERVICE_HOST,
    STACK,
    STACK_USER,
    Devstack,
    load_conf,
    read_ini,
    unknown_options,
)
from cloudkitty.tests.services import REQUIRED, needs


@pytest.fixture
def devstack(tmp_path: pathlib.Path) -> Devstack:
    return Devstack(tmp_path)


# -- the default stack -------------------------------------------------------

def test_settings_defaults_follow_upstream(devstack: Devstack) -> None:
    result = devstack.stack()
    conf = result.ini()
    assert conf["fetcher"]["backend"] == "gnocchi"
    assert conf["collect"]["collector"] == "gnocchi"
    assert conf["storage"]["backend"] == "influxdb"
    assert conf["storage"]["version"] == "2"
    assert conf["storage_influxdb"]["version"] == "1"
    # The service endpoint under uwsgi, behind Apache at /rating.
    assert result.args("get_or_create_endpoint") == [
        ("rating", "RegionOne", f"http://{SERVICE_HOST}/rating")]


def test_install_phase(devstack: Devstack) -> None:
    result = devstack.stack()
    install = result.in_phase("stack install")
    assert install[0] == ("echo_summary", "Installing CloudKitty")
    assert ("setup_develop", str(REPO)) in install
    assert ("pip_install_gr", "python-cloudkittyclient") in install
    assert ("git_clone",
            "https://opendev.org/openstack/cloudkitty-dashboard.git",
            str(devstack.dashboard_dir), "master") in install
    assert ("setup_develop", str(devstack.dashboard_dir)) in install
    assert ("install_apache_uwsgi",) in install
    assert ("install_package", "influxdb") in install
    assert ("start_service", "influxdb") in install
    # Horizon gets the dashboard's panel files, and only those.
    assert sorted(p.name for p in result.horizon_enabled.iterdir()) == [
        "_11_admin_rating_panel.py", "_13_project_rating_panel.py"]
    assert all(p.is_symlink() for p in result.horizon_enabled.iterdir())
    # Nothing is configured or started at install time.
    assert not any(call[0] in ("iniset", "run_process") for call in install)


def test_post_config_writes_the_configuration(devstack: Devstack) -> None:
    result = devstack.stack()
    conf = result.ini()
    conf_dir = result.conf_dir
    assert conf["DEFAULT"]["auth_strategy"] == "keystone"
    assert conf["DEFAULT"]["debug"] == "True"
    assert conf["DEFAULT"]["transport_url"].startswith("rabbit://")
    assert result.args("iniset_rpc_backend") == [
        ("cloudkitty", str(result.conf_path), "DEFAULT")]
    assert conf["database"]["connection"] == (
        "mysql+pymysql://root:secretdb@127.0.0.1/cloudkitty?charset=utf8")
    assert result.args("database_connection_url") == [("cloudkitty",)]

    # Files copied from the tree (etc/cloudkitty) and the policy sample.
    assert conf["DEFAULT"]["api_paste_config"] == str(
        conf_dir / "api_paste.ini")
    assert (conf_dir / "api_paste.ini").read_text() == (
        REPO / "etc" / "cloudkitty" / "api_paste.ini").read_text()
    assert conf["collect"]["metrics_conf"] == str(conf_dir / "metrics.yml")
    assert (conf_dir / "metrics.yml").read_text() == (
        REPO / "etc" / "cloudkitty" / "metrics.yml").read_text()
    assert conf["oslo_policy"]["policy_file"] == str(conf_dir / "policy.yaml")
    assert result.args("oslopolicy-sample-generator") == [
        ("--namespace", "cloudkitty", "--output-file",
         str(conf_dir / "policy.yaml"))]

    # API, Keystone middleware and the shared keystoneauth section.
    assert conf["api"]["port"] == "8889"
    assert conf["oslo_middleware"]["enable_proxy_headers_parsing"] == "True"
    assert result.args("configure_keystone_authtoken_middleware") == [
        (str(result.conf_path), "cloudkitty")]
    assert dict(conf["authinfos"]) == {
        "auth_type": "password", "auth_url": KEYSTONE_URI,
        "username": "cloudkitty", "password": "secretservice",
        "project_name": "service", "user_domain_name": "Default",
        "project_domain_name": "Default"}
    assert conf["fetcher_gnocchi"]["auth_section"] == "authinfos"
    assert conf["fetcher_gnocchi"]["interface"] == "public"
    assert conf["collector_gnocchi"]["auth_section"] == "authinfos"
    assert conf["collector_gnocchi"]["region_name"] == "RegionOne"

    # The processor rates a period as soon as it ends on a test cloud.
    assert conf["collect"]["wait_periods"] == "0"
    assert conf["storage_influxdb"]["host"] == SERVICE_HOST
    assert conf["storage_influxdb"]["port"] == "8086"
    assert conf["storage_influxdb"]["database"] == "cloudkitty"
    assert "username" not in conf["storage_influxdb"]
    assert conf["orchestrator"]["coordination_url"] == (
        f"file://{result.data_dir}/locks")
    # No section of another fetcher or collector.
    assert not {"fetcher_prometheus", "fetcher_keystone",
                "collector_prometheus"} & set(conf.sections())


def test_uwsgi_configuration(devstack: Devstack) -> None:
    result = devstack.stack()
    assert result.args("write_uwsgi_config") == [
        (str(result.uwsgi_path), "cloudkitty.wsgi.api:application",
         "/rating", "", "cloudkitty-api")]
    uwsgi = result.ini(result.uwsgi_path)["uwsgi"]
    assert uwsgi["module"] == "cloudkitty.wsgi.api:application"
    # The application reads the configuration DevStack wrote, wherever
    # CLOUDKITTY_CONF_DIR puts it.
    assert uwsgi["env"] == f"CLOUDKITTY_CONFIG_FILE={result.conf_path}"


def test_keystone_accounts(devstack: Devstack) -> None:
    result = devstack.stack()
    assert result.args("get_or_create_user") == [
        ("cloudkitty", "secretservice", "Default")]
    assert result.args("get_or_create_service") == [
        ("cloudkitty", "rating", "OpenStack Rating")]
    assert result.args("get_or_create_role") == [("rating",)]
    assert result.args("get_or_add_user_project_role") == [
        ("admin", "user-id-cloudkitty", "service", "Default", "Default"),
        ("role-id-rating", "user-id-cloudkitty", "demo")]


def test_accounts_need_keystone(devstack: Devstack) -> None:
    result = devstack.stack(ENABLED_SERVICES="mysql,rabbit")
    assert result.args("get_or_create_user") == []
    assert result.args("get_or_create_endpoint") == []
    assert result.args("run_process")  # the rest still runs


def test_init_after_configuration(devstack: Devstack) -> None:
    result = devstack.stack()
    conf = str(result.conf_path)
    init = result.in_phase("stack post-config")
    names = [call[0] for call in init]
    assert names.index("recreate_database") > names.index("iniset")
    assert ("recreate_database", "cloudkitty") in init
    curls = [call for call in init if call[0] == "curl"]
    assert [c[-1] for c in curls] == ['q=DROP DATABASE "cloudkitty"',
                                      'q=CREATE DATABASE "cloudkitty"']
    assert all(f"http://{SERVICE_HOST}:8086/query" in c for c in curls)
    # InfluxDB, started at install time, is waited for first.
    ping = ("wait_for_service", "60", f"http://{SERVICE_HOST}:8086/ping")
    assert init.index(ping) < init.index(curls[0])
    dbsync = ("cloudkitty-dbsync", "--config-file", conf, "upgrade")
    storage_init = ("cloudkitty-storage-init", "--config-file", conf)
    assert init.index(dbsync) < init.index(storage_init)
    assert init.index(curls[-1]) < init.index(storage_init)
    assert (result.data_dir / "locks").is_dir()
    assert ("sudo", "install", "-d", "-o", STACK_USER, "-m", "755",
            str(result.data_dir), str(result.data_dir / "locks")) in init


def test_extra_starts_both_services(devstack: Devstack) -> None:
    result = devstack.stack()
    extra = result.in_phase("stack extra")
    conf = result.conf_path
    assert ("run_process", "ck-proc",
            f"{result.bin_dir}/cloudkitty-processor --config-file={conf}"
            ) in extra
    assert ("run_process", "ck-api",
            f"{result.bin_dir}/uwsgi --procname-prefix cloudkitty-api "
            f"--ini {result.uwsgi_path}") in extra
    assert extra[-1] == ("wait_for_service", "60",
                         f"http://{SERVICE_HOST}/rating")
    # Nothing started before the extra phase.
    assert all(c[0] != "run_process" for c in result.calls
               if c not in extra)


def test_api_not_answering_fails_the_stack(devstack: Devstack) -> None:
    result = devstack.run(*STACK, FAKE_WAIT_FAIL="/rating")
    assert result.returncode == 1
    assert "ck-api did not start" in result.stderr


def test_influxdb_not_answering_fails_the_stack(devstack: Devstack) -> None:
    result = devstack.run(*STACK, FAKE_WAIT_FAIL=":8086/ping")
    assert result.returncode == 1
    assert (f"InfluxDB does not answer at http://{SERVICE_HOST}:8086"
            in result.stderr)
    assert result.args("curl") == []
    assert result.args("cloudkitty-dbsync") == []


# -- other choices ------------------------------------------------------------

def test_prometheus_sqlalchemy_without_uwsgi(devstack: Devstack) -> None:
    result = devstack.stack(
        CLOUDKITTY_COLLECTOR="prometheus", CLOUDKITTY_FETCHER="prometheus",
        CLOUDKITTY_STORAGE_BACKEND="sqlalchemy",
        CLOUDKITTY_USE_UWSGI="false",
        CLOUDKITTY_PROMETHEUS_URL="http://prom.example:9090/api/v1")
    conf = result.ini()
    assert conf["collect"]["collector"] == "prometheus"
    assert conf["collector_prometheus"]["prometheus_url"] == (
        "http://prom.example:9090/api/v1")
    assert conf["collect"]["scope_key"] == "project_id"
    assert dict(conf["fetcher_prometheus"]) == {
        "prometheus_url": "http://prom.example:9090/api/v1",
        "metric": "openstack_identity_project_info",
        "scope_attribute": "id"}
    assert (result.conf_dir / "metrics.yml").read_text() == (
        REPO / "etc" / "cloudkitty" / "metrics-prometheus.yml").read_text()
    assert conf["storage"]["backend"] == "sqlalchemy"
    assert not {"storage_influxdb", "collector_gnocchi", "fetcher_gnocchi",
                "oslo_middleware"} & set(conf.sections())
    # No InfluxDB, no uwsgi, the development server on its port.
    for name in ("curl", "write_uwsgi_config", "install_apache_uwsgi"):
        assert result.args(name) == []
    assert ("install_package", "influxdb") not in result.calls
    assert not result.uwsgi_path.exists()
    assert result.args("get_or_create_endpoint") == [
        ("rating", "RegionOne", f"http://{SERVICE_HOST}:8889")]
    assert ("ck-api", f"{result.bin_dir}/cloudkitty-api "
            f"--config-file={result.conf_path}") in result.args("run_process")
    assert result.args("wait_for_service") == [
        ("60", f"http://{SERVICE_HOST}:8889")]


def test_metrics_file_already_in_the_configuration_directory(
        devstack: Devstack) -> None:
    own = devstack.conf_dir / "metrics.yml"
    own.parent.mkdir(parents=True)
    own.write_text((REPO / "etc" / "cloudkitty" / "metrics.yml").read_text()
                   + "# edited in place\n")
    result = devstack.stack(CLOUDKITTY_METRICS_CONF=str(own))
    assert own.read_text().endswith("# edited in place\n")
    assert result.ini()["collect"]["metrics_conf"] == str(own)


def test_keystone_fetcher(devstack: Devstack) -> None:
    conf = devstack.stack(CLOUDKITTY_FETCHER="keystone").ini()
    assert conf["fetcher"]["backend"] == "keystone"
    assert dict(conf["fetcher_keystone"]) == {
        "auth_section": "authinfos", "keystone_version": "3"}


def test_variables_from_local_conf(devstack: Devstack,
                                   tmp_path: pathlib.Path) -> None:
    metrics_file = tmp_path / "my-metrics.yml"
    metrics_file.write_text((REPO / "etc" / "cloudkitty" /
                             "metrics.yml").read_text() + "# mine\n")
    result = devstack.stack(
        CLOUDKITTY_METRICS_CONF=str(metrics_file),
        CLOUDKITTY_COLLECTOR="prometheus",
        CLOUDKITTY_PROMETHEUS_SCOPE_KEY="tenant_id",
        CLOUDKITTY_INFLUXDB_HOST="influx.example",
        CLOUDKITTY_INFLUXDB_PORT="18086",
        CLOUDKITTY_INFLUXDB_DATABASE="rated",
        CLOUDKITTY_INFLUXDB_USER="ck", CLOUDKITTY_INFLUXDB_PASSWORD="pw",
        CLOUDKITTY_INSTALL_INFLUXDB="False",
        CLOUDKITTY_WAIT_PERIODS="2", CLOUDKITTY_PERIOD="600",
        CLOUDKITTY_AUTH_STRATEGY="noauth")
    conf = result.ini()
    assert (result.conf_dir / "metrics.yml").read_text().endswith("# mine\n")
    assert conf["collect"]["scope_key"] == "tenant_id"
    assert conf["collect"]["wait_periods"] == "2"
    assert conf["collect"]["period"] == "600"
    assert dict(conf["storage_influxdb"]) == {
        "version": "1", "host": "influx.example", "port": "18086",
        "database": "rated", "username": "ck", "password": "pw"}
    curls = result.args("curl")
    assert curls and all(("-u", "ck:pw") == c[3:5] for c in curls)
    assert all("http://influx.example:18086/query" in c for c in curls)
    assert ("install_package", "influxdb") not in result.calls
    assert conf["DEFAULT"]["auth_strategy"] == "noauth"
    assert "keystone_authtoken" not in conf
    assert result.args("configure_keystone_authtoken_middleware") == []


@pytest.mark.parametrize("backend", ["elasticsearch", "opensearch", "loki"])
def test_unsupported_storage_backend_fails_early(devstack: Devstack,
                                                 backend: str) -> None:
    result = devstack.run(*STACK, CLOUDKITTY_STORAGE_BACKEND=backend)
    assert result.returncode == 1
    assert (f"CLOUDKITTY_STORAGE_BACKEND={backend} is not supported"
            in result.stderr)
    assert "influxdb sqlalchemy" in result.stderr
    # Stopped in pre-install, before installing or configuring anything.
    assert [c[0] for c in result.calls] == ["phase", "die"]


@pytest.mark.parametrize(("variables", "message"), [
    ({"CLOUDKITTY_INFLUX_VERSION": "2"},
     "CLOUDKITTY_INFLUX_VERSION=2 is not supported (only InfluxDB 1.x is)"),
    ({"CLOUDKITTY_STORAGE_VERSION": "1"},
     "CLOUDKITTY_STORAGE_VERSION=1 is not supported"),
    ({"CLOUDKITTY_COLLECTOR": "aetos"},
     "CLOUDKITTY_COLLECTOR=aetos is not supported "
     "(choose one of: gnocchi prometheus)"),
    ({"CLOUDKITTY_FETCHER": "source"},
     "CLOUDKITTY_FETCHER=source is not supported"),
    ({"CLOUDKITTY_AUTH_STRATEGY": "basic"},
     "CLOUDKITTY_AUTH_STRATEGY=basic is not supported"),
])
def test_unsupported_choices_fail_early(devstack: Devstack,
                                        variables: dict[str, str],
                                        message: str) -> None:
    result = devstack.run(*STACK, **variables)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.names() == ["phase", "die"]


def test_influx_version_ignored_without_influxdb(devstack: Devstack) -> None:
    result = devstack.stack(CLOUDKITTY_STORAGE_BACKEND="sqlalchemy",
                            CLOUDKITTY_INFLUX_VERSION="2")
    assert "storage_influxdb" not in result.ini()


def test_influxdb_package_only_on_debian_family(devstack: Devstack) -> None:
    result = devstack.run(*STACK, FAKE_IS_UBUNTU="0")
    assert result.returncode == 1
    assert "CLOUDKITTY_INSTALL_INFLUXDB=False" in result.stderr
    ok = devstack.run(*STACK, FAKE_IS_UBUNTU="0",
                      CLOUDKITTY_INSTALL_INFLUXDB="False")
    assert ok.returncode == 0, ok.stderr


def test_client_from_git(devstack: Devstack) -> None:
    result = devstack.stack(LIBS_FROM_GIT="python-cloudkittyclient")
    assert result.args("git_clone_by_name") == [("python-cloudkittyclient",)]
    assert result.args("setup_dev_lib") == [("python-cloudkittyclient",)]
    assert result.args("pip_install_gr") == []


def test_no_dashboard_without_horizon(devstack: Devstack) -> None:
    result = devstack.stack(ENABLED_SERVICES="key,mysql,rabbit")
    assert result.args("git_clone") == []
    assert list(result.horizon_enabled.iterdir()) == []


def test_processor_only(devstack: Devstack) -> None:
    result = devstack.stack(DISABLED_SERVICES="ck-api")
    assert [c[0] for c in result.args("run_process")] == ["ck-proc"]
    assert result.args("install_apache_uwsgi") == []
    assert result.args("write_uwsgi_config") == []
    assert [c for c in result.args("wait_for_service")
            if "/rating" in c[1]] == []


def test_plugin_does_nothing_when_disabled(devstack: Devstack) -> None:
    result = devstack.run(*STACK, "unstack", "clean",
                          DISABLED_SERVICES="ck-api,ck-proc")
    assert result.returncode == 0, result.stderr
    assert set(result.names()) == {"phase"}
    assert not result.conf_dir.exists()


def test_test_config_phase(devstack: Devstack) -> None:
    result = devstack.run("stack test-config",
                          ENABLED_SERVICES="key,tempest")
    assert result.returncode == 0, result.stderr
    tempest = read_ini(devstack.root / "tempest.conf")
    assert tempest["service_available"]["cloudkitty"] == "True"


# -- unstack and clean --------------------------------------------------------

def test_unstack_then_clean(devstack: Devstack) -> None:
    devstack.stack()
    enabled = devstack.horizon_dir / "openstack_dashboard" / "local" / \
        "enabled"
    (enabled / "_10_other_panel.py").write_text("# another plugin\n")

    unstack = devstack.run("unstack")
    assert unstack.returncode == 0, unstack.stderr
    assert unstack.args("stop_process") == [("ck-api",), ("ck-proc",)]
    # unstack keeps the configuration for the next stack.
    assert unstack.conf_path.exists()

    clean = devstack.run("unstack", "clean")
    assert clean.returncode == 0, clean.stderr
    assert clean.args("remove_uwsgi_config") == [
        (str(clean.uwsgi_path), "cloudkitty-api")]
    assert not clean.conf_dir.exists()
    assert not clean.data_dir.exists()
    assert sorted(p.name for p in enabled.iterdir()) == [
        "_10_other_panel.py"]


# -- the written configuration is one CloudKitty reads ----------------------

CHOICES = [
    {},
    {"CLOUDKITTY_FETCHER": "keystone"},
    {"CLOUDKITTY_COLLECTOR": "prometheus", "CLOUDKITTY_FETCHER": "prometheus",
     "CLOUDKITTY_STORAGE_BACKEND": "sqlalchemy",
     "CLOUDKITTY_USE_UWSGI": "False"},
    {"CLOUDKITTY_INFLUXDB_USER": "ck", "CLOUDKITTY_INFLUXDB_PASSWORD": "pw",
     "CLOUDKITTY_AUTH_STRATEGY": "noauth"},
]


@pytest.mark.parametrize("variables", CHOICES,
                         ids=lambda v: ",".join(f"{k[11:]}={x}" for k, x in
                                                v.items()) or "defaults")
def test_every_option_written_is_defined(devstack: Devstack,
                                         variables: dict[str, str]) -> None:
    result = devstack.stack(**variables)
    parser = result.ini()
    conf = load_conf(result.conf_path)
    assert unknown_options(conf, parser) == []
    assert conf.fetcher.backend == parser["fetcher"]["backend"]
    assert conf.collect.collector == parser["collect"]["collector"]
    assert conf.collect.wait_periods == 0
    assert conf.storage.version == 2
    # The metrics file copied for the collector passes its validation.
    metrics.check_metrics_conf(conf)
    # Groups pointing at the shared section get Keystone credentials.
    for group in ("collector_gnocchi", "fetcher_gnocchi", "fetcher_keystone"):
        if group in parser:
            plugin = _keystone.load_auth(conf, group)
            assert plugin is not None
            assert plugin.auth_url == KEYSTONE_URI


# -- real commands on the written configuration ------------------------------

def _venv_bin() -> pathlib.Path:
    return pathlib.Path(sys.executable).parent


def test_post_config_with_real_commands(devstack: Devstack,
                                        tmp_path: pathlib.Path) -> None:
    """The real policy generator, dbsync and storage-init run on the
    configuration the plugin wrote (SQLite database, sqlalchemy storage),
    and the API is built from it."""
    db = tmp_path / "cloudkitty.sqlite"
    result = devstack.run_real(
        _venv_bin(), "stack post-config",
        FAKE_DATABASE_URL=f"sqlite:///{db}",
        CLOUDKITTY_STORAGE_BACKEND="sqlalchemy",
        CLOUDKITTY_AUTH_STRATEGY="noauth")
    assert result.returncode == 0, result.stderr
    policy = (result.conf_dir / "policy.yaml").read_text()
    assert '#"context_is_admin": "role:admin"' in policy
    tables = set(sa.inspect(sa.create_engine(f"sqlite:///{db}"))
                 .get_table_names())
    assert {"hashmap_services", "cloudkitty_storage_states"} <= tables
    conf = load_conf(result.conf_path)
    client = webtest.TestApp(app.build_wsgi_app(conf))
    versions = client.get("/").json
    assert {v["id"] for v in versions["versions"]} >= {"v1", "v2"}
    assert client.get("/healthcheck").status_int == 200


INFLUXDB_URL = os.environ.get("CLOUDKITTY_TEST_INFLUXDB_URL",
                              "http://127.0.0.1:8086").rstrip("/")


def _influxdb_available() -> bool:
    try:
        return requests.get(f"{INFLUXDB_URL}/ping", timeout=2
                            ).status_code == 204
    except requests.RequestException:
        return False


def _influx_query(query: str) -> dict[str, Any]:
    resp = requests.post(f"{INFLUXDB_URL}/query", data={"q": query},
                         timeout=30)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()["results"][0]
    assert "error" not in result, result
    return result


@needs(_influxdb_available(), f"no InfluxDB at {INFLUXDB_URL}")
def test_influxdb_database_created_for_real(devstack: Devstack,
                                            tmp_path: pathlib.Path) -> None:
    """Against the InfluxDB of tools/services.sh: the plugin's init creates
    the database and cloudkitty-storage-init accepts it."""
    host, port = INFLUXDB_URL.split("://", 1)[1].rsplit(":", 1)
    name = f"ck_devstack_{uuid.uuid4().hex[:10]}"
    db = tmp_path / "cloudkitty.sqlite"
    try:
        result = devstack.run_real(
            _venv_bin(), "stack post-config", FAKE_REAL_CURL="1",
            FAKE_DATABASE_URL=f"sqlite:///{db}",
            CLOUDKITTY_INFLUXDB_HOST=host, CLOUDKITTY_INFLUXDB_PORT=port,
            CLOUDKITTY_INFLUXDB_DATABASE=name,
            CLOUDKITTY_AUTH_STRATEGY="noauth")
        assert result.returncode == 0, result.stderr
        shown = _influx_query("SHOW DATABASES")
        names = {row[0] for serie in shown.get("series", [])
                 for row in serie["values"]}
        assert name in names
    finally:
        _influx_query(f'DROP DATABASE "{name}"')


# -- linters ------------------------------------------------------------------

def _tool(name: str, venv: bool = False) -> str:
    path = (shutil.which(name, path=str(_venv_bin())) if venv else None) \
        or shutil.which(name)
    if path is None:
        if REQUIRED:
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    return path


SHELL_FILES = [PLUGIN_DIR / "plugin.sh", PLUGIN_DIR / "settings",
               FAKES / "functions.sh", FAKES / "run-phases.sh"]


def test_shellcheck() -> None:
    proc = subprocess.run(
        [_tool("shellcheck"), "--external-sources", *map(str, SHELL_FILES)],
        cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bashate() -> None:
    # Long lines are accepted, as in DevStack itself; the settings file is
    # sourced, not run, so it has no "#!" line.
    bashate = _tool("bashate", venv=True)
    for path, ignore in ((PLUGIN_DIR / "plugin.sh", "E006"),
                         (PLUGIN_DIR / "settings", "E006,E005")):
        proc = subprocess.run(
            [bashate, "--ignore", ignore, "--error", "E*", str(path)],
            capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
