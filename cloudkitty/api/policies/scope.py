"""Rules of /v2/scope and /v2/task/reprocesses."""
from __future__ import annotations

from oslo_policy import policy

from cloudkitty.api.policies.base import ROLE_ADMIN, documented

_SCOPE = "/v2/scope"
_REPROCESSES = "/v2/task/reprocesses"

RULES: list[policy.RuleDefault] = [
    documented("scope:get_state", ROLE_ADMIN,
               "List the processing state of scopes.",
               [("GET", _SCOPE)]),
    documented("scope:reset_state", ROLE_ADMIN,
               "Reset the processing state of scopes to a past date.",
               [("PUT", _SCOPE)]),
    documented("scope:patch_state", ROLE_ADMIN,
               "Change the attributes of a scope (key, fetcher, collector, "
               "active).",
               [("PATCH", _SCOPE)]),
    documented("scope:post_state", ROLE_ADMIN,
               "Create a scope.",
               [("POST", _SCOPE)]),
    documented("schedule:task_reprocesses", ROLE_ADMIN,
               "Schedule the reprocessing of a past window for scopes.",
               [("POST", _REPROCESSES)]),
    documented("schedule:get_task_reprocesses", ROLE_ADMIN,
               "List the scheduled reprocessing tasks.",
               [("GET", _REPROCESSES),
                ("GET", _REPROCESSES + "/{scope_id}")]),
]
