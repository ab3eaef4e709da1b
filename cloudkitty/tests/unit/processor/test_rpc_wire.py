"""Frames cross the RPC wire as JSON without losing a digit."""
from __future__ import annotations

import datetime
import json
from decimal import Decimal

from cloudkitty.processor import rpcapi
from cloudkitty.tests.storage_factory import T0, frame, point


def test_frame_round_trip_is_exact() -> None:
    original = frame(T0, {
        "instance": [point("1", "0.123456789012345678901234567",
                           flavor="m1.tiny", metadata={"name": "vm-1"},
                           description="an instance")],
        "volume.size": [point("1E+2", "3.5", unit="GiB"),
                        point("0.000000001", "0", project_id="p-b")],
    })
    wire = json.loads(json.dumps(rpcapi.frame_to_wire(original)))
    copy = rpcapi.frame_from_wire(wire)
    assert copy == original
    points = dict(copy.itertypes())
    assert points["instance"][0].price == \
        Decimal("0.123456789012345678901234567")
    assert points["instance"][0].description == "an instance"
    assert points["volume.size"][1].qty == Decimal("1E-9")


def test_times_keep_their_instant() -> None:
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    moment = datetime.datetime(2026, 1, 2, 5, tzinfo=plus2)
    wire = rpcapi._time_to_wire(moment)
    assert rpcapi.time_from_wire(wire) == moment
    assert rpcapi.time_from_wire(None) is None


def test_fake_transport_is_local(make_conf) -> None:
    assert rpcapi.is_local_transport(
        make_conf({"DEFAULT": {"transport_url": "fake://"}}))
    assert not rpcapi.is_local_transport(make_conf(
        {"DEFAULT": {"transport_url": "rabbit://guest:guest@localhost//"}}))
