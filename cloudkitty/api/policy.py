"""Policy enforcement (oslo.policy) for the API.

Controllers call :func:`authorize` with ``pecan.request.context``; it raises
:class:`PolicyNotAuthorized` (HTTP 403) when the caller may not perform the
action. Nothing is checked when ``[DEFAULT] auth_strategy`` is not
``keystone``: the context then carries no enforcer.

oslo.policy loads every extension check (``oslo.policy.rule_checks``
entry points) the first time it parses a rule, and its ``http:`` check
imports requests; :func:`defer_extension_checks` makes each check load
only when a rule uses its kind.
"""
from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log
from oslo_policy import policy as oslo_policy

from cloudkitty import exceptions, service
from cloudkitty.api.context import RequestContext

LOG = log.getLogger(__name__)

__all__ = ["PolicyNotAuthorized", "authorize", "check_is_admin",
           "defer_extension_checks", "get_enforcer", "make_enforcer"]

#: Entry point group of oslo.policy's extension checks.
_CHECKS_GROUP = "oslo.policy.rule_checks"


class PolicyNotAuthorized(exceptions.Forbidden):
    """The policy denies ``action`` (a rule name) to the caller."""

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(f"Policy doesn't allow {action} to be performed.")


class _DeferredCheck:
    """The check class of one extension entry point, loaded the first time
    a rule of its kind is parsed."""

    def __init__(self, entry_point: importlib.metadata.EntryPoint) -> None:
        self._entry_point = entry_point
        self._check: Any = None

    def __call__(self, kind: str, match: str) -> Any:
        if self._check is None:
            self._check = self._entry_point.load()
        return self._check(kind, match)


def defer_extension_checks() -> bool:
    """Have oslo.policy load an extension check only when a rule uses it.

    Must run before the first rule is parsed (the default rules are parsed
    when :mod:`cloudkitty.api.policies` is imported). Does nothing, and
    returns False, once oslo.policy has loaded its extensions, or if its
    private ``_checks.extension_checks`` cache does not exist (another
    oslo.policy release); returns True when it took effect.
    """
    try:
        from oslo_policy import _checks
    except ImportError:
        return False
    if getattr(_checks, "extension_checks", False) is not None:
        return False
    deferred = {ep.name: _DeferredCheck(ep) for ep in
                importlib.metadata.entry_points(group=_CHECKS_GROUP)}
    _checks.extension_checks = deferred  # type: ignore[assignment]
    return True


def make_enforcer(conf: cfg.ConfigOpts) -> oslo_policy.Enforcer:
    """An enforcer reading ``[oslo_policy]`` of ``conf``, with every
    default rule registered."""
    defer_extension_checks()
    from cloudkitty.api import policies

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
                                   setup_logging=False, source_auth=False)
    return make_enforcer(conf)
