"""The default stack: each phase's helper calls, commands and files."""
from __future__ import annotations

from cloudkitty.tests.devstack_fakes import (
    KEYSTONE_URI,
    REPO,
    SERVICE_HOST,
    STACK,
    STACK_USER,
    Devstack,
)


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
