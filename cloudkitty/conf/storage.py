"""[storage] and [storage_influxdb] options."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _util

STORAGE_OPTS = [
    cfg.StrOpt("backend", default="influxdb", sample_default="sqlalchemy",
               help="Storage backend (an entry point of "
                    "cloudkitty.storage.v<version>.backends). "
                    "'sqlalchemy' keeps rated data in the [database] "
                    "database and needs no other service."),
    cfg.IntOpt("version", default=2, min=1, max=2,
               help="Storage API version. Only version 2 is supported."),
    cfg.IntOpt("retention_period", default=2400, min=0,
               help="Hours rated data is kept (0: forever)."),
]

INFLUXDB_OPTS = [
    cfg.StrOpt("username", help="InfluxDB user name."),
    cfg.StrOpt("password", secret=True, help="InfluxDB password."),
    cfg.StrOpt("database",
               help="InfluxDB database (1.x). cloudkitty-storage-init "
                    "creates it when missing, if the user may."),
    cfg.StrOpt("retention_policy", default="autogen",
               help="Retention policy written to (1.x); it must exist "
                    "(cloudkitty-storage-init checks it)."),
    cfg.HostAddressOpt("host", default="localhost", help="InfluxDB host."),
    cfg.PortOpt("port", default=8086, help="InfluxDB port."),
    cfg.BoolOpt("use_ssl", default=False, help="Talk HTTPS to InfluxDB."),
    cfg.BoolOpt("insecure", default=False,
                help="Skip verification of InfluxDB's certificate."),
    cfg.StrOpt("cafile",
               help="CA bundle used to verify InfluxDB's certificate."),
    cfg.IntOpt("version", default=1, min=1, max=2,
               help="InfluxDB major version. Only 1 is supported; 2 is "
                    "refused at start-up."),
    cfg.IntOpt("query_timeout", default=3600000, min=1,
               help="Query timeout in milliseconds (2.x)."),
    cfg.StrOpt("token", secret=True, help="API token (2.x)."),
    cfg.StrOpt("org", default="openstack", help="Organization (2.x)."),
    cfg.StrOpt("bucket", default="cloudkitty", help="Bucket (2.x)."),
    cfg.StrOpt("url", help="InfluxDB URL (2.x)."),
    cfg.IntOpt("timeout", default=60, min=1,
               help="Timeout in seconds of one InfluxDB request."),
]

_GROUPS: list[tuple[str, list[cfg.Opt]]] = [
    ("storage", STORAGE_OPTS), ("storage_influxdb", INFLUXDB_OPTS)]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in _GROUPS:
        _util.register(conf, group, opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return list(_GROUPS)
