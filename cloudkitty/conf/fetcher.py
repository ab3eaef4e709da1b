"""[fetcher] and [fetcher_*] options: how scopes are discovered."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import _clients, _keystone, _util

FETCHER_OPTS: list[cfg.Opt] = [
    cfg.StrOpt("backend", default="keystone",
               help="Scope fetcher (an entry point of cloudkitty.fetchers)."),
]

KEYSTONE_OPTS: list[cfg.Opt] = [
    cfg.StrOpt("keystone_version", default="3", choices=["2", "3"],
               help="Identity API version used to list projects."),
    cfg.BoolOpt("ignore_rating_role", default=False,
                help="Rate every project, not only those where the "
                     "CloudKitty user holds the 'rating' role."),
    cfg.BoolOpt("ignore_disabled_tenants", default=False,
                help="Leave disabled projects out of rating."),
]

GNOCCHI_OPTS: list[cfg.Opt] = [
    cfg.StrOpt("scope_attribute", default="project_id",
               help="Resource attribute whose values are the scope ids."),
    cfg.ListOpt("resource_types", default=["generic"],
                help="Gnocchi resource types searched for scopes."),
    *_clients.gnocchi_opts(),
]

PROMETHEUS_OPTS: list[cfg.Opt] = [
    cfg.StrOpt("metric",
               help="Prometheus metric whose label values are the scope ids."),
    cfg.StrOpt("scope_attribute", default="project_id",
               help="Label holding the scope id."),
    *_clients.prometheus_opts(url_default=None),
    cfg.DictOpt("filters", default={},
                help="Label matchers (label:value,...) added to the scope "
                     "discovery query."),
]

SOURCE_OPTS: list[cfg.Opt] = [
    cfg.ListOpt("sources", default=[],
                help="Fixed list of scope ids to rate."),
]

_GROUPS: list[tuple[str, list[cfg.Opt]]] = [
    ("fetcher", FETCHER_OPTS),
    ("fetcher_keystone", KEYSTONE_OPTS),
    ("fetcher_gnocchi", GNOCCHI_OPTS),
    ("fetcher_prometheus", PROMETHEUS_OPTS),
    ("fetcher_source", SOURCE_OPTS),
]
#: Groups carrying keystoneauth options, each with the ``(group, option,
#: value)`` that selects the fetcher reading them.
KEYSTONE_AUTH: dict[str, tuple[str, str, str]] = {
    "fetcher_keystone": ("fetcher", "backend", "keystone"),
    "fetcher_gnocchi": ("fetcher", "backend", "gnocchi"),
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the groups' own options; the keystoneauth options of
    :data:`KEYSTONE_AUTH` are registered by
    :func:`cloudkitty.conf.register_source_auth`."""
    for group, opts in _GROUPS:
        _util.register(conf, group, opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [
        (group, opts + (_keystone.list_opts()
                        if group in KEYSTONE_AUTH else []))
        for group, opts in _GROUPS
    ]
