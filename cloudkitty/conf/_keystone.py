"""keystoneauth session and auth options for groups that talk to services.

keystoneauth (and requests, urllib3... behind it) is imported by these
functions, never when this module is: a process that registers none of
these groups, such as the API, does not load it.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg

from cloudkitty import exceptions


def register(conf: cfg.ConfigOpts, group: str) -> None:
    """Register the session and auth options of ``group``; registering
    them again is harmless."""
    from keystoneauth1 import loading as ks_loading

    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)


def list_opts() -> list[cfg.Opt]:
    from keystoneauth1 import loading as ks_loading

    opts = list(ks_loading.get_session_conf_options())
    opts += ks_loading.get_auth_common_conf_options()
    # Offer the password plugin's options in the sample, as most
    # deployments use it.
    names = {o.dest for o in opts}
    for opt in ks_loading.get_auth_plugin_conf_options("password"):
        if opt.dest not in names:
            opts.append(opt)
    return opts


def load_auth(conf: cfg.ConfigOpts, group: str) -> Any:
    """The keystoneauth plugin of ``group`` (or of its ``auth_section``),
    None when no credentials are configured.

    The options of ``group`` are registered first if start-up did not
    (its collector or fetcher was not the configured one).

    Raises :class:`ConfigError` naming the section when the credentials
    are incomplete or name an unknown plugin.
    """
    from keystoneauth1 import exceptions as ks_exc
    from keystoneauth1 import loading as ks_loading

    register(conf, group)
    section = getattr(conf, group).auth_section
    if section:
        # keystoneauth reads auth_type from the referenced section, which
        # must therefore carry the base auth options; register them unless
        # their owner (keystonemiddleware, say) already has.
        try:
            ks_loading.register_auth_conf_options(conf, section)
        except cfg.DuplicateOptError:
            pass
    where = section or group
    try:
        return ks_loading.load_auth_from_conf_options(conf, group)
    except ks_exc.NoMatchingPlugin as exc:
        raise exceptions.ConfigError(
            str(exc), section=where, option="auth_type") from None
    except ks_exc.MissingRequiredOptions as exc:
        names = ", ".join(o.dest for o in exc.options)
        raise exceptions.ConfigError(
            f"missing keystone auth options: {names}",
            section=where) from None
