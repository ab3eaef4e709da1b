"""Building the API application.

* :func:`setup_app` — the Pecan application alone (``/``, ``/v1``, ``/v2``).
* :func:`build_wsgi_app` — the deployed WSGI application: the paste
  pipeline ``cloudkitty+<auth_strategy>`` of ``[DEFAULT] api_paste_config``
  (CORS, proxy headers, request id, keystonemiddleware, ``/healthcheck``)
  around :func:`setup_app`, measured by
  :mod:`cloudkitty.service_metrics.api` when ``[service_metrics] enabled``.
  ``cloudkitty.wsgi.api`` and ``cloudkitty-api`` both serve it.

pecan is first imported here, by :func:`cloudkitty.cli._lean.import_pecan`,
so the API does not load pygments.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log
from paste import deploy

from cloudkitty import exceptions, service
from cloudkitty.cli import _lean

_lean.import_pecan()

import pecan  # noqa: E402

from cloudkitty.api import hooks, middleware, policy, root  # noqa: E402

LOG = log.getLogger(__name__)

__all__ = ["API_CHECKS", "app_factory", "build_wsgi_app", "paste_config_path",
           "setup_app"]

#: Start-up checks of the API processes (see ``service.prepare_service``).
API_CHECKS: tuple[service.Check, ...] = (service.check_storage_backend,)


def setup_app(conf: cfg.ConfigOpts,
              extra_hooks: Sequence[pecan.hooks.PecanHook] = ()) -> Any:
    """The Pecan application, configured by ``conf``."""
    enforcer = policy.make_enforcer(conf)
    app_hooks = hooks.default_hooks(conf, enforcer) + list(extra_hooks)
    if _service_metrics_enabled(conf):
        from cloudkitty.service_metrics import api as api_metrics

        app_hooks.append(api_metrics.RouteHook())
    return pecan.make_app(
        root.RootController(),
        hooks=app_hooks,
        debug=conf.api.pecan_debug,
        # Metric ids and other path segments may contain dots: never read
        # a ".json" suffix as a content type.
        guess_content_type_from_ext=False,
        force_canonical=False,
    )


def _service_metrics_enabled(conf: cfg.ConfigOpts) -> bool:
    try:
        return bool(conf.service_metrics.enabled)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def app_factory(global_conf: dict[str, Any], **_local: Any) -> Any:
    """Paste application factory of ``[app:cloudkitty]``."""
    return setup_app(middleware.conf_from_paste(global_conf))


def paste_config_path(conf: cfg.ConfigOpts) -> str:
    """Absolute path of ``[DEFAULT] api_paste_config``; a relative path is
    looked up next to the configuration files."""
    name = conf.api_paste_config
    found = conf.find_file(name)
    if found is None:
        raise exceptions.ConfigError(
            f"paste configuration file '{name}' not found",
            file=service.option_file(conf, "api_paste_config")
            or service.config_files(conf),
            section="DEFAULT", option="api_paste_config")
    return os.path.abspath(found)


def build_wsgi_app(conf: cfg.ConfigOpts) -> Any:
    """The WSGI application of the API, as deployed.

    Raises :class:`cloudkitty.exceptions.ConfigError` naming the option when
    the paste file is missing or has no pipeline for ``auth_strategy``.
    """
    path = paste_config_path(conf)
    pipeline = f"cloudkitty+{conf.auth_strategy}"
    key = middleware.register_conf(conf)
    try:
        application = deploy.loadapp(f"config:{path}", name=pipeline,
                                     global_conf={middleware.CONF_KEY: key})
    except LookupError as exc:
        raise exceptions.ConfigError(
            f"no pipeline '{pipeline}' in the paste file ({exc})",
            file=path, section="DEFAULT", option="auth_strategy") from None
    LOG.info("API pipeline %s loaded from %s", pipeline, path)
    if _service_metrics_enabled(conf):
        from cloudkitty.service_metrics import api as api_metrics

        application = api_metrics.wrap(application, conf)
    return application
