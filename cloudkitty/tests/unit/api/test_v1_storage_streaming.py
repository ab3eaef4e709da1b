"""/v1/storage/dataframes is streamed in windows of whole periods; its
bytes are those of the document WSME builds in one piece from the v1
types (COMPAT.md §2.9)."""
from __future__ import annotations

import datetime
import json
import random
from decimal import Decimal
from typing import Any

import pytest
from wsme.rest import json as wsme_json

from cloudkitty.api.v1.controllers import storage as storage_ctl
from cloudkitty.api.v1.datamodels import storage as models
from cloudkitty.api.v1.streaming import json_list_document
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.storage import get_storage
from cloudkitty.tests.storage_factory import HOUR, at
from cloudkitty.tests.unit.api.test_v1_report import (  # noqa: F401
    client_fixture,
    conf_fixture,
    deployment_fixture,
    keystone_fixture,
)

PATH = "/v1/storage/dataframes"


def wsme_document(frames: list[DataFrame], scope_key: str = "project_id",
                  metric_type: str | None = None) -> bytes:
    """The body as built in memory from the v1 WSME types."""
    v1: list[models.DataFrame] = []
    for frame in frames:
        for service, points in frame.itertypes():
            if metric_type is not None and service != metric_type:
                continue
            by_scope: dict[str, list[models.RatedResource]] = {}
            for point in points:
                scope = point.desc.get(scope_key)
                by_scope.setdefault(
                    models.UNDEFINED_SCOPE if scope is None else str(scope),
                    []).append(models.RatedResource.from_point(service,
                                                               point))
            v1.extend(models.DataFrame.build(frame.start, frame.end, scope,
                                             resources)
                      for scope, resources in by_scope.items())
    return wsme_json.encode_result(
        models.DataFrameCollection(dataframes=v1),
        models.DataFrameCollection).encode()


def generated(periods: int, seed: int) -> list[DataFrame]:
    """Periods of uneven sizes: some empty, some over a batch."""
    rnd = random.Random(seed)
    frames = []
    for hour in range(periods):
        usage: dict[str, list[DataPoint]] = {}
        for metric in ("instance", "volume.size"):
            usage[metric] = [DataPoint(
                "unit", Decimal(rnd.randint(0, 50)) / 4,
                Decimal(rnd.randint(0, 10_000)) / 1000,
                {"project_id": rnd.choice(["p1", "p2", "p3"]),
                 "id": f"{metric}-{hour}-{i}"},
                {"flavor_name": rnd.choice(["m1.tiny", "m1.small"]),
                 "created": "2019-07-01T00:00:00"})
                for i in range(rnd.choice([0, 1, 3, 9]))]
        if any(usage.values()):
            frames.append(DataFrame(at(hour), at(hour) + HOUR, usage))
    return frames


@pytest.mark.parametrize("batch", [1, 4, 10_000])
def test_streamed_body_is_the_wsme_document(client, conf, monkeypatch,
                                           batch: int) -> None:
    frames = generated(12, seed=batch)
    get_storage(conf).push(frames)
    monkeypatch.setattr(storage_ctl, "BATCH_POINTS", batch)
    response = client.get(PATH)
    assert response.body == wsme_document(frames)
    assert response.content_type == "application/json"
    window = client.get(PATH, params={"begin": "2019-07-01T03:00:00",
                                      "end": "2019-07-01T08:00:00",
                                      "resource_type": "instance"})
    inside = [f for f in frames if at(3) <= f.start < at(8)]
    assert window.body == wsme_document(inside, metric_type="instance")


def test_nothing_stored_is_an_empty_list(client) -> None:
    response = client.get(PATH)
    assert response.status_int == 200
    assert response.body == b'{"dataframes": []}'


def test_periods_never_split_and_windows_tile() -> None:
    day = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    starts = [day + i * datetime.timedelta(hours=1) for i in range(6)]
    # Two stored periods share the first start (different lengths).
    counts = [(starts[0], 3), (starts[0], 2), (starts[1], 1),
              (starts[2], 7), (starts[4], 2), (starts[5], 1)]
    windows = storage_ctl.period_windows(counts, None, None, batch=4)
    assert windows == [(None, starts[1]), (starts[1], starts[2]),
                       (starts[2], starts[4]), (starts[4], None)]
    whole = storage_ctl.period_windows(counts, starts[0], starts[5],
                                       batch=100)
    assert whole == [(starts[0], starts[5])]
    assert storage_ctl.period_windows([], None, day) == [(None, day)]


@pytest.mark.parametrize("items", [[], [1], [{"a": [1, "é"]}, None, "x"],
                                   list(range(3000))])
@pytest.mark.parametrize("chunk", [1, 100, 65536])
def test_json_list_document_is_json_dumps(items: list[Any],
                                          chunk: int) -> None:
    chunks = list(json_list_document("dataframes", iter(items),
                                     chunk_bytes=chunk))
    assert b"".join(chunks) == json.dumps({"dataframes": items}).encode()
    if chunk == 1 and items:
        assert len(chunks) == len(items) + 1
