"""Stacks with other choices of local.conf variables, and the choices
the plugin refuses."""
from __future__ import annotations

import pathlib

import pytest

from cloudkitty.tests.devstack_fakes import (
    REPO,
    SERVICE_HOST,
    STACK,
    Devstack,
    read_ini,
)


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
