"""Options of the Prometheus and Gnocchi clients, shared by the collector
and fetcher groups that talk to those services (each group gets its own
option objects)."""
from __future__ import annotations

from oslo_config import cfg


def prometheus_opts(url_default: str | None) -> list[cfg.Opt]:
    return [
        cfg.StrOpt("prometheus_url", default=url_default,
                   help="Prometheus HTTP API base URL, including /api/v1."),
        cfg.StrOpt("prometheus_user",
                   help="User name for HTTP basic authentication."),
        cfg.StrOpt("prometheus_password", secret=True,
                   help="Password for HTTP basic authentication."),
        cfg.StrOpt("cafile",
                   help="CA bundle used to verify Prometheus' certificate."),
        cfg.BoolOpt("insecure", default=False,
                    help="Skip verification of Prometheus' certificate."),
        # A float as upstream, so existing files with fractional values load.
        cfg.FloatOpt("timeout", default=60, min=1,
                     help="Timeout in seconds of one Prometheus request."),
    ]


def gnocchi_opts() -> list[cfg.Opt]:
    return [
        cfg.StrOpt("gnocchi_auth_type", default="keystone",
                   choices=["keystone", "basic"],
                   help="How to authenticate against Gnocchi; Keystone "
                        "credentials come from the group's keystoneauth "
                        "options (or auth_section)."),
        cfg.StrOpt("gnocchi_user", default="",
                   help="User name with basic authentication."),
        cfg.StrOpt("gnocchi_endpoint", default="",
                   help="Gnocchi URL with basic authentication."),
        cfg.StrOpt("interface", default="internalURL",
                   help="Endpoint interface looked up in the Keystone "
                        "catalog."),
        cfg.StrOpt("region_name", default="RegionOne",
                   help="Region looked up in the Keystone catalog."),
        cfg.IntOpt("http_pool_maxsize", default=10, min=1,
                   help="Maximum number of pooled HTTP connections to "
                        "Gnocchi."),
    ]
