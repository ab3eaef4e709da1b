"""What the Gnocchi functional tests share: the test servers of
``tools/services.sh`` and a way to give each test its own data.

``tools/services.sh start gnocchi keystone`` runs two Gnocchi APIs over one
indexer and storage: basic auth (user ``admin``) and Keystone auth, the
latter registered in the test Keystone as the ``metric`` service. Data
written through one is read through the other.

Each test module creates its own archive policy (1 h granularity), and each
test its own project ids and resources, so runs never see each other's
data. Gnocchi keeps revision history: measures are posted right after a
resource is created, inside the current hour, since a ``use_history``
query only sees revisions overlapping the period.
"""
from __future__ import annotations

import datetime
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.collector.gnocchi import GnocchiCollector

__all__ = [
    "BASIC_URL", "HOUR", "KEYSTONE_ADMIN_PASSWORD", "KEYSTONE_GNOCCHI_URL",
    "KEYSTONE_URL", "World", "admin_session", "basic_api", "keystone_api",
    "make_policy", "metrics", "up",
]

BASIC_URL = os.environ.get("CLOUDKITTY_TEST_GNOCCHI_URL",
                           "http://127.0.0.1:8041").rstrip("/")
KEYSTONE_GNOCCHI_URL = os.environ.get(
    "CLOUDKITTY_TEST_GNOCCHI_KEYSTONE_URL", "http://127.0.0.1:8042").rstrip("/")
KEYSTONE_URL = os.environ.get("CLOUDKITTY_TEST_KEYSTONE_URL",
                              "http://127.0.0.1:5000/v3").rstrip("/")
KEYSTONE_ADMIN_PASSWORD = os.environ.get(
    "CLOUDKITTY_TEST_KEYSTONE_ADMIN_PASSWORD",
    os.environ.get("CLOUDKITTY_KEYSTONE_ADMIN_PASSWORD", "admin-secret"))
HOUR = datetime.timedelta(hours=1)

#: ``api(method, path under /v1, **requests_kwargs) -> Response``
Api = Callable[..., requests.Response]


def up(url: str) -> bool:
    """Whether ``url`` answers 200 (Gnocchi's version list, Keystone's
    ``/v3``: neither needs credentials)."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def basic_api(method: str, path: str, **kwargs: Any) -> requests.Response:
    """A call to the basic-auth Gnocchi, as ``admin``."""
    # A fresh connection per call: the test server's uWSGI router drops
    # idle keep-alive connections.
    return requests.request(method, f"{BASIC_URL}/v1{path}",
                            auth=("admin", ""),
                            headers={"Accept": "application/json"},
                            timeout=15, **kwargs)


def admin_session() -> ks_session.Session:
    """A new keystoneauth session of the test Keystone's ``admin`` user on
    project ``admin``; the token is fetched on first use."""
    return ks_session.Session(auth=v3.Password(
        auth_url=KEYSTONE_URL, username="admin",
        password=KEYSTONE_ADMIN_PASSWORD, project_name="admin",
        user_domain_id="default", project_domain_id="default"))


def keystone_api(method: str, path: str, **kwargs: Any) -> requests.Response:
    """A call to the Keystone-auth Gnocchi with an ``admin`` token."""
    # A fresh connection per call, as for basic_api.
    token = admin_session().get_token()
    return requests.request(method, f"{KEYSTONE_GNOCCHI_URL}/v1{path}",
                            headers={"Accept": "application/json",
                                     "X-Auth-Token": str(token)},
                            timeout=15, **kwargs)


def make_policy() -> str:
    """A new archive policy (1 h granularity, every method); its name."""
    name = f"ck-test-{uuid.uuid4().hex[:10]}"
    reply = basic_api("POST", "/archive_policy", json={
        "name": name, "back_window": 0,
        "definition": [{"granularity": "1:00:00", "timespan": "7 days"}],
        "aggregation_methods": ["mean", "max", "min", "sum", "last",
                                "first", "count"]})
    assert reply.status_code == 201, reply.text
    # Resources keep metrics on the policy, so it cannot always be
    # deleted; a unique name per run is what keeps runs apart.
    return name


class World:
    """Resources created by one test, and the hour they were measured in.

    They are written through ``api`` (the basic-auth Gnocchi unless told
    otherwise); :meth:`wait` always reads through the basic-auth one.
    """

    def __init__(self, policy: str, api: Api = basic_api) -> None:
        self.policy = policy
        self.api = api
        self.project = str(uuid.uuid4())
        self.hour: datetime.datetime | None = None

    def resource(self, values: list[float], project: str | None = None,
                 **attrs: Any) -> dict[str, Any]:
        rid = str(uuid.uuid4())
        reply = self.api("POST", "/resource/generic", json={
            "id": rid, "project_id": project or self.project, **attrs,
            "metrics": {"cpu": {"archive_policy_name": self.policy}}})
        assert reply.status_code == 201, reply.text
        res: dict[str, Any] = reply.json()
        created = datetime.datetime.fromisoformat(res["revision_start"])
        hour = created.replace(minute=0, second=0, microsecond=0)
        if self.hour is None:
            self.hour = hour
        if hour != self.hour:
            pytest.skip("the hour changed while the test set data up")
        measures = [{"timestamp": (created + datetime.timedelta(
            milliseconds=10 * i)).isoformat(), "value": v}
            for i, v in enumerate(values)]
        reply = self.api("POST",
                         f"/resource/generic/{rid}/metric/cpu/measures",
                         json=measures)
        assert reply.status_code == 202, reply.text
        return res

    @property
    def period(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The hour the measures fell in, as (start, end)."""
        assert self.hour is not None, "no resource created yet"
        return self.hour, self.hour + HOUR

    def wait(self, expected_groups: int) -> None:
        """Poll until metricd has aggregated every resource's measures."""
        start, end = self.period
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = basic_api("POST", "/aggregates", params=[
                ("groupby", "id"), ("start", start.isoformat()),
                ("stop", end.isoformat()),
                ("granularity", 3600), ("use_history", "true")],
                json={"operations": "(aggregate count (metric cpu count))",
                      "resource_type": "generic",
                      "search": {"=": {"project_id": self.project}}})
            if reply.status_code == 200:
                done = [g for g in reply.json()
                        if g["measures"]["measures"]["aggregated"]]
                if len(done) >= expected_groups:
                    return
            time.sleep(0.3)
        pytest.fail("Gnocchi did not aggregate the measures within 30 s")


def metrics(extra: dict[str, Any], **entry: Any) -> dict[str, Any]:
    """A validated metrics definition with one metric, ``cpu``."""
    raw = {"metrics": {"cpu": {"unit": "instance", "extra_args": extra,
                               **entry}}}
    return metrics_mod.validate_metrics(
        raw, scope_key="project_id",
        extra_args_schema=GnocchiCollector.extra_args_schema)
