"""Rules of /v2/dataframes and /v2/summary."""
from __future__ import annotations

from oslo_policy import policy

from cloudkitty.api.policies.base import (
    PROJECT_READER_OR_ADMIN,
    ROLE_ADMIN,
    documented,
)

RULES: list[policy.RuleDefault] = [
    documented("dataframes:add", ROLE_ADMIN,
               "Add rated data frames to the storage.",
               [("POST", "/v2/dataframes")]),
    documented("dataframes:get", PROJECT_READER_OR_ADMIN,
               "List the rated data points.",
               [("GET", "/v2/dataframes")]),
    documented("summary:get_summary", PROJECT_READER_OR_ADMIN,
               "Show the rated quantities and prices, grouped and "
               "filtered.",
               [("GET", "/v2/summary")]),
]
