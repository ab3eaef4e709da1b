"""The real Keystone of ``tools/services.sh start keystone`` for functional
tests: set a scene up (projects, users, role assignments) through the
identity v3 API as Keystone's ``admin``, get real tokens for its users,
and point a ``cloudkitty-api`` at Keystone to validate them.

Everything a test creates is removed by :meth:`Identity.close` (users and
projects first, roles it had to create last).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3

from cloudkitty.tests import services

__all__ = ["ADMIN_PASSWORD", "Identity", "URL", "authtoken_options",
           "identity", "needs_keystone", "revoke", "up", "user_session"]

URL = os.environ.get("CLOUDKITTY_TEST_KEYSTONE_URL",
                     "http://127.0.0.1:5000/v3").rstrip("/")
ADMIN_PASSWORD = os.environ.get(
    "CLOUDKITTY_TEST_KEYSTONE_ADMIN_PASSWORD",
    os.environ.get("CLOUDKITTY_KEYSTONE_ADMIN_PASSWORD", "admin-secret"))


def up() -> bool:
    """Whether Keystone answers its (public) version document."""
    try:
        return requests.get(URL, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def needs_keystone() -> pytest.MarkDecorator:
    """Skip mark for when Keystone is not running (a failure in CI, see
    :func:`cloudkitty.tests.services.needs`)."""
    return services.needs(up(), f"Keystone at {URL} not reachable "
                                f"(tools/services.sh start keystone)")


class Identity:
    """Just enough of the identity v3 admin API to set a scene up."""

    def __init__(self) -> None:
        self.s = ksa_session.Session(auth=v3.Password(
            auth_url=URL, username="admin", password=ADMIN_PASSWORD,
            project_name="admin", user_domain_id="default",
            project_domain_id="default"))
        self.cleanup: list[Callable[[], Any]] = []

    def create(self, kind: str, **body: Any) -> dict[str, Any]:
        """Create a ``kind`` (``projects``, ``users``, ``roles``...) from
        ``body``; removed again by :meth:`close`."""
        single = kind[:-1]
        obj: dict[str, Any] = self.s.post(
            f"{URL}/{kind}", json={single: body}).json()[single]
        self.cleanup.append(
            lambda: self.s.delete(f"{URL}/{kind}/{obj['id']}",
                                  raise_exc=False))
        return obj

    def role(self, name: str) -> dict[str, Any]:
        """Role ``name``; created (and removed later) only if missing."""
        found = self.s.get(f"{URL}/roles", params={"name": name}).json()
        if found["roles"]:
            role: dict[str, Any] = found["roles"][0]
            return role
        return self.create("roles", name=name)

    def grant(self, role: dict[str, Any], user: dict[str, Any],
              project: dict[str, Any]) -> None:
        self.s.put(f"{URL}/projects/{project['id']}/users/{user['id']}"
                   f"/roles/{role['id']}")

    def close(self) -> None:
        # Users and projects first, a role we created last.
        for undo in reversed(self.cleanup):
            undo()


@contextlib.contextmanager
def identity() -> Iterator[Identity]:
    """An :class:`Identity` whose objects are removed on exit; fails the
    test when Keystone does not accept its admin."""
    ident = Identity()
    try:
        ident.s.get_token()
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(f"Keystone at {URL} is not usable "
                    f"(tools/services.sh start keystone): {exc}")
    try:
        yield ident
    finally:
        ident.close()


def user_session(username: str, password: str,
                 project_id: str | None = None) -> ksa_session.Session:
    """A keystoneauth session of a ``default``-domain user, scoped to
    ``project_id`` (unscoped without it); the token is fetched on first
    use (``get_token()``, ``get_user_id()``)."""
    scope: dict[str, Any] = {}
    if project_id is not None:
        scope = {"project_id": project_id}
    return ksa_session.Session(auth=v3.Password(
        auth_url=URL, username=username, password=password,
        user_domain_id="default", **scope))


def revoke(ident: Identity, token: str) -> None:
    """Revoke ``token`` (it fails validation from then on)."""
    ident.s.delete(f"{URL}/auth/tokens",
                   headers={"X-Subject-Token": token})


def authtoken_options() -> dict[str, str]:
    """``[keystone_authtoken]`` of an API that validates tokens with
    Keystone's ``admin`` account."""
    return {"auth_type": "password", "auth_url": URL,
            "www_authenticate_uri": URL, "username": "admin",
            "password": ADMIN_PASSWORD, "project_name": "admin",
            "user_domain_id": "default", "project_domain_id": "default"}
