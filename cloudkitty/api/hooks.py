"""Pecan hooks: what every controller finds on ``pecan.request``.

========================  ==================================================
``request.conf``          the service's ``oslo_config.cfg.ConfigOpts``
``request.enforcer``      the ``oslo_policy.policy.Enforcer`` (always set)
``request.context``       a :class:`cloudkitty.api.context.RequestContext`
========================  ==================================================

Later resources (storage backend, RPC client...) get one small hook each,
added to :func:`default_hooks`; a hook receives what it hands out in its
constructor so nothing is looked up globally.
"""
from __future__ import annotations

import pecan
import webob.exc
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from cloudkitty import exceptions
from cloudkitty.api import errors, policy, request_check
from cloudkitty.api.context import RequestContext

__all__ = ["ConfigHook", "ContextHook", "ErrorHook", "PolicyHook",
           "RequestCheckHook", "default_hooks"]


class RequestCheckHook(pecan.hooks.PecanHook):
    """Refuses unreadable requests (invalid UTF-8, NUL characters,
    malformed form bodies) before routing, with a 400 naming the part; see
    :mod:`cloudkitty.api.request_check`."""

    def on_route(self, state: pecan.core.RoutingState) -> None:
        request_check.check_request(state.request)


class ConfigHook(pecan.hooks.PecanHook):
    """Sets ``request.conf``."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def before(self, state: pecan.core.RoutingState) -> None:
        state.request.conf = self.conf


class PolicyHook(pecan.hooks.PecanHook):
    """Sets ``request.enforcer``."""

    def __init__(self, enforcer: oslo_policy.Enforcer) -> None:
        self.enforcer = enforcer

    def before(self, state: pecan.core.RoutingState) -> None:
        state.request.enforcer = self.enforcer


class ContextHook(pecan.hooks.PecanHook):
    """Sets ``request.context`` from the identity headers keystonemiddleware
    adds (``X-Roles``, ``X-Project-Id``, ``X-User-Id``...).

    The context carries the enforcer only when ``auth_strategy`` is
    ``keystone``, which is what makes :func:`policy.authorize` enforce.
    """

    def __init__(self, conf: cfg.ConfigOpts,
                 enforcer: oslo_policy.Enforcer) -> None:
        self.enforcer = (enforcer if conf.auth_strategy == "keystone"
                         else None)

    def before(self, state: pecan.core.RoutingState) -> None:
        environ = state.request.environ
        context = RequestContext.from_environ(environ,
                                              enforcer=self.enforcer)
        context.is_admin = policy.check_is_admin(self.enforcer,
                                                 context.roles)
        state.request.context = context


class ErrorHook(pecan.hooks.PecanHook):
    """Turns any exception into the JSON error of the path's API version
    (see :mod:`cloudkitty.api.errors`)."""

    def on_error(self, state: pecan.core.RoutingState,
                 exc: Exception) -> object:
        if isinstance(exc, webob.exc.HTTPBadRequest) and \
                isinstance(exc.__context__, UnicodeDecodeError):
            # Pecan's bare 400 for an undecodable path (read before any
            # hook runs): say which part it was.
            try:
                request_check.check_request(state.request)
            except exceptions.InvalidInput as precise:
                return errors.to_response(state.request, precise)
        return errors.to_response(state.request, exc)


def default_hooks(conf: cfg.ConfigOpts, enforcer: oslo_policy.Enforcer
                  ) -> list[pecan.hooks.PecanHook]:
    """The hooks of the application, in the order their ``before`` run."""
    return [
        RequestCheckHook(),
        ConfigHook(conf),
        PolicyHook(enforcer),
        ContextHook(conf, enforcer),
        ErrorHook(),
    ]
