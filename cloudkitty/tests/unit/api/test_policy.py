"""oslo.policy rules (COMPAT.md §10), ``authorize`` and 403 bodies."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import webtest
from oslo_policy import policy as oslo_policy

from cloudkitty.api import policies, policy
from cloudkitty.api.context import RequestContext

ADMIN = "role:admin"
OPEN = ""
READER = "rule:project_reader_or_admin"

#: COMPAT.md §10, rule by rule.
EXPECTED_DEFAULTS = {
    "context_is_admin": "role:admin",
    "admin_or_owner": "is_admin:True or (role:admin and "
                      "is_admin_project:True) or project_id:%(project_id)s",
    "default": "",
    "project_member_api": "role:member and project_id:%(project_id)s",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "project_member_or_admin":
        "rule:project_member_api or rule:context_is_admin",
    "project_reader_or_admin":
        "rule:project_reader_api or rule:context_is_admin",
    "collector:list_mappings": ADMIN,
    "collector:get_mapping": ADMIN,
    "collector:manage_mapping": ADMIN,
    "collector:get_state": ADMIN,
    "collector:update_state": ADMIN,
    "info:list_services_info": OPEN,
    "info:get_service_info": OPEN,
    "info:list_metrics_info": OPEN,
    "info:get_metric_info": OPEN,
    "info:get_config": OPEN,
    "rating:list_modules": ADMIN,
    "rating:get_module": ADMIN,
    "rating:update_module": ADMIN,
    "rating:quote": OPEN,
    "rating:module_config": ADMIN,
    "report:list_tenants": ADMIN,
    "report:get_summary": READER,
    "report:get_total": READER,
    "storage:list_data_frames": READER,
    "dataframes:add": ADMIN,
    "dataframes:get": READER,
    "v2_rating:list_modules": ADMIN,
    "v2_rating:get_module": ADMIN,
    "v2_rating:update_module": ADMIN,
    "scope:get_state": ADMIN,
    "scope:reset_state": ADMIN,
    "scope:patch_state": ADMIN,
    "scope:post_state": ADMIN,
    "summary:get_summary": READER,
    "schedule:task_reprocesses": ADMIN,
    "schedule:get_task_reprocesses": ADMIN,
}
BASE_RULES = list(EXPECTED_DEFAULTS)[:7]
PROJECT_RULES = ["project_member_api", "project_reader_api",
                 "project_member_or_admin", "project_reader_or_admin"]


def test_every_rule_and_default_of_upstream() -> None:
    rules = policies.list_rules()
    assert [r.name for r in rules[:7]] == BASE_RULES
    assert {r.name: r.check_str for r in rules} == EXPECTED_DEFAULTS
    assert len(rules) == len(EXPECTED_DEFAULTS)


def test_resource_rules_are_documented_and_project_scoped() -> None:
    for rule in policies.list_rules():
        if rule.name in BASE_RULES:
            continue
        assert isinstance(rule, oslo_policy.DocumentedRuleDefault)
        assert rule.scope_types == ["project"], rule.name
        assert rule.description, rule.name
        assert rule.operations, rule.name
        for operation in rule.operations:
            assert operation["path"].startswith(("/v1/", "/v2/")), rule.name


def test_project_rules_deprecate_admin_or_owner() -> None:
    by_name = {r.name: r for r in policies.list_rules()}
    for name in PROJECT_RULES:
        deprecated = by_name[name].deprecated_rule
        assert deprecated is not None, name
        assert deprecated.name == "rule:admin_or_owner"
        assert deprecated.check_str == EXPECTED_DEFAULTS["admin_or_owner"]
        assert deprecated.deprecated_since == "22.0.0"
    assert by_name["admin_or_owner"].deprecated_for_removal


@pytest.fixture
def enforcer(api_conf) -> oslo_policy.Enforcer:
    return policy.make_enforcer(api_conf("keystone"))


def context(enforcer: oslo_policy.Enforcer | None, roles: list[str],
            project_id: str | None = "p1") -> RequestContext:
    return RequestContext(roles=roles, project_id=project_id,
                          user_id="u1", enforcer=enforcer)


def test_authorize_is_a_noop_without_enforcer() -> None:
    policy.authorize(context(None, []), "rating:list_modules", {})


def test_admin_only_rule(enforcer: oslo_policy.Enforcer) -> None:
    policy.authorize(context(enforcer, ["admin"]), "rating:list_modules")
    with pytest.raises(policy.PolicyNotAuthorized) as info:
        policy.authorize(context(enforcer, ["member", "reader"]),
                         "rating:list_modules", {})
    assert info.value.http_status == 403
    assert info.value.message == \
        "Policy doesn't allow rating:list_modules to be performed."


def test_open_rule_allows_any_project_user(
        enforcer: oslo_policy.Enforcer) -> None:
    policy.authorize(context(enforcer, []), "info:get_config", {})


def test_reader_sees_only_its_own_project(
        enforcer: oslo_policy.Enforcer) -> None:
    reader = context(enforcer, ["reader"], project_id="p1")
    policy.authorize(reader, "summary:get_summary", {"project_id": "p1"})
    with pytest.raises(policy.PolicyNotAuthorized):
        policy.authorize(reader, "summary:get_summary",
                         {"project_id": "p2"})
    admin = context(enforcer, ["admin"], project_id="p1")
    policy.authorize(admin, "summary:get_summary", {"project_id": "p2"})


def test_member_without_reader_role_is_denied_project_reads(
        enforcer: oslo_policy.Enforcer) -> None:
    with pytest.raises(policy.PolicyNotAuthorized):
        policy.authorize(context(enforcer, ["member"]),
                         "dataframes:get", {"project_id": "p1"})


def test_unknown_rule_fails_loudly(enforcer: oslo_policy.Enforcer) -> None:
    with pytest.raises(oslo_policy.PolicyNotRegistered):
        policy.authorize(context(enforcer, ["admin"]), "info:typo", {})


def test_is_admin_follows_context_is_admin(api_conf, tmp_path: Path) -> None:
    assert policy.check_is_admin(None, []) is True
    enforcer = policy.make_enforcer(api_conf("keystone"))
    assert policy.check_is_admin(enforcer, ["admin"]) is True
    assert policy.check_is_admin(enforcer, ["member"]) is False
    policy_file = tmp_path / "admins.yaml"
    policy_file.write_text('"context_is_admin": "role:cloud_admin"\n')
    custom = policy.make_enforcer(api_conf(
        "keystone", oslo_policy={"policy_file": policy_file}))
    assert policy.check_is_admin(custom, ["cloud_admin"]) is True
    assert policy.check_is_admin(custom, ["admin"]) is False


HEADERS_MEMBER = {"X-Roles": "member,reader", "X-Project-Id": "p1",
                  "X-User-Id": "u1"}
HEADERS_ADMIN = {"X-Roles": "admin", "X-Project-Id": "p1", "X-User-Id": "u2"}


def test_v1_policy_denial_is_a_403_fault(policy_app) -> None:
    app = policy_app({"info:get_config": "role:admin"})
    response = app.get("/v1/info/config", headers=HEADERS_MEMBER, status=403)
    assert response.json == {
        "faultcode": "Client",
        "faultstring": "Policy doesn't allow info:get_config to be "
                       "performed.",
        "debuginfo": None}
    assert app.get("/v1/info/config", headers=HEADERS_ADMIN).status_int == 200


@pytest.mark.usefixtures("fake_controllers")
def test_v2_policy_denial_is_a_403_message(policy_app) -> None:
    app = policy_app({"info:get_config": "role:admin"})
    response = app.get("/v2/tests/denied", headers=HEADERS_MEMBER,
                       status=403)
    assert response.json == {
        "message": "You are not authorized to perform this action"}
    assert app.get("/v2/tests/denied", headers=HEADERS_ADMIN).json == {
        "thing_id": "denied"}


def test_noauth_does_not_enforce_policies(api_conf, tmp_path: Path) -> None:
    from cloudkitty.api import app
    policy_file = tmp_path / "deny.yaml"
    policy_file.write_text('"info:list_metrics_info": "!"\n')
    conf = api_conf("noauth", oslo_policy={"policy_file": policy_file})
    client = webtest.TestApp(app.build_wsgi_app(conf))
    assert client.get("/v1/info/metrics").status_int == 200


def test_tool_options_are_stripped_for_get_enforcer() -> None:
    argv = ["--namespace", "cloudkitty", "--output-file=x.yaml",
            "--config-file", "ck.conf", "--format", "yaml"]
    assert policy._strip_tool_options(argv) == ["--config-file", "ck.conf"]


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_sample_generator_lists_every_rule(tmp_path: Path) -> None:
    output = tmp_path / "policy.yaml.sample"
    subprocess.run([_tool("oslopolicy-sample-generator"), "--namespace",
                    "cloudkitty", "--output-file", str(output)],
                   check=True, capture_output=True, timeout=60)
    sample = output.read_text()
    for name, check in EXPECTED_DEFAULTS.items():
        assert f'#"{name}": "{check}"' in sample, name


def test_policy_tools_load_the_enforcer_with_our_config(
        api_conf, tmp_path: Path) -> None:
    policy_file = tmp_path / "custom.yaml"
    policy_file.write_text('"rating:quote": "role:admin"\n')
    conf_file = tmp_path / "tool.conf"
    conf_file.write_text(f"[oslo_policy]\npolicy_file = {policy_file}\n")
    result = subprocess.run(
        [_tool("oslopolicy-policy-generator"), "--namespace", "cloudkitty",
         "--config-file", str(conf_file)],
        check=True, capture_output=True, text=True, timeout=60)
    assert '"rating:quote": "role:admin"' in result.stdout
    assert '"rating:list_modules": "role:admin"' in result.stdout
