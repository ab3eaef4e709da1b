"""Rules of /v1/report and /v1/storage."""
from __future__ import annotations

from oslo_policy import policy

from cloudkitty.api.policies.base import (
    PROJECT_READER_OR_ADMIN,
    ROLE_ADMIN,
    documented,
)

RULES: list[policy.RuleDefault] = [
    documented("report:list_tenants", ROLE_ADMIN,
               "List the projects that have rated data.",
               [("GET", "/v1/report/tenants")]),
    documented("report:get_summary", PROJECT_READER_OR_ADMIN,
               "Show the rated totals grouped by project and service.",
               [("GET", "/v1/report/summary")]),
    documented("report:get_total", PROJECT_READER_OR_ADMIN,
               "Show the rated total of a period.",
               [("GET", "/v1/report/total")]),
    documented("storage:list_data_frames", PROJECT_READER_OR_ADMIN,
               "List the rated data frames (v1 form).",
               [("GET", "/v1/storage/dataframes")]),
]
