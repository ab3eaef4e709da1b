"""Option catalogue for oslo-config-generator (namespace
``cloudkitty.common.config``, the name upstream deployments use)."""
from __future__ import annotations

from oslo_config import cfg

from cloudkitty import conf as ck_conf


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    result: list[tuple[str, list[cfg.Opt]]] = []
    for module in ck_conf.OWN_MODULES:
        result.extend(module.list_opts())
    return result
