"""The official ``cloudkitty`` client against a running ``cloudkitty-api``
(noauth) on SQLite and PostgreSQL: ``scope state get``, ``scope state
reset``, ``scope patch``, ``tasks reprocessing create`` and ``tasks
reprocessing get``; and a reset waiting for, then refused by, a scope lock
held by another process's coordinator on Redis."""
from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any
from urllib import parse

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty.db import api as db_api
from cloudkitty.processor import locks
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import services
from cloudkitty.tests.functional.api.conftest import (
    CLIENT_DB_KINDS,
    api_on_fresh_database,
    conf_for,
    running_api,
)
from cloudkitty.tests.functional.api.test_client_cli import (
    CLIENT,
    as_json,
    cloudkitty,
)
from cloudkitty.tests.storage_factory import at, frame, point

REDIS_URL = os.environ.get("CLOUDKITTY_TEST_REDIS_URL",
                           "redis://127.0.0.1:6379")

#: The keys the API and the tests are configured with.
KEYS = ("project_id", "source", "prometheus")


def _redis_up() -> bool:
    parsed = parse.urlparse(REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1",
                                       parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def api_sections(coordination_url: str) -> dict[str, dict[str, Any]]:
    return {"fetcher": {"backend": KEYS[1]},
            "collect": {"scope_key": KEYS[0], "collector": KEYS[2],
                        "period": 3600},
            "orchestrator": {"coordination_url": coordination_url}}


class Api:
    """A running API, the database behind it and a configuration of the
    same deployment for the test's own reads and writes."""

    def __init__(self, url: str, conf: cfg.ConfigOpts) -> None:
        self.url = url
        self.conf = conf

    def cli(self, *args: str,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        return cloudkitty(self.url, "--os-rating-api-version", "2", *args,
                          check=check)

    def json(self, *args: str) -> Any:
        return as_json(self.cli(*args, "-f", "json"))

    @property
    def states(self) -> StateManager:
        return StateManager(self.conf)

    def push_hours(self, scope_id: str, hours: range) -> None:
        get_storage(self.conf).push(
            [frame(at(h), {"instance": [point("1", "2",
                                              project_id=scope_id)]})
             for h in hours], scope_id)

    def stored_periods(self, scope_id: str) -> list[Any]:
        result = get_storage(self.conf).retrieve(
            filters={KEYS[0]: scope_id}, paginate=False)
        return sorted(df.start for df in result["dataframes"])



@pytest.fixture(scope="module", params=CLIENT_DB_KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    locks_url = f"file://{tmp_path_factory.mktemp('locks')}"
    with api_on_fresh_database(request.param, tmp_path_factory,
                               **api_sections(locks_url)) as (url, db_url):
        conf = conf_for(db_url, tmp_path_factory.mktemp("conf"),
                        api_sections(locks_url))
        try:
            yield Api(url, conf)
        finally:
            db_api.dispose_engines()


@pytest.fixture(autouse=True)
def empty(request: pytest.FixtureRequest) -> None:
    """Every test starts with no scope, schedule or rated data."""
    if "api" not in request.fixturenames:
        return
    api: Api = request.getfixturevalue("api")
    with db_api.get_engine(api.conf).begin() as connection:
        for table in ("cloudkitty_storage_states",
                      "storage_scope_reprocessing_schedule",
                      "cloudkitty_dataframes"):
            connection.execute(sa.text(f"DELETE FROM {table}"))


def iso(value: Any) -> str:
    return str(value.isoformat())


class TestScopeState:
    def test_get_lists_every_scope_with_its_state(self, api: Api) -> None:
        api.states.create_state("a", at(5))
        api.states.create_state("b", at(3), fetcher="keystone")
        rows = api.json("scope", "state", "get")
        assert rows == [
            {"Scope ID": "a", "Scope Key": KEYS[0], "Collector": KEYS[2],
             "Fetcher": KEYS[1], "State": "2019-07-01T05:00:00+00:00"},
            {"Scope ID": "b", "Scope Key": KEYS[0], "Collector": KEYS[2],
             "Fetcher": "keystone", "State": "2019-07-01T03:00:00+00:00"},
        ]

    def test_get_filters_and_pages(self, api: Api) -> None:
        for scope_id in ("a", "b", "c"):
            api.states.create_state(scope_id, at(5))
        api.states.create_state("d", at(5), fetcher="keystone")

        def ids(*args: str) -> list[str]:
            return [r["Scope ID"]
                    for r in api.json("scope", "state", "get", *args)]

        assert ids("--scope-id", "a", "--scope-id", "c") == ["a", "c"]
        assert ids("--fetcher", "keystone") == ["d"]
        assert ids("--collector", KEYS[2], "--scope-key", KEYS[0],
                   "--offset", "1", "--limit", "2") == ["b", "c"]

    def test_get_without_match_fails_with_404(self, api: Api) -> None:
        result = api.cli("scope", "state", "get", "--scope-id", "nope",
                         check=False)
        assert result.returncode != 0
        assert "(HTTP 404)" in result.stdout + result.stderr

    def test_reset_purges_the_data_and_resumes_at_the_date(self,
                                                      api: Api) -> None:
        api.states.create_state("a", at(5))
        api.states.create_state("b", at(5))
        api.push_hours("a", range(6))
        api.push_hours("b", range(6))
        api.cli("scope", "state", "reset", "--scope-id", "a",
                "2019-07-01T02:00:00Z")
        assert api.stored_periods("a") == [at(0), at(1)]
        assert api.states.get_last_processed_timestamp("a") == at(1)
        assert api.stored_periods("b") == [at(h) for h in range(6)]
        assert api.states.get_last_processed_timestamp("b") == at(5)
        rows = api.json("scope", "state", "get", "--scope-id", "a")
        assert rows[0]["State"] == "2019-07-01T01:00:00+00:00"

    def test_reset_all_scopes_with_a_filter(self, api: Api) -> None:
        api.states.create_state("a", at(5))
        api.states.create_state("b", at(5), fetcher="keystone")
        api.push_hours("a", range(6))
        api.cli("scope", "state", "reset", "--all-scopes",
                "--fetcher", KEYS[1], "2019-07-01T04:00:00+01:00")
        assert api.stored_periods("a") == [at(0), at(1), at(2)]
        assert api.states.get_last_processed_timestamp("a") == at(2)
        assert api.states.get_last_processed_timestamp(
            "b", fetcher="keystone") == at(5)

    def test_reset_of_an_unknown_scope_fails_with_404(self,
                                                      api: Api) -> None:
        result = api.cli("scope", "state", "reset", "--scope-id", "nope",
                         "2019-07-01T02:00:00Z", check=False)
        assert result.returncode != 0
        assert "(HTTP 404)" in result.stdout + result.stderr

    def test_patch(self, api: Api) -> None:
        api.states.create_state("a", at(5))
        # python-cloudkittyclient 6.x returns the updated scope from a
        # plain cliff Command, which cliff turns into the exit status: the
        # command prints the scope and exits 1 even though the server
        # answered 200. The change is what matters here.
        result = api.cli("scope", "patch", "--scope-id", "a", "--active",
                         "false", "--collector", "gnocchi", check=False)
        assert "'collector': 'gnocchi'" in result.stderr
        assert "'active': False" in result.stderr
        (state,) = api.states.list_states()
        assert (state.scope_id, state.collector, state.active) == (
            "a", "gnocchi", False)
        result = api.cli("scope", "patch", "-id", "a", "--active", "true",
                         check=False)
        assert "'active': True" in result.stderr
        assert api.states.list_states()[0].active is True

    def test_patch_of_an_unknown_scope_fails_with_404(self,
                                                      api: Api) -> None:
        result = api.cli("scope", "patch", "--scope-id", "nope",
                         "--active", "false", check=False)
        assert result.returncode != 0
        assert "(HTTP 404)" in result.stdout + result.stderr


class TestReprocessing:
    def create(self, api: Api, *scope_ids: str, start: str, end: str,
               reason: str = "new prices",
               check: bool = True) -> subprocess.CompletedProcess[str]:
        args = [arg for scope_id in scope_ids
                for arg in ("--scope-id", scope_id)]
        return api.cli("tasks", "reprocessing", "create", *args,
                       "--start-reprocess-time", start,
                       "--end-reprocess-time", end, "--reason", reason,
                       check=check)

    def test_create_then_get(self, api: Api) -> None:
        api.states.create_state("a", at(10))
        api.states.create_state("b", at(10))
        self.create(api, "a", "b", start="2019-07-01T01:00:00Z",
                    end="2019-07-01T03:00:00Z")
        self.create(api, "a", start="2019-07-01T05:00:00+00:00",
                    end="2019-07-01T06:00:00+00:00", reason="fix")
        rows = api.json("tasks", "reprocessing", "get")
        assert rows == [
            {"Scope ID": "a", "Reason": "fix",
             "Start reprocessing time": "2019-07-01T05:00:00",
             "End reprocessing time": "2019-07-01T06:00:00",
             "Current reprocessing time": ""},
            {"Scope ID": "b", "Reason": "new prices",
             "Start reprocessing time": "2019-07-01T01:00:00",
             "End reprocessing time": "2019-07-01T03:00:00",
             "Current reprocessing time": ""},
            {"Scope ID": "a", "Reason": "new prices",
             "Start reprocessing time": "2019-07-01T01:00:00",
             "End reprocessing time": "2019-07-01T03:00:00",
             "Current reprocessing time": ""},
        ]
        asc = api.json("tasks", "reprocessing", "get", "--order", "ASC",
                       "--scope-id", "a", "--offset", "1", "--limit", "1")
        assert [(r["Scope ID"], r["Reason"]) for r in asc] == [("a", "fix")]
        only_b = api.json("tasks", "reprocessing", "get", "--scope-id", "b")
        assert [r["Scope ID"] for r in only_b] == ["b"]

    def test_create_for_all_scopes(self, api: Api) -> None:
        api.states.create_state("a", at(10))
        api.states.create_state("b", at(10))
        self.create(api, "ALL", start="2019-07-01T00:00:00Z",
                    end="2019-07-01T01:00:00Z")
        rows = api.json("tasks", "reprocessing", "get", "--order", "asc")
        assert [r["Scope ID"] for r in rows] == ["a", "b"]

    @pytest.mark.parametrize("scope_ids, start, end, text", [
        (("a",), "2019-07-01T01:30:00Z", "2019-07-01T03:00:00Z",
         "A valid window near the one given is start_reprocess_time="
         "2019-07-01T01:00:00+00:00, end_reprocess_time="
         "2019-07-01T03:00:00+00:00"),
        (("a", "nope"), "2019-07-01T01:00:00Z", "2019-07-01T03:00:00Z",
         "Scopes ['nope'] scheduled to reprocess"),
        (("a",), "2019-07-01T01:00:00Z", "2019-07-01T12:00:00Z",
         "only processed up to"),
        (("a", "ALL"), "2019-07-01T01:00:00Z", "2019-07-01T03:00:00Z",
         "Cannot use 'ALL'"),
    ])
    def test_refusals_are_400_with_the_reason(self, api: Api, scope_ids,
                                              start, end, text) -> None:
        api.states.create_state("a", at(10))
        result = self.create(api, *scope_ids, start=start, end=end,
                             check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "(HTTP 400)" in output
        assert text in output
        assert api.json("tasks", "reprocessing", "get") == []

    def test_overlap_is_refused(self, api: Api) -> None:
        api.states.create_state("a", at(10))
        self.create(api, "a", start="2019-07-01T01:00:00Z",
                    end="2019-07-01T03:00:00Z")
        result = self.create(api, "a", start="2019-07-01T03:00:00Z",
                             end="2019-07-01T04:00:00Z", check=False)
        assert "already has an unfinished schedule" in \
            result.stdout + result.stderr
        assert len(api.json("tasks", "reprocessing", "get")) == 1


@services.needs(_redis_up(), f"Redis not reachable at {REDIS_URL} "
                             "(tools/services.sh start redis)")
class TestResetUnderARedisLock:
    """Another process's coordinator (here the test's) holds a scope's
    lock on Redis, as a processor rating that scope would."""

    @pytest.fixture(scope="class")
    def redis_api(self, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Api]:
        tmp = tmp_path_factory.mktemp("redis-api")
        db_url = f"sqlite:///{tmp}/ck.sqlite"
        sections = api_sections(REDIS_URL)
        with running_api(tmp, db_url, fetcher=sections["fetcher"],
                         collect=sections["collect"],
                         orchestrator=sections["orchestrator"]) as url:
            conf = conf_for(db_url, tmp, api_sections(REDIS_URL))
            try:
                yield Api(url, conf)
            finally:
                db_api.dispose_engines()

    @pytest.fixture
    def holder(self, redis_api: Api) -> Iterator[locks.Coordinator]:
        with locks.Coordinator(redis_api.conf,
                               member_id="a-processor") as coordinator:
            yield coordinator

    @staticmethod
    def start_reset(api: Api, scope_id: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [CLIENT, "--os-auth-type", "cloudkitty-noauth",
             "--os-endpoint", api.url, "--os-rating-api-version", "2",
             "scope", "state", "reset", "--scope-id", scope_id,
             "2019-07-01T02:00:00Z"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def test_reset_waits_for_the_lock(self, redis_api: Api,
                                      holder: locks.Coordinator) -> None:
        scope_id = f"scope-{uuid.uuid4().hex}"
        redis_api.states.create_state(scope_id, at(5))
        redis_api.push_hours(scope_id, range(6))
        name = locks.scope_lock_name(scope_id, KEYS[2], KEYS[1], KEYS[0])
        with holder.lock(name):
            process = self.start_reset(redis_api, scope_id)
            try:
                with pytest.raises(subprocess.TimeoutExpired):
                    process.wait(timeout=3)
                # Nothing changed while the processor holds the scope.
                assert redis_api.states.get_last_processed_timestamp(
                    scope_id) == at(5)
                assert len(redis_api.stored_periods(scope_id)) == 6
            except BaseException:
                process.kill()
                raise
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert redis_api.states.get_last_processed_timestamp(
            scope_id) == at(1)
        assert redis_api.stored_periods(scope_id) == [at(0), at(1)]

    def test_reset_is_refused_when_the_lock_stays_taken(
            self, redis_api: Api, holder: locks.Coordinator) -> None:
        # Waits the API's whole lock timeout (30 s) before answering.
        scope_id = f"scope-{uuid.uuid4().hex}"
        redis_api.states.create_state(scope_id, at(5))
        redis_api.push_hours(scope_id, range(6))
        name = locks.scope_lock_name(scope_id, KEYS[2], KEYS[1], KEYS[0])
        with holder.lock(name):
            result = cloudkitty(
                redis_api.url, "--os-rating-api-version", "2", "scope",
                "state", "reset", "--scope-id", scope_id,
                "2019-07-01T02:00:00Z", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "(HTTP 409)" in output
        assert f"Scope '{scope_id}' is being processed" in output
        assert redis_api.states.get_last_processed_timestamp(
            scope_id) == at(5)
        assert len(redis_api.stored_periods(scope_id)) == 6

