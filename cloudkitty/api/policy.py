"""Policy enforcement (oslo.policy) for the API.

Controllers call :func:`authorize` with ``pecan.request.context``; it raises
:class:`PolicyNotAuthorized` (HTTP 403) when the caller may not perform the
action. Nothing is checked when ``[DEFAULT] auth_strategy`` is not
``keystone``: the context then carries no enforcer.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log
from oslo_policy import policy as oslo_policy

from cloudkitty import exceptions, service
from cloudkitty.api import policies
from cloudkitty.api.context import RequestContext

LOG = log.getLogger(__name__)

__all__ = ["PolicyNotAuthorized", "authorize", "check_is_admin",
           "get_enforcer", "make_enforcer"]


class PolicyNotAuthorized(exceptions.Forbidden):
    """The policy denies ``action`` (a rule name) to the caller."""

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(f"Policy doesn't allow {action} to be performed.")


def make_enforcer(conf: cfg.ConfigOpts) -> oslo_policy.Enforcer:
    """An enforcer reading ``[oslo_policy]`` of ``conf``, with every
    default rule registered."""
    enforcer = oslo_policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def authorize(context: RequestContext, rule: str,
              target: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`PolicyNotAuthorized` unless ``context`` may do ``rule``
    on ``target`` (e.g. ``{"project_id": ...}``).

    A no-op when the context has no enforcer (``auth_strategy`` is not
    ``keystone``).
    """
    enforcer = context.enforcer
    if enforcer is None:
        return
    try:
        enforcer.authorize(rule, dict(target or {}), context,
                           do_raise=True, exc=PolicyNotAuthorized,
                           action=rule)
    except oslo_policy.InvalidScope:
        # A token of the wrong scope (system, domain) is denied like any
        # other caller the rule does not allow.
        LOG.debug("Policy %s denied: token scope not allowed", rule)
        raise PolicyNotAuthorized(rule) from None
    except PolicyNotAuthorized:
        LOG.debug("Policy %s denied to user %s on project %s", rule,
                  context.user_id, context.project_id)
        raise


def check_is_admin(enforcer: oslo_policy.Enforcer | None,
                   roles: Sequence[str]) -> bool:
    """Whether ``roles`` satisfy ``context_is_admin``; always true when
    policies are not enforced."""
    if enforcer is None:
        return True
    return bool(enforcer.authorize("context_is_admin", {},
                                   {"roles": list(roles)}))


# Options of the oslopolicy-* tools that our own parser must not see.
_TOOL_OPTIONS = frozenset({"namespace", "output-file", "format"})


def _strip_tool_options(argv: Sequence[str]) -> list[str]:
    kept: list[str] = []
    args = iter(argv)
    for arg in args:
        name = arg.lstrip("-")
        if arg.startswith("--") and name.split("=", 1)[0] in _TOOL_OPTIONS:
            if "=" not in name:
                next(args, None)
            continue
        kept.append(arg)
    return kept


def get_enforcer() -> oslo_policy.Enforcer:
    """The ``oslo.policy.enforcer`` entry point of the oslopolicy tools.

    Reads CloudKitty's configuration (``--config-file`` and friends from the
    tool's command line, else the default files) so the enforcer sees the
    deployment's ``[oslo_policy]`` settings.
    """
    conf = service.prepare_service(_strip_tool_options(sys.argv[1:]),
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False)
    return make_enforcer(conf)
