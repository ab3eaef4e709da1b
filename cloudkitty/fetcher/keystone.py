"""Fetcher listing the Keystone projects CloudKitty should rate.

It talks to the identity v3 REST API directly through a keystoneauth
session built from ``[fetcher_keystone]`` (``auth_section`` works, as
keystoneauth resolves it), so python-keystoneclient is not needed.

A project is kept when the authenticated CloudKitty user holds the role
named ``rating`` on it (effective assignments: direct, through a group or
inherited), unless ``ignore_rating_role`` is set; disabled projects are
dropped when ``ignore_disabled_tenants`` is set.
"""
from __future__ import annotations

from typing import Any, ClassVar

from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import plugin as ksa_plugin
from keystoneauth1 import session as ksa_session
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.conf import _keystone
from cloudkitty.fetcher.base import BaseFetcher

LOG = log.getLogger(__name__)

GROUP = "fetcher_keystone"
RATING_ROLE = "rating"
# Guard against a misbehaving server returning "next" links forever.
_MAX_PAGES = 1000


class KeystoneFetcher(BaseFetcher):
    """Scopes are Keystone project ids."""

    name: ClassVar[str] = "keystone"

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        opts = conf.fetcher_keystone
        if str(opts.keystone_version) != "3":
            # Identity v2 was removed from Keystone; say so up front rather
            # than failing on every cycle.
            raise exceptions.ConfigError(
                "only identity API version 3 is supported",
                section=GROUP, option="keystone_version")
        auth = _keystone.load_auth(conf, GROUP)
        if auth is None:
            raise exceptions.ConfigError(
                "no keystone credentials configured (set auth_type or "
                "auth_section)", section=GROUP, option="auth_type")
        self.session: ksa_session.Session = (
            ks_loading.load_session_from_conf_options(conf, GROUP, auth=auth))
        self.ignore_rating_role: bool = opts.ignore_rating_role
        self.ignore_disabled: bool = opts.ignore_disabled_tenants

    # -- identity v3 calls -------------------------------------------------

    def _identity_url(self) -> str:
        # The identity endpoint the credentials were checked against, at
        # v3, found by keystoneauth discovery: no catalog interface or
        # region option is needed for it.
        url = self.session.get_endpoint(
            interface=ksa_plugin.AUTH_INTERFACE, version=(3, 0))
        if not url:
            raise self._error("no identity v3 endpoint found")
        return str(url).rstrip("/")

    def _list(self, url: str, key: str,
              params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """GET a v3 collection, following ``links.next`` pages."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        for _ in range(_MAX_PAGES):
            if next_url is None:
                return items
            resp = self.session.get(next_url, params=params)
            params = None  # the next link already carries the query
            try:
                body = resp.json()
                items.extend(body[key])
            except (ValueError, KeyError, TypeError) as exc:
                raise self._error(
                    f"unexpected answer from {resp.url}: {exc!r}") from exc
            if body.get("truncated"):
                # Keystone's [DEFAULT] list_limit cut the answer and offers
                # no way to the rest; rating what we got beats rating
                # nothing, but the operator must know.
                LOG.warning("Keystone truncated the %s list at %d entries "
                            "(its list_limit); scopes beyond are missed",
                            key, len(items))
            next_url = (body.get("links") or {}).get("next")
        raise self._error(f"more than {_MAX_PAGES} pages listing {key}")

    def _rated_project_ids(self, base: str) -> set[str]:
        """Projects on which the CloudKitty user holds the rating role."""
        user_id = self.session.get_user_id()
        if not user_id:
            raise self._error("the credentials do not identify a user")
        roles = self._list(f"{base}/roles", "roles",
                           params={"name": RATING_ROLE})
        role_ids = {r["id"] for r in roles if r.get("name") == RATING_ROLE}
        if not role_ids:
            # Nobody can hold a role that does not exist.
            return set()
        assignments = self._list(
            f"{base}/role_assignments", "role_assignments",
            params={"user.id": user_id, "effective": True})
        return {
            a["scope"]["project"]["id"]
            for a in assignments
            if a.get("role", {}).get("id") in role_ids
            and "project" in a.get("scope", {})
        }

    # -- contract ------------------------------------------------------------

    def get_scopes(self) -> list[str]:
        try:
            base = self._identity_url()
            projects = self._list(f"{base}/projects", "projects")
            if self.ignore_disabled:
                projects = [p for p in projects if p.get("enabled", True)]
            ids = {p["id"] for p in projects}
            if not self.ignore_rating_role:
                ids &= self._rated_project_ids(base)
        except exceptions.FetchError:
            raise
        except ksa_exc.ClientException as exc:
            # Covers connection refused, timeouts, discovery failures and
            # every HTTP error status.
            raise self._error(
                f"{type(exc).__name__}: {exc}") from exc
        except (KeyError, TypeError) as exc:
            raise self._error(f"malformed identity answer: {exc!r}") from exc
        return self._normalize(ids)
