"""The keystone fetcher against the real Keystone of tools/services.sh.

Each run creates its own service project, CloudKitty user and three
projects (uniquely named), and removes them afterwards:

* ``rated``: the CloudKitty user holds ``rating`` on it;
* ``unrated``: it does not;
* ``disabled``: disabled, and the user holds ``rating`` on it.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.fetcher import get_fetcher
from cloudkitty.fetcher.keystone import KeystoneFetcher
from cloudkitty.tests.functional.keystone_fixture import URL, Identity

CK_PASSWORD = "ck-fetcher-secret"


@pytest.fixture(scope="module")
def scene() -> Iterator[dict[str, Any]]:
    try:
        ident = Identity()
        ident.s.get_token()
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(f"Keystone at {URL} is not usable "
                    f"(tools/services.sh start keystone): {exc}")
    tag = uuid.uuid4().hex[:10]
    try:
        rating = ident.role("rating")
        admin = ident.role("admin")
        service = ident.create("projects", name=f"ck-svc-{tag}",
                               domain_id="default")
        user = ident.create("users", name=f"ck-fetcher-{tag}",
                            password=CK_PASSWORD, domain_id="default")
        # Listing every project is an admin call.
        ident.grant(admin, user, service)
        rated = ident.create("projects", name=f"ck-rated-{tag}",
                             domain_id="default")
        unrated = ident.create("projects", name=f"ck-unrated-{tag}",
                               domain_id="default")
        disabled = ident.create("projects", name=f"ck-disabled-{tag}",
                                domain_id="default", enabled=False)
        ident.grant(rating, user, rated)
        ident.grant(rating, user, disabled)
        yield {"service": service, "user": user, "rated": rated["id"],
               "unrated": unrated["id"], "disabled": disabled["id"]}
    finally:
        ident.close()


def _auth(scene: dict[str, Any]) -> dict[str, object]:
    return {"auth_type": "password", "auth_url": URL,
            "username": scene["user"]["name"], "password": CK_PASSWORD,
            "project_name": scene["service"]["name"],
            "user_domain_id": "default", "project_domain_id": "default"}


@pytest.fixture
def fetch(make_conf, scene) -> Callable[..., list[str]]:
    def _fetch(**options: object) -> list[str]:
        conf = make_conf({
            "fetcher": {"backend": "keystone"},
            "fetcher_keystone": {**_auth(scene), **options}})
        fetcher = get_fetcher(conf)
        assert isinstance(fetcher, KeystoneFetcher)
        return fetcher.get_scopes()
    return _fetch


def test_default_keeps_projects_with_rating_role_even_disabled(
        fetch, scene) -> None:
    assert fetch() == sorted([scene["rated"], scene["disabled"]])


def test_ignore_disabled_tenants_drops_disabled(fetch, scene) -> None:
    assert fetch(ignore_disabled_tenants=True) == [scene["rated"]]


def test_ignore_rating_role_lists_every_project(fetch, scene) -> None:
    scopes = fetch(ignore_rating_role=True)
    assert scopes == sorted(set(scopes))
    ours = {scene["rated"], scene["unrated"], scene["disabled"],
            scene["service"]["id"]}
    assert ours <= set(scopes)


def test_ignore_both_lists_enabled_projects_only(fetch, scene) -> None:
    scopes = set(fetch(ignore_rating_role=True, ignore_disabled_tenants=True))
    assert {scene["rated"], scene["unrated"]} <= scopes
    assert scene["disabled"] not in scopes


def test_auth_section_is_followed(make_conf, scene) -> None:
    conf = make_conf({
        "fetcher": {"backend": "keystone"},
        "fetcher_keystone": {"auth_section": "ck_service_auth"},
        "ck_service_auth": _auth(scene)})
    assert get_fetcher(conf).get_scopes() == sorted(
        [scene["rated"], scene["disabled"]])


def test_wrong_password_is_fetch_error(make_conf, scene) -> None:
    conf = make_conf({"fetcher_keystone": {**_auth(scene),
                                           "password": "not-it"}})
    with pytest.raises(exceptions.FetchError,
                       match="'keystone'.*Unauthorized"):
        KeystoneFetcher(conf).get_scopes()


def test_user_without_admin_cannot_list_is_fetch_error(
        make_conf, scene) -> None:
    # Scoped to a project where the user only holds 'rating': listing all
    # projects is refused by Keystone's policy.
    conf = make_conf({"fetcher_keystone": {
        **_auth(scene), "project_name": "", "project_id": scene["rated"]}})
    with pytest.raises(exceptions.FetchError, match="'keystone'.*Forbidden"):
        KeystoneFetcher(conf).get_scopes()
