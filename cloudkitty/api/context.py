"""The request context controllers receive as ``pecan.request.context``."""
from __future__ import annotations

from typing import Any

from oslo_context import context as oslo_context
from oslo_policy import policy as oslo_policy


class RequestContext(oslo_context.RequestContext):
    """Who is calling, as keystonemiddleware described them.

    ``enforcer`` is the policy enforcer to check rules with, or ``None`` when
    policies are not enforced (``[DEFAULT] auth_strategy = noauth``); see
    :func:`cloudkitty.api.policy.authorize`.
    """

    def __init__(self, *, enforcer: oslo_policy.Enforcer | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.enforcer = enforcer
