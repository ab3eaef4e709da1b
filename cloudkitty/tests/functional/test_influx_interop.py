"""Upstream CloudKitty 25.0 and our ``influxdb`` backend share a database.

Upstream's own storage code (its ``cloudkitty.storage.get_storage`` with
the v2 ``influxdb`` driver) runs in a subprocess with the virtualenv of
``tools/upstream-venv.sh``: it pushes frames that we then read (retrieve
and total, raw and from the rollups ``init()`` builds), and it reads back
what we pushed. Skipped without that virtualenv, unless
``CLOUDKITTY_REQUIRE_UPSTREAM`` is set.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import textwrap
from decimal import Decimal
from typing import Any

import pytest

from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.functional.influx_fixture import (
    INFLUXDB_URL,
    influx_options,
    influx_storage_conf,
    influxdb,  # noqa: F401  (fixture)
    needs_influxdb,
)
from cloudkitty.tests.functional.test_adoption import upstream_venv
from cloudkitty.tests.storage_factory import at, frame, point

pytestmark = needs_influxdb

#: Runs upstream's storage API; reads a JSON command on stdin, prints JSON.
_DRIVER = textwrap.dedent('''
    import datetime, decimal, json, sys
    from oslo_config import cfg
    import cloudkitty.collector  # noqa: registers [collect]
    from cloudkitty import dataframe, storage

    cfg.CONF(["--config-file", sys.argv[1]], project="cloudkitty")
    backend = storage.get_storage()
    command = json.load(sys.stdin)
    UTC = datetime.timezone.utc

    def when(text):
        return datetime.datetime.fromisoformat(text) if text else None

    def jsonable(value):
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, datetime.datetime):
            return value.astimezone(UTC).isoformat()
        return value

    if command["op"] == "push":
        frames = []
        for spec in command["frames"]:
            frame = dataframe.DataFrame(when(spec["start"]), when(spec["end"]))
            for type_, points in spec["usage"].items():
                for p in points:
                    frame.add_point(dataframe.DataPoint(
                        p["unit"], p["qty"], p["price"], p["groupby"],
                        p["metadata"], p.get("description")), type_)
            frames.append(frame)
        backend.push(frames)
        print(json.dumps({"ok": True}))
    elif command["op"] == "retrieve":
        result = backend.retrieve(begin=when(command["begin"]),
                                  end=when(command["end"]), paginate=False)
        out = []
        for frame in result["dataframes"]:
            for type_, p in frame.iterpoints():
                out.append({"start": jsonable(frame.start),
                            "end": jsonable(frame.end), "type": type_,
                            "unit": p.unit, "qty": str(p.qty),
                            "price": str(p.price),
                            "groupby": dict(p.groupby),
                            "metadata": dict(p.metadata)})
        print(json.dumps({"total": result["total"], "points": out}))
    elif command["op"] == "total":
        result = backend.total(groupby=command["groupby"],
                               begin=when(command["begin"]),
                               end=when(command["end"]), paginate=False)
        print(json.dumps([{k: jsonable(v) for k, v in row.items()}
                          for row in result["results"]]))
''')


@pytest.fixture(scope="module")
def upstream_python() -> pathlib.Path:
    venv = upstream_venv()
    python = venv / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import influxdb, cloudkitty.storage.v2.influx"],
        capture_output=True, text=True, cwd="/", timeout=120) \
        if python.exists() else None
    if probe is None or probe.returncode != 0:
        reason = (f"upstream CloudKitty virtualenv with the influxdb library "
                  f"missing at {venv}; run tools/upstream-venv.sh")
        if os.environ.get("CLOUDKITTY_REQUIRE_UPSTREAM"):
            pytest.fail(reason)
        pytest.skip(reason)
    return python


class Upstream:
    def __init__(self, python: pathlib.Path, workdir: pathlib.Path,
                 database: str) -> None:
        self.python = python
        self.workdir = workdir
        opts = influx_options(database)
        self.conf = workdir / "upstream.conf"
        self.conf.write_text(
            "[storage]\nversion = 2\nbackend = influxdb\n"
            "[collect]\nperiod = 3600\n[storage_influxdb]\n"
            + "".join(f"{k} = {v}\n" for k, v in opts.items()))
        (workdir / "driver.py").write_text(_DRIVER)

    def call(self, **command: Any) -> Any:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["TZ"] = "UTC"
        result = subprocess.run(
            [str(self.python), str(self.workdir / "driver.py"),
             str(self.conf)], input=json.dumps(command, default=str),
            capture_output=True, text=True, env=env, cwd=self.workdir,
            timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def upstream(upstream_python, tmp_path, influxdb):  # noqa: F811
    work = tmp_path / "upstream"
    work.mkdir()
    return Upstream(upstream_python, work, influxdb)


@pytest.fixture
def ours(make_conf, tmp_path, influxdb):  # noqa: F811
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    f.migrate(url)
    yield get_storage(influx_storage_conf(make_conf, url, influxdb))
    db_api.dispose_engines()


PRICES = ["0.1", "12.34", "1.23456789", "0.000001", "7"]


def sample() -> list:
    frames = []
    for h in range(4):
        frames.append(frame(at(h), {
            "cpu": [point(str(h + 1), PRICES[(h + i) % len(PRICES)],
                          project_id=p, flavor="tiny" if i else "big",
                          id=f"{p}-vm", metadata={"zone": f"z{i}"},
                          description="vcpus")
                    for i, p in enumerate(("a", "b"))],
            "volume": [point("2.5", "0.02", project_id="a", unit="GiB",
                             id="a-vol", metadata={"size": "10"})],
        }))
    return frames


def spec(frames: list) -> list[dict]:
    return [{"start": fr.start.isoformat(), "end": fr.end.isoformat(),
             "usage": {t: [{"unit": p.unit, "qty": str(p.qty),
                            "price": str(p.price),
                            "groupby": dict(p.groupby),
                            "metadata": dict(p.metadata),
                            "description": p.description} for p in pts]
                       for t, pts in fr.itertypes()}} for fr in frames]


def as_points(frames: list) -> list[tuple]:
    """(start, end, type, unit, qty, price, groupby, metadata) sorted."""
    out = []
    for fr in frames:
        for t, p in fr.iterpoints():
            out.append((fr.start.isoformat(), fr.end.isoformat(), t, p.unit,
                        Decimal(p.qty), Decimal(p.price),
                        json.dumps(dict(p.groupby), sort_keys=True),
                        json.dumps(dict(p.metadata), sort_keys=True)))
    return sorted(out)


def upstream_points(result: dict) -> list[tuple]:
    return sorted((p["start"], p["end"], p["type"], p["unit"],
                   Decimal(p["qty"]), Decimal(p["price"]),
                   json.dumps(p["groupby"], sort_keys=True),
                   json.dumps(p["metadata"], sort_keys=True))
                  for p in result["points"])


def raw_total(storage, groupby):
    return storage.raw_total(groupby, at(0), at(4))


def test_we_read_what_upstream_writes(upstream, ours):
    data = sample()
    upstream.call(op="push", frames=spec(data))
    ours.init()  # rollups built from the points upstream wrote
    with ours.engine.connect() as connection:
        assert connection.exec_driver_sql(
            "SELECT COUNT(*) FROM cloudkitty_rollup_periods").scalar()
    got = ours.retrieve(begin=at(0), end=at(4), paginate=False)
    assert got["total"] == 12
    assert as_points(got["dataframes"]) == as_points(data)
    for groupby in ([], ["project_id"], ["type", "project_id"], ["time"],
                    ["flavor"], ["time-d", "project_id"]):
        rows = ours.total(groupby=groupby, begin=at(0), end=at(4))
        assert rows == raw_total(ours, groupby), groupby
        assert rows["results"], groupby
    [row] = ours.total(begin=at(0), end=at(4))["results"]
    assert row["rate"] == sum(Decimal(p.price) for fr in data
                              for _, p in fr.iterpoints())
    assert row["qty"] == Decimal("30")


def test_upstream_reads_what_we_write(upstream, ours):
    data = sample()
    ours.init()
    ours.push(data)
    # A scope-period replaced by the processor, twice: stored once.
    again = [frame(at(3), {"cpu": [point("5", "0.1", project_id="a",
                                         id="a-vm", flavor="big",
                                         metadata={"zone": "z0"},
                                         description="vcpus")]})]
    ours.replace_scope_period("a", at(3), at(4), again)
    ours.replace_scope_period("a", at(3), at(4), again)
    got = upstream.call(op="retrieve", begin=at(0).isoformat(),
                        end=at(4).isoformat())
    mine = ours.retrieve(begin=at(0), end=at(4), paginate=False)
    assert got["total"] == mine["total"] == 11
    assert upstream_points(got) == as_points(mine["dataframes"])
    for groupby in (["project_id"], ["type", "project_id"], ["time"]):
        theirs = upstream.call(op="total", groupby=groupby,
                               begin=at(0).isoformat(),
                               end=at(4).isoformat())
        rows = ours.total(groupby=groupby, begin=at(0), end=at(4))
        assert len(theirs) == len(rows["results"])
        for t_row, o_row in zip(theirs, rows["results"], strict=True):
            assert float(t_row["qty"]) == pytest.approx(float(o_row["qty"]))
            assert float(t_row["rate"]) == pytest.approx(
                float(o_row["rate"]))
            for key in groupby:
                if key == "time":
                    assert t_row["begin"] == o_row["begin"].isoformat()
                    assert t_row["end"] == o_row["end"].isoformat()
                else:
                    assert t_row[key] == o_row[key]


def test_upstream_sees_duplicates_and_pushed_scopes(upstream, ours):
    ours.init()
    twice = [frame(at(0), {"cpu": [point("1", "0.5", project_id="a")]})]
    ours.push(twice)
    ours.push(twice)
    bare = point("3", "1").replace(groupby={"flavor": "x"})
    ours.replace_scope_period("s1", at(1), at(2),
                              [f.frame(at(1), {"cpu": [bare]})])
    got = upstream.call(op="retrieve", begin=at(0).isoformat(),
                        end=at(2).isoformat())
    assert got["total"] == 3
    assert sorted(Decimal(p["qty"]) for p in got["points"]) == [1, 1, 3]
    theirs = upstream.call(op="total", groupby=["project_id"],
                           begin=at(0).isoformat(), end=at(2).isoformat())
    assert {r["project_id"]: r["qty"] for r in theirs} == {"a": 2.0,
                                                           "s1": 3.0}
    assert INFLUXDB_URL
