"""Rules of the deprecated /v1/collector API."""
from __future__ import annotations

from oslo_policy import policy

from cloudkitty.api.policies.base import ROLE_ADMIN, documented

_MAPPINGS = "/v1/collector/mappings"

RULES: list[policy.RuleDefault] = [
    documented("collector:list_mappings", ROLE_ADMIN,
               "List the service to collector mappings.",
               [("GET", _MAPPINGS)]),
    documented("collector:get_mapping", ROLE_ADMIN,
               "Show the collector mapped to a service.",
               [("GET", _MAPPINGS + "/{service_id}")]),
    documented("collector:manage_mapping", ROLE_ADMIN,
               "Create or delete a service to collector mapping.",
               [("POST", _MAPPINGS), ("DELETE", _MAPPINGS)]),
    documented("collector:get_state", ROLE_ADMIN,
               "Show whether a collector is enabled.",
               [("GET", "/v1/collector/states")]),
    documented("collector:update_state", ROLE_ADMIN,
               "Enable or disable a collector.",
               [("PUT", "/v1/collector/states")]),
]
