"""Default policy rules, one module per resource.

``list_rules`` is the ``oslo.policy.policies`` entry point read by
``oslopolicy-sample-generator --namespace cloudkitty``; importing this
package has no side effect.
"""
from __future__ import annotations

from oslo_policy import policy

from cloudkitty.api.policies import (
    base,
    collector,
    dataframes,
    info,
    rating,
    report,
    scope,
)

__all__ = ["list_rules"]

_MODULES = (base, collector, info, rating, report, dataframes, scope)


def list_rules() -> list[policy.RuleDefault]:
    """Every rule CloudKitty checks, base rules first."""
    rules: list[policy.RuleDefault] = []
    for module in _MODULES:
        rules.extend(module.RULES)
    return rules
