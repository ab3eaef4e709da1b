"""POST /v1/rating/quote (COMPAT.md §2.5): priced in the API process with
the enabled modules, global rules only."""
from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, ClassVar

import pytest
import webtest

from cloudkitty.api import app
from cloudkitty.dataframe import DataFrame
from cloudkitty.db import api as db_api
from cloudkitty.db.models import hashmap as hm
from cloudkitty.rating import RatingProcessor, modules
from cloudkitty.rating.noop import Noop
from cloudkitty.tests.unit.api import test_rating_modules_api as modules_api
from cloudkitty.tests.unit.api.test_rating_modules_api import (
    ADMIN,
    MEMBER,
    fault,
)

#: The migrated-database configuration factory of the modules API tests.
db_conf = modules_api.db_conf

PERIOD = 600


class Recorder(RatingProcessor):
    """Prices each point ``qty × 2`` and keeps what it was given."""

    module_name = "recorder"
    description = "Records quoted frames."
    seen: ClassVar[list[tuple[str | None, datetime.datetime, DataFrame]]] = []

    def reload_config(self, at: datetime.datetime) -> None:
        self.at = at

    def process(self, frame: DataFrame) -> DataFrame:
        raise AssertionError("a quote must call quote(), not process()")

    def quote(self, frame: DataFrame) -> DataFrame:
        type(self).seen.append((self.scope_id, self.at, frame))
        return frame.map_points(
            lambda _t, p: p.replace(price=p.price + p.qty * 2))


class AddTen(RatingProcessor):
    module_name = "addten"
    description = "Adds 10 to every price."

    def reload_config(self, at: datetime.datetime) -> None:
        pass

    def process(self, frame: DataFrame) -> DataFrame:
        return frame.map_points(lambda _t, p: p.replace(price=p.price + 10))


PROCESSORS: dict[str, type[RatingProcessor]] = {
    "addten": AddTen, "noop": Noop, "recorder": Recorder}


@pytest.fixture
def test_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    Recorder.seen = []
    monkeypatch.setattr(modules, "installed_processors",
                        lambda namespace=modules.NAMESPACE: PROCESSORS)


@pytest.fixture
def client(db_conf) -> webtest.TestApp:
    return webtest.TestApp(app.build_wsgi_app(
        db_conf(collect={"period": PERIOD})))


def quote(client: webtest.TestApp, resources: Any, status: int = 200,
          **kwargs: Any) -> webtest.TestResponse:
    return client.post_json("/v1/rating/quote", {"resources": resources},
                            status=status, **kwargs)


def enable(client: webtest.TestApp, module_id: str, priority: int = 1
           ) -> None:
    client.put_json(f"/v2/rating/modules/{module_id}",
                    {"enabled": True, "priority": priority}, status=204)


INSTANCE = {"service": "instance", "volume": 1,
            "desc": {"groupby": {"id": "i1"},
                     "metadata": {"flavor_name": "m1.small"}}}


def test_noop_alone_quotes_zero_as_a_json_number(client) -> None:
    response = quote(client, [INSTANCE])
    assert response.content_type == "application/json"
    assert response.body == b"0.0"


@pytest.mark.usefixtures("test_modules")
class TestWithModules:
    def test_disabled_modules_do_not_price(self, client) -> None:
        assert quote(client, [INSTANCE]).json == 0.0
        assert Recorder.seen == []

    def test_the_frame_the_modules_get(self, client) -> None:
        enable(client, "recorder")
        before = datetime.datetime.now(datetime.timezone.utc)
        body = quote(client, [
            INSTANCE,
            {"service": "volume.size", "volume": "1.25",
             "desc": {"groupby": {"id": "v1"}, "metadata": {},
                      "flat_key": "ignored"}},
            {"service": "instance", "volume": 0.1},
        ]).json
        assert body == pytest.approx(4.7)  # (1 + 1.25 + 0.1) × 2
        [(scope_id, at, frame)] = Recorder.seen
        assert scope_id is None
        assert before <= at <= datetime.datetime.now(datetime.timezone.utc)
        assert (frame.start, frame.end) == (
            at, at + datetime.timedelta(seconds=PERIOD))
        points = [(t, p.unit, p.qty, dict(p.groupby), dict(p.metadata))
                  for t, p in frame.iterpoints()]
        assert points == [
            ("instance", "undef", Decimal(1), {"id": "i1"},
             {"flavor_name": "m1.small"}),
            ("instance", "undef", Decimal("0.1"), {}, {}),
            ("volume.size", "undef", Decimal("1.25"), {"id": "v1"}, {}),
        ]

    def test_modules_run_by_descending_priority(self, client) -> None:
        enable(client, "addten", priority=2)
        enable(client, "recorder", priority=1)
        # (0 + 10) then + 3 × 2, for one resource of volume 3.
        assert quote(client, [{"service": "x", "volume": 3}]).json == 16.0
        enable(client, "addten", priority=1)
        enable(client, "recorder", priority=2)
        assert quote(client, [{"service": "x", "volume": 3}]).json == 16.0
        enable(client, "recorder", priority=1)
        assert quote(client, [{"service": "x", "volume": 3},
                              {"service": "y", "volume": 1}]).json == 28.0

    def test_no_resources_quote_zero(self, client) -> None:
        enable(client, "addten")
        assert quote(client, []).json == 0.0


@pytest.mark.parametrize("body, field", [
    ({}, "resources"),
    ({"resources": None}, "resources"),
    ({"resources": [None]}, "resources[0]"),
    ({"resources": [{"volume": 1}]}, "resources[0].service"),
    ({"resources": [{"service": "", "volume": 1}]}, "resources[0].service"),
    ({"resources": [INSTANCE, {"service": "a"}]}, "resources[1].volume"),
    ({"resources": [{"service": "a", "volume": "lots"}]},
     "resources[0].volume"),
    ({"resources": [{"service": "a", "volume": True}]},
     "resources[0].volume"),
    ({"resources": [{"service": "a", "volume": 1, "desc": []}]},
     "resources[0].desc"),
    ({"resources": [{"service": "a", "volume": 1,
                     "desc": {"groupby": "id"}}]},
     "resources[0].desc.groupby"),
    ({"resources": [{"service": "a", "volume": 1,
                     "desc": {"metadata": [1]}}]},
     "resources[0].desc.metadata"),
    ({"resources": [{"service": "a", "volume": 1, "colour": "red"}]},
     "colour"),
    ({"resources": {"service": "a"}}, "resources"),
])
def test_malformed_resources_are_400_naming_the_field(client, body,
                                                      field) -> None:
    response = client.post_json("/v1/rating/quote", body, status=400)
    assert field in fault(response)


def test_quote_is_open_to_every_user_by_default(db_conf) -> None:
    keystone = webtest.TestApp(app.setup_app(db_conf("keystone")))
    assert quote(keystone, [INSTANCE], headers=MEMBER).json == 0.0


def test_quote_policy_is_enforced(db_conf, tmp_path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"rating:quote": "role:admin"\n')
    keystone = webtest.TestApp(app.setup_app(db_conf(
        "keystone", oslo_policy={"policy_file": policy_file})))
    response = quote(keystone, [INSTANCE], headers=MEMBER, status=403)
    assert fault(response) == \
        "Policy doesn't allow rating:quote to be performed."
    assert quote(keystone, [INSTANCE], headers=ADMIN).json == 0.0


# -- with the real hashmap module ---------------------------------------

PAST = datetime.datetime(2020, 1, 1)
FUTURE = datetime.datetime(2999, 1, 1)


def _mapping(cost: str, map_type: str, *, service_id: int | None = None,
             field_id: int | None = None, value: str | None = None,
             tenant_id: str | None = None,
             start: datetime.datetime = PAST) -> hm.HashMapMapping:
    return hm.HashMapMapping(
        mapping_id=str(uuid.uuid4()), value=value, cost=Decimal(cost),
        map_type=map_type, service_id=service_id, field_id=field_id,
        tenant_id=tenant_id, name=uuid.uuid4().hex[:24],
        created_at=PAST, start=start, created_by="tests")


def add_instance_flavor_field(session: Any
                              ) -> tuple[hm.HashMapService, hm.HashMapField]:
    """The hashmap service ``instance`` and its field ``flavor_name``,
    flushed so their ids can parent rules."""
    service = hm.HashMapService(service_id=str(uuid.uuid4()), name="instance")
    session.add(service)
    session.flush()
    field = hm.HashMapField(field_id=str(uuid.uuid4()), name="flavor_name",
                            service_id=service.id)
    session.add(field)
    session.flush()
    return service, field


@pytest.fixture
def hashmap_rules(db_conf) -> None:
    """instance: service flat 2 and flavor_name m1.small rate 3 (global);
    a project rule and a future rule that a quote must not use."""
    engine = db_api.get_engine(db_conf())
    with db_api.session_scope(engine) as session:
        service, field = add_instance_flavor_field(session)
        session.add_all([
            _mapping("2", "flat", service_id=service.id),
            _mapping("3", "rate", field_id=field.id, value="m1.small"),
            _mapping("50", "flat", service_id=service.id, tenant_id="T1"),
            _mapping("70", "rate", field_id=field.id, value="m1.small",
                     start=FUTURE),
        ])


@pytest.mark.usefixtures("hashmap_rules")
def test_quote_with_hashmap_global_rules(client) -> None:
    enable(client, "hashmap")
    small = {"service": "instance", "volume": 5,
             "desc": {"metadata": {"flavor_name": "m1.small"}}}
    assert quote(client, [small]).json == 30.0  # 2 × 3 × 5
    # A field directly under desc is not part of the point.
    flat = {"service": "instance", "volume": 5,
            "desc": {"flavor_name": "m1.small"}}
    assert quote(client, [flat]).json == 10.0
    assert quote(client, [small, flat]).json == 40.0
    assert quote(client, [{"service": "volume", "volume": 5}]).json == 0.0
