"""Option groups, names and defaults of COMPAT.md §7.3 for what we ship,
and the generated configuration sample."""
from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
from typing import Any

import pytest
from oslo_config import cfg

from cloudkitty import conf as ck_conf
from cloudkitty.conf import opts

ROOT = pathlib.Path(__file__).parents[3]

_KEYSTONEAUTH_GROUPS = ("collector_gnocchi", "fetcher_keystone",
                        "fetcher_gnocchi")

#: (group, option, default) exactly as upstream declares them.
EXPECTED: list[tuple[str, str, Any]] = [
    ("DEFAULT", "api_paste_config", "api_paste.ini"),
    ("DEFAULT", "auth_strategy", "keystone"),
    ("DEFAULT", "host", socket.getfqdn()),
    ("api", "host_ip", "0.0.0.0"),
    ("api", "port", 8889),
    ("api", "pecan_debug", False),
    ("collect", "collector", "gnocchi"),
    ("collect", "period", 3600),
    ("collect", "wait_periods", 2),
    ("collect", "metrics_conf", "/etc/cloudkitty/metrics.yml"),
    ("collect", "scope_key", "project_id"),
    ("collector_prometheus", "prometheus_url", ""),
    ("collector_prometheus", "prometheus_user", None),
    ("collector_prometheus", "prometheus_password", None),
    ("collector_prometheus", "cafile", None),
    ("collector_prometheus", "insecure", False),
    ("collector_prometheus", "timeout", 60),
    ("collector_gnocchi", "gnocchi_auth_type", "keystone"),
    ("collector_gnocchi", "gnocchi_user", ""),
    ("collector_gnocchi", "gnocchi_endpoint", ""),
    ("collector_gnocchi", "interface", "internalURL"),
    ("collector_gnocchi", "region_name", "RegionOne"),
    ("collector_gnocchi", "http_pool_maxsize", 10),
    ("fetcher", "backend", "keystone"),
    ("fetcher_keystone", "keystone_version", "3"),
    ("fetcher_keystone", "ignore_rating_role", False),
    ("fetcher_keystone", "ignore_disabled_tenants", False),
    ("fetcher_gnocchi", "scope_attribute", "project_id"),
    ("fetcher_gnocchi", "resource_types", ["generic"]),
    ("fetcher_gnocchi", "gnocchi_auth_type", "keystone"),
    ("fetcher_gnocchi", "gnocchi_user", ""),
    ("fetcher_gnocchi", "gnocchi_endpoint", ""),
    ("fetcher_gnocchi", "interface", "internalURL"),
    ("fetcher_gnocchi", "region_name", "RegionOne"),
    ("fetcher_gnocchi", "http_pool_maxsize", 10),
    ("fetcher_prometheus", "metric", None),
    ("fetcher_prometheus", "scope_attribute", "project_id"),
    ("fetcher_prometheus", "prometheus_url", None),
    ("fetcher_prometheus", "prometheus_user", None),
    ("fetcher_prometheus", "prometheus_password", None),
    ("fetcher_prometheus", "cafile", None),
    ("fetcher_prometheus", "insecure", False),
    ("fetcher_prometheus", "timeout", 60),
    ("fetcher_prometheus", "filters", {}),
    ("fetcher_source", "sources", []),
    ("orchestrator", "coordination_url", "file:///var/lib/cloudkitty/locks"),
    ("orchestrator", "max_workers", os.cpu_count()),
    ("orchestrator", "max_workers_reprocessing", os.cpu_count()),
    ("orchestrator", "max_threads", 16),
    # Ours (no upstream counterpart): rating workers, worker processes
    # and a quicker retry after a failed cycle.
    ("orchestrator", "max_workers_rating", os.cpu_count()),
    ("orchestrator", "worker_processes", 1),
    ("orchestrator", "retry_interval", 60),
    ("orchestrator", "max_scopes_per_batch", 100),
    ("orchestrator", "skip_datapoints_expression", "False"),
    ("orchestrator", "collector_request_timeout", 300),
    ("storage", "backend", "influxdb"),
    ("storage", "version", 2),
    ("storage", "retention_period", 2400),
    ("storage_influxdb", "username", None),
    ("storage_influxdb", "password", None),
    ("storage_influxdb", "database", None),
    ("storage_influxdb", "retention_policy", "autogen"),
    ("storage_influxdb", "host", "localhost"),
    ("storage_influxdb", "port", 8086),
    ("storage_influxdb", "use_ssl", False),
    ("storage_influxdb", "insecure", False),
    ("storage_influxdb", "cafile", None),
    ("storage_influxdb", "version", 1),
    ("storage_influxdb", "query_timeout", 3600000),
    ("storage_influxdb", "token", None),
    ("storage_influxdb", "org", "openstack"),
    ("storage_influxdb", "bucket", "cloudkitty"),
    ("storage_influxdb", "url", None),
    ("storage_influxdb", "timeout", 60),
    ("service_metrics", "enabled", False),
    ("service_metrics", "processor_host", "127.0.0.1"),
    ("service_metrics", "processor_port", 9780),
    ("service_metrics", "api_path", "/metrics"),
    ("service_metrics", "multiproc_dir", None),
    ("database", "connection",
     "sqlite:////var/lib/cloudkitty/cloudkitty.sqlite"),
]

#: Options of ours that are not in the table above: keystoneauth's, added
#: to the groups that talk to Keystone.
_KEYSTONEAUTH = {"auth_type", "auth_section", "auth_url", "cafile",
                 "certfile", "keyfile", "insecure", "timeout",
                 "collect_timing", "split_loggers", "tls_ciphers",
                 "tls_min_version", "system_scope", "domain_id",
                 "domain_name", "project_id", "project_name",
                 "project_domain_id", "project_domain_name", "trust_id",
                 "default_domain_id", "default_domain_name", "user_id",
                 "username", "user_domain_id", "user_domain_name",
                 "password"}


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> cfg.ConfigOpts:
    from cloudkitty import service
    path = tmp_path_factory.mktemp("conf") / "empty.conf"
    path.write_text("")
    return service.prepare_service(["--config-file", str(path)],
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False)


@pytest.mark.parametrize(("group", "name", "default"), EXPECTED,
                         ids=[f"{g}.{n}" for g, n, _ in EXPECTED])
def test_option_default(defaults: cfg.ConfigOpts, group: str, name: str,
                        default: Any) -> None:
    section = defaults if group == "DEFAULT" else defaults[group]
    assert section[name] == default


def test_no_option_of_ours_is_missing_from_the_table() -> None:
    table = {(g, n) for g, n, _ in EXPECTED}
    for group, group_opts in opts.list_opts():
        for opt in group_opts:
            if group in _KEYSTONEAUTH_GROUPS and opt.dest in _KEYSTONEAUTH:
                continue
            assert (group, opt.dest) in table, f"[{group}] {opt.dest}"


@pytest.mark.parametrize("group", _KEYSTONEAUTH_GROUPS)
def test_keystoneauth_options_in_service_groups(make_conf: Any,
                                                group: str) -> None:
    # The auth plugin's own options (auth_url, username...) are registered
    # by keystoneauth when it loads the plugin named by auth_type. The
    # group's options are there when its collector or fetcher is the
    # configured one.
    section_name, option, value = ck_conf.SOURCE_AUTH[group]
    section = make_conf({section_name: {option: value}})[group]
    for name in ("auth_type", "auth_section", "cafile", "certfile",
                 "keyfile", "insecure", "timeout"):
        assert name in section, name
    assert section.auth_type is None


def test_old_name_of_max_threads_still_read(make_conf: Any) -> None:
    conf = make_conf({"orchestrator": {"max_greenthreads": 4}})
    assert conf.orchestrator.max_threads == 4


def test_choices_and_limits_are_enforced(make_conf: Any) -> None:
    from cloudkitty import exceptions
    for section, values in [
        ("DEFAULT", {"auth_strategy": "basic"}),
        ("orchestrator", {"collector_request_timeout": 10}),
        ("storage", {"version": 3}),
        ("api", {"port": 70000}),
    ]:
        with pytest.raises(exceptions.ConfigError):
            make_conf({section: values})


def test_values_from_the_file_are_typed(make_conf: Any) -> None:
    conf = make_conf({
        "collect": {"period": 600, "scope_key": "tenant"},
        "fetcher_source": {"sources": "a,b"},
        "fetcher_prometheus": {"filters": "type:vm,zone:a",
                               "timeout": "2.5"},
        "storage_influxdb": {"use_ssl": "true"},
    })
    assert conf.collect.period == 600
    assert conf.collect.scope_key == "tenant"
    assert conf.fetcher_source.sources == ["a", "b"]
    assert conf.fetcher_prometheus.filters == {"type": "vm", "zone": "a"}
    assert conf.fetcher_prometheus.timeout == 2.5
    assert conf.storage_influxdb.use_ssl is True


# -- generated sample ------------------------------------------------------

SAMPLE_GROUPS = [
    "DEFAULT", "api", "collect", "collector_prometheus", "collector_gnocchi",
    "fetcher", "fetcher_keystone", "fetcher_gnocchi", "fetcher_prometheus",
    "fetcher_source", "orchestrator", "storage", "storage_influxdb",
    "database", "oslo_messaging_rabbit", "oslo_policy", "keystone_authtoken",
    "cors",
]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sample written by oslo-config-generator with our generator
    configuration, split into ``{section: text}``."""
    out = tmp_path_factory.mktemp("sample") / "cloudkitty.conf.sample"
    generator = pathlib.Path(sys.executable).parent / "oslo-config-generator"
    subprocess.run(
        [str(generator), "--config-file",
         str(ROOT / "etc" / "oslo-config-generator" / "cloudkitty.conf"),
         "--output-file", str(out)],
        cwd=ROOT, check=True, capture_output=True, timeout=120)
    sections: dict[str, str] = {}
    current = None
    for line in out.read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


@pytest.mark.parametrize("group", SAMPLE_GROUPS)
def test_sample_has_group(sample: dict[str, str], group: str) -> None:
    assert group in sample


def test_sample_shows_the_embedded_defaults(sample: dict[str, str]) -> None:
    assert "\n#backend = sqlalchemy\n" in sample["storage"]
    assert ("\n#connection = sqlite:////var/lib/cloudkitty/cloudkitty.sqlite"
            "\n") in sample["database"]
    assert "\n#host = <server-hostname.example.com>\n" in sample["DEFAULT"]
    assert "\n#max_workers = 4\n" in sample["orchestrator"]
    assert "\n#allow_headers = X-Auth-Token," in sample["cors"]


def test_policy_sample_generator_configuration(tmp_path: pathlib.Path
                                               ) -> None:
    out = tmp_path / "policy.yaml.sample"
    generator = (pathlib.Path(sys.executable).parent
                 / "oslopolicy-sample-generator")
    subprocess.run(
        [str(generator), "--config-file",
         str(ROOT / "etc" / "oslo-policy-generator" / "cloudkitty.conf"),
         "--output-file", str(out)],
        cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert '#"context_is_admin": "role:admin"' in out.read_text()
