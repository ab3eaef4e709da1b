"""Rules of /v1/info."""
from __future__ import annotations

from oslo_policy import policy

from cloudkitty.api.policies.base import UNPROTECTED, documented

RULES: list[policy.RuleDefault] = [
    documented("info:list_services_info", UNPROTECTED,
               "List the rated services (deprecated alias of the metric "
               "list; the endpoint checks info:list_metrics_info).",
               [("GET", "/v1/info/services")]),
    documented("info:get_service_info", UNPROTECTED,
               "Show one rated service (deprecated alias of a metric; the "
               "endpoint checks info:get_metric_info).",
               [("GET", "/v1/info/services/{metric_id}")]),
    documented("info:list_metrics_info", UNPROTECTED,
               "List the collected metrics with their unit and metadata.",
               [("GET", "/v1/info/metrics")]),
    documented("info:get_metric_info", UNPROTECTED,
               "Show one collected metric.",
               [("GET", "/v1/info/metrics/{metric_id}")]),
    documented("info:get_config", UNPROTECTED,
               "Show the metrics configuration file as JSON.",
               [("GET", "/v1/info/config")]),
]
