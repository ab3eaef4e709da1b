"""The API's notices to the processors (COMPAT §7.4) and the processor's
upstream-compatible RPC endpoints, over the in-process ``fake://``
transport."""
from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import oslo_messaging as messaging
import pytest
import webtest

from cloudkitty.api import app
from cloudkitty.db import api as db_api
from cloudkitty.processor import endpoints, rpcapi
from cloudkitty.tests import storage_factory


class Recorder(endpoints.RatingEndpoint):
    """The real endpoint, recording what it is told."""

    def __init__(self, conf: Any, seen: queue.Queue) -> None:
        super().__init__(conf)
        self.seen = seen

    def reload_modules(self, ctxt: Any) -> None:
        self.seen.put(("reload_modules", None))

    def reload_module(self, ctxt: Any, name: str) -> None:
        self.seen.put(("reload_module", name))

    def enable_module(self, ctxt: Any, name: str) -> None:
        self.seen.put(("enable_module", name))

    def disable_module(self, ctxt: Any, name: str) -> None:
        self.seen.put(("disable_module", name))


@pytest.fixture
def conf(api_conf, tmp_path):
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    storage_factory.migrate(url)
    conf = api_conf("noauth", database={"connection": url})
    yield conf
    db_api.dispose_engines()


@pytest.fixture
def seen(conf) -> Iterator[queue.Queue]:
    received: queue.Queue = queue.Queue()
    server = messaging.get_rpc_server(
        rpcapi.get_transport(conf),
        messaging.Target(topic=rpcapi.TOPIC, server=conf.host),
        [Recorder(conf, received), endpoints.ScopeEndpoint(conf)],
        executor="threading")
    server.start()
    try:
        yield received
    finally:
        server.stop()
        server.wait()


def test_module_switches_and_priority_changes_are_announced(conf,
                                                            seen) -> None:
    client = webtest.TestApp(app.build_wsgi_app(conf))
    client.put_json("/v1/rating/modules/hashmap",
                    {"module_id": "hashmap", "enabled": True}, status=302)
    assert seen.get(timeout=10) == ("enable_module", "hashmap")
    client.put_json("/v2/rating/modules/hashmap", {"priority": 7},
                    status=204)
    assert seen.get(timeout=10) == ("reload_module", "hashmap")
    client.put_json("/v2/rating/modules/hashmap", {"enabled": False},
                    status=204)
    assert seen.get(timeout=10) == ("disable_module", "hashmap")
    client.get("/v1/rating/reload_modules", status=204)
    assert seen.get(timeout=10) == ("reload_modules", None)
    # Unchanged module: no notice.
    client.put_json("/v2/rating/modules/hashmap", {"enabled": False},
                    status=204)
    with pytest.raises(queue.Empty):
        seen.get(timeout=0.5)


def test_quote_over_rpc_matches_the_api_quote(conf, seen) -> None:
    client = webtest.TestApp(app.build_wsgi_app(conf))
    client.put_json("/v1/rating/modules/hashmap",
                    {"module_id": "hashmap", "enabled": True}, status=302)
    service = client.post_json("/v1/rating/module_config/hashmap/services",
                               {"name": "instance"}).json
    client.post_json("/v1/rating/module_config/hashmap/mappings",
                     {"service_id": service["service_id"], "cost": "0.25",
                      "type": "flat"})
    resources = [{"service": "instance", "volume": "4",
                  "desc": {"groupby": {"id": "vm"}, "metadata": {}}}]
    by_api = client.post_json("/v1/rating/quote",
                              {"resources": resources}).json
    usage = {"instance": [{"vol": {"unit": "instance", "qty": "4"},
                           "groupby": {"id": "vm"}, "metadata": {}}]}
    by_rpc = rpcapi.ProcessorClient(conf, timeout=10).quote(usage)
    assert Decimal(by_rpc) == Decimal("1.00")
    assert Decimal(str(by_api)) == Decimal(by_rpc)


def test_reset_state_cast_purges_and_moves_the_state(conf, seen,
                                                     tmp_path) -> None:
    from cloudkitty.storage import get_storage
    from cloudkitty.storage.state import StateManager

    conf.set_override("coordination_url", f"file://{tmp_path}/locks",
                      group="orchestrator")
    storage = get_storage(conf)
    for hour in range(4):
        storage.replace_scope_period(
            "proj-a", storage_factory.at(hour), storage_factory.at(hour + 1),
            [storage_factory.frame(storage_factory.at(hour), {
                "instance": [storage_factory.point("1", "2")]})])
    states = StateManager(conf)
    assert states.get_last_processed_timestamp("proj-a") == \
        storage_factory.at(3)
    rpcapi.ProcessorClient(conf).reset_state(
        [{"scope_id": "proj-a", "scope_key": "project_id",
          "fetcher": conf.fetcher.backend,
          "collector": conf.collect.collector}], storage_factory.at(2))
    deadline = time.monotonic() + 10
    # Rating resumes with the period starting at the reset point.
    while states.get_last_processed_timestamp("proj-a") != \
            storage_factory.at(1) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states.get_last_processed_timestamp("proj-a") == \
        storage_factory.at(1)
    rows = storage.total(groupby=["time"], paginate=False)["results"]
    assert [row["begin"] for row in rows] == [
        storage_factory.at(0), storage_factory.at(1)]
