"""keystoneauth session and auth options for groups that talk to services."""
from __future__ import annotations

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg


def register(conf: cfg.ConfigOpts, group: str) -> None:
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)


def list_opts() -> list[cfg.Opt]:
    opts = list(ks_loading.get_session_conf_options())
    opts += ks_loading.get_auth_common_conf_options()
    # Offer the password plugin's options in the sample, as most
    # deployments use it.
    names = {o.dest for o in opts}
    for opt in ks_loading.get_auth_plugin_conf_options("password"):
        if opt.dest not in names:
            opts.append(opt)
    return opts
