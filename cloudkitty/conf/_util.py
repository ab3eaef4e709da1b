"""Small helper shared by the per-group option modules."""
from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg


def register(conf: cfg.ConfigOpts, group: str | None,
             opts: Sequence[cfg.Opt]) -> None:
    """Register ``opts`` in ``group`` (``None`` or ``DEFAULT``: no group)."""
    if group in (None, "DEFAULT"):
        conf.register_opts(list(opts))
    else:
        conf.register_opts(list(opts), group=group)
