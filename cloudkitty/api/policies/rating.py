"""Rules of the rating module APIs (/v1/rating and /v2/rating)."""
from __future__ import annotations

from oslo_policy import policy

from cloudkitty.api.policies.base import ROLE_ADMIN, UNPROTECTED, documented

_V1_MODULES = "/v1/rating/modules"
_V2_MODULES = "/v2/rating/modules"

RULES: list[policy.RuleDefault] = [
    documented("rating:list_modules", ROLE_ADMIN,
               "List the rating modules.",
               [("GET", _V1_MODULES)]),
    documented("rating:get_module", ROLE_ADMIN,
               "Show one rating module.",
               [("GET", _V1_MODULES + "/{module_id}")]),
    documented("rating:update_module", ROLE_ADMIN,
               "Enable or disable a rating module or change its priority.",
               [("PUT", _V1_MODULES + "/{module_id}")]),
    documented("rating:quote", UNPROTECTED,
               "Price a list of resource descriptions.",
               [("POST", "/v1/rating/quote")]),
    documented("rating:module_config", ROLE_ADMIN,
               "Reload the rating modules and manage their configuration.",
               [("GET", "/v1/rating/reload_modules"),
                ("GET", "/v1/rating/module_config/{module}"),
                ("POST", "/v1/rating/module_config/{module}"),
                ("PUT", "/v1/rating/module_config/{module}"),
                ("DELETE", "/v1/rating/module_config/{module}")]),
    documented("v2_rating:list_modules", ROLE_ADMIN,
               "List the rating modules (v2).",
               [("GET", _V2_MODULES)]),
    documented("v2_rating:get_module", ROLE_ADMIN,
               "Show one rating module (v2).",
               [("GET", _V2_MODULES + "/{module_id}")]),
    documented("v2_rating:update_module", ROLE_ADMIN,
               "Enable or disable a rating module or change its priority "
               "(v2).",
               [("PUT", _V2_MODULES + "/{module_id}")]),
]
