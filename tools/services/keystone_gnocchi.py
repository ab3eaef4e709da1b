"""Make the test Keystone know the keystone-mode Gnocchi API; idempotent.

    python keystone_gnocchi.py KEYSTONE_URL ADMIN_PASSWORD GNOCCHI_URL \
        SERVICE_PASSWORD

Ensures: project ``service``; user ``gnocchi`` (password SERVICE_PASSWORD,
role ``admin`` on ``service``: what keystonemiddleware in Gnocchi
validates tokens with); service ``gnocchi`` of type ``metric``; one
public, one internal and one admin endpoint in region ``RegionOne``, all
at GNOCCHI_URL (existing ones are updated when the URL changed, extra
duplicates removed). Runs with the Keystone venv's Python (keystoneauth1).
"""
from __future__ import annotations

import sys
from typing import Any

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

REGION = "RegionOne"
INTERFACES = ("public", "internal", "admin")


def main(keystone_url: str, admin_password: str, gnocchi_url: str,
         service_password: str) -> None:
    keystone_url = keystone_url.rstrip("/")
    http = ks_session.Session(auth=v3.Password(
        auth_url=keystone_url, username="admin", password=admin_password,
        project_name="admin", user_domain_id="default",
        project_domain_id="default"))

    def call(method: str, path: str, **body: Any) -> Any:
        kwargs: dict[str, Any] = {"json": body} if body else {}
        reply = http.request(f"{keystone_url}{path}", method, **kwargs)
        return reply.json() if reply.content else None

    def one(path: str, key: str, create: dict[str, Any]) -> dict[str, Any]:
        """The first entity the filtered listing ``path`` returns, created
        from ``create`` when there is none."""
        found = call("GET", path)[key]
        if found:
            return dict(found[0])
        return dict(call("POST", path.split("?")[0],
                         **{key[:-1]: create})[key[:-1]])

    project = one("/projects?name=service&domain_id=default", "projects",
                  {"name": "service", "domain_id": "default",
                   "description": "Service users"})
    user = one("/users?name=gnocchi&domain_id=default", "users",
               {"name": "gnocchi", "domain_id": "default",
                "password": service_password,
                "default_project_id": project["id"]})
    # Always reset the password: a Keystone kept from an earlier run with
    # another password would make every Gnocchi request a 401.
    call("PATCH", f"/users/{user['id']}",
         user={"password": service_password, "enabled": True})
    (admin_role,) = call("GET", "/roles?name=admin")["roles"]
    call("PUT", f"/projects/{project['id']}/users/{user['id']}"
                f"/roles/{admin_role['id']}")
    service = one("/services?type=metric", "services",
                  {"type": "metric", "name": "gnocchi",
                   "description": "Gnocchi (keystone auth)"})
    endpoints = call("GET", f"/endpoints?service_id={service['id']}"
                            f"&region_id={REGION}")["endpoints"]
    for interface in INTERFACES:
        mine = [e for e in endpoints if e["interface"] == interface]
        if not mine:
            call("POST", "/endpoints", endpoint={
                "service_id": service["id"], "interface": interface,
                "region_id": REGION, "url": gnocchi_url, "enabled": True})
            continue
        for extra in mine[1:]:
            call("DELETE", f"/endpoints/{extra['id']}")
        if mine[0]["url"] != gnocchi_url or not mine[0]["enabled"]:
            call("PATCH", f"/endpoints/{mine[0]['id']}",
                 endpoint={"url": gnocchi_url, "enabled": True})
    print(f"metric service {service['id']} at {gnocchi_url} "
          f"({', '.join(INTERFACES)}; {REGION}); user gnocchi "
          f"{user['id']} admin on project service {project['id']}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
