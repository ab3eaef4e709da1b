"""Base rules the resource rules refer to."""
from __future__ import annotations

from oslo_policy import policy

ROLE_ADMIN = "role:admin"
UNPROTECTED = ""
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
#: Every documented rule applies to project-scoped tokens.
SCOPE_TYPES = ["project"]

_ADMIN_OR_OWNER_CHECK = ("is_admin:True or (role:admin and "
                         "is_admin_project:True) or "
                         "project_id:%(project_id)s")
_DEPRECATION_REASON = (
    "The project rules now use the member and reader default roles with "
    "scope types; the admin_or_owner rule they replaced will be ignored "
    "in a future release.")
_DEPRECATED_SINCE = "22.0.0"

# The name carries the ``rule:`` prefix as upstream CloudKitty registered it,
# so a legacy ``admin_or_owner`` override in an operator's policy file keeps
# affecting only the rules that reference it explicitly.
_DEPRECATED_ADMIN_OR_OWNER = policy.DeprecatedRule(
    name="rule:admin_or_owner",
    check_str=_ADMIN_OR_OWNER_CHECK,
    deprecated_reason=_DEPRECATION_REASON,
    deprecated_since=_DEPRECATED_SINCE,
)

RULES: list[policy.RuleDefault] = [
    policy.RuleDefault(
        name="context_is_admin", check_str=ROLE_ADMIN,
        description="Who is an administrator of the rating service."),
    policy.RuleDefault(
        name="admin_or_owner", check_str=_ADMIN_OR_OWNER_CHECK,
        description="Legacy rule: an administrator or a member of the "
                    "project owning the target.",
        deprecated_for_removal=True,
        deprecated_reason=_DEPRECATION_REASON,
        deprecated_since=_DEPRECATED_SINCE),
    policy.RuleDefault(
        name="default", check_str=UNPROTECTED,
        description="Rule used when a checked rule is not defined."),
    policy.RuleDefault(
        name="project_member_api",
        check_str="role:member and project_id:%(project_id)s",
        description="A member of the target's project (write access to "
                    "project-level resources).",
        deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER),
    policy.RuleDefault(
        name="project_reader_api",
        check_str="role:reader and project_id:%(project_id)s",
        description="A reader of the target's project (read-only access to "
                    "project-level resources).",
        deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER),
    policy.RuleDefault(
        name="project_member_or_admin",
        check_str="rule:project_member_api or rule:context_is_admin",
        description="A member of the target's project, or an "
                    "administrator.",
        deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER),
    policy.RuleDefault(
        name="project_reader_or_admin",
        check_str="rule:project_reader_api or rule:context_is_admin",
        description="A reader of the target's project, or an "
                    "administrator.",
        deprecated_rule=_DEPRECATED_ADMIN_OR_OWNER),
]


def documented(name: str, check_str: str, description: str,
               operations: list[tuple[str, str]]) -> \
        policy.DocumentedRuleDefault:
    """A project-scoped documented rule; ``operations`` are
    ``(method, path)`` pairs."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"method": method, "path": path}
                    for method, path in operations],
        scope_types=list(SCOPE_TYPES))
