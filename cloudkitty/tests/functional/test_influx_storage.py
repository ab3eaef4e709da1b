"""The ``influxdb`` storage backend against the real InfluxDB 1.x.

Backend-specific checks: upstream's layout on the wire (raw points read
back with InfluxQL), escaping and injection attempts, chunked writes,
init() errors, a dead server, and the same answers as the sqlalchemy
backend for the same data. The backend-neutral contract runs elsewhere.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import threading
from decimal import Decimal

import pytest
import requests

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.storage.v2.base import ScopePeriod
from cloudkitty.storage.v2.influx import InfluxStorage
from cloudkitty.storage.v2.sqlalchemy import SQLAlchemyStorage
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.functional.influx_fixture import (
    influx_options,
    influx_query,
    influx_storage_conf,
    influxdb,  # noqa: F401  (fixture)
    needs_influxdb,
)
from cloudkitty.tests.storage_factory import at, frame, point

pytestmark = needs_influxdb


@pytest.fixture
def sql_url(tmp_path):
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    f.migrate(url)
    yield url
    db_api.dispose_engines()


@pytest.fixture
def conf(make_conf, sql_url, influxdb):  # noqa: F811
    return influx_storage_conf(make_conf, sql_url, influxdb)


@pytest.fixture
def storage(conf) -> InfluxStorage:
    backend = get_storage(conf)
    assert isinstance(backend, InfluxStorage)
    backend.init()
    return backend


def raw_points(database: str, where: str = "") -> list[dict]:
    [result] = influx_query(f'SELECT * FROM "dataframes"{where}', database,
                            epoch="s")
    rows = []
    for serie in result.get("series", []):
        for values in serie["values"]:
            rows.append(dict(zip(serie["columns"], values, strict=True)))
    return rows


def tag_keys(database: str) -> set[str]:
    [result] = influx_query('SHOW TAG KEYS FROM "dataframes"', database)
    return {v[0] for s in result.get("series", []) for v in s["values"]}


def qtys(result) -> list[Decimal]:
    return sorted(p.qty for fr in result["dataframes"]
                  for _, p in fr.iterpoints())


class TestWireLayout:
    def test_upstream_layout(self, storage, influxdb):  # noqa: F811
        p = point("1.5", "0.123456789012345678901234567", project_id="a",
                  unit="GiB", description="memory", flavor="tiny",
                  metadata={"zone": "z1", "vcpus": 4})
        storage.push([frame(at(0), {"ram": [p]})])
        [row] = raw_points(influxdb)
        assert row["time"] == int(at(0).timestamp())
        assert tag_keys(influxdb) == {
            "type", "project_id", "flavor", "week_of_the_year",
            "day_of_the_year", "month", "year"}
        assert row["type"] == "ram" and row["project_id"] == "a"
        assert row["flavor"] == "tiny" and row["zone"] == "z1"
        assert row["vcpus"] == 4
        assert row["qty"] == 1.5
        assert row["price"] == pytest.approx(0.1234567890123456789)
        assert row["unit"] == "GiB" and row["description"] == "memory"
        assert set(row["groupby"].split("|")) == {
            "project_id", "flavor", "week_of_the_year", "day_of_the_year",
            "month", "year"}
        assert row["metadata"].split("|") == ["zone", "vcpus"]
        assert row["__ck_collect_period"] == 3600
        assert row["__ck_qty"] == "1.5"
        assert row["__ck_price"] == "0.123456789012345678901234567"
        got = storage.retrieve()["dataframes"][0]
        [(_, stored)] = list(got.iterpoints())
        assert stored.price == Decimal("0.123456789012345678901234567")
        assert stored == f.collected(p, at(0))

    def test_writes_go_to_the_retention_policy(self, make_conf, sql_url,
                                               influxdb):  # noqa: F811
        influx_query(f'CREATE RETENTION POLICY "short" ON "{influxdb}" '
                     f'DURATION 0s REPLICATION 1', post=True)
        conf = influx_storage_conf(
            make_conf, sql_url, influxdb,
            storage_influxdb={"retention_policy": "short"})
        storage = get_storage(conf)
        storage.init()
        storage.push([frame(at(0), {"cpu": [point()]})])
        assert raw_points(influxdb) == []  # autogen is empty
        [result] = influx_query('SELECT COUNT("qty") FROM '
                                '"short"."dataframes"', influxdb)
        assert result["series"][0]["values"][0][1] == 1

    def test_chunks_of_500_lines(self, storage, influxdb,  # noqa: F811
                                 monkeypatch):
        sizes = []
        post = storage.client._post_lines

        def spy(batch, params):
            sizes.append(len(batch))
            post(batch, params)

        monkeypatch.setattr(storage.client, "_post_lines", spy)
        storage.push([frame(at(0), {"cpu": [
            point(str(i), id=f"r{i}") for i in range(1234)]})])
        assert sizes == [500, 500, 234]
        assert storage.retrieve(paginate=False)["total"] == 1234

    def test_identical_points_are_all_kept(self, storage, influxdb):  # noqa: F811,E501
        data = [frame(at(0), {"cpu": [point("1"), point("1")]})]
        storage.push(data)
        storage.push(data)
        assert qtys(storage.retrieve()) == [1, 1, 1, 1]
        assert storage.total()["results"][0]["qty"] == 4
        # One series per copy; upstream's layout is otherwise intact.
        assert sorted(str(r.get("__ck_dup")) for r in raw_points(influxdb)) \
            == ["1", "2", "3", "None"]



class TestPaging:
    def test_a_page_reads_only_its_periods(self, storage, monkeypatch):
        storage.push([frame(at(hour), {"cpu": [
            point(str(hour * 10 + n), project_id=f"p{n}") for n in range(3)]})
            for hour in range(10)])
        read: list[int] = []
        real = storage._read

        def counted(*args, **kwargs):
            rows = list(real(*args, **kwargs))
            read.append(len(rows))
            return iter(rows)

        monkeypatch.setattr(storage, "_read", counted)
        page = storage.retrieve(offset=13, limit=3)
        assert page["total"] == 30
        assert [(fr.start, qtys_of(fr)) for fr in page["dataframes"]] == [
            (at(4), [41, 42]), (at(5), [50])]
        # The index of periods 4 and 5 only, not the window's 30 points.
        assert read[0] == 6
        # A type filter is exact in InfluxDB: counted there too.
        read.clear()
        assert storage.retrieve(metric_types="cpu", offset=29,
                                limit=5)["total"] == 30
        assert read[0] == 3
        # Other filters are checked in Python: the whole index is read.
        read.clear()
        assert storage.retrieve(filters={"project_id": "p1"}, offset=2,
                                limit=2)["total"] == 10
        assert read[0] == 10


    def test_reads_stream_in_chunks(self, storage):
        storage.push([frame(at(0), {"cpu": [
            point(str(n), project_id=f"p{n}") for n in range(5)]})])
        series = list(storage.client.query_chunked(
            'SELECT "qty" FROM "dataframes"', chunk_size=2))
        # One series sent in three parts, every row once.
        assert len(series) == 3
        assert sorted(v[1] for serie in series for v in serie["values"]) \
            == [0, 1, 2, 3, 4]
        with pytest.raises(exceptions.StorageError, match="InfluxDB"):
            list(storage.client.query_chunked('SELECT FROM "dataframes"'))


def qtys_of(fr) -> list[int]:
    return [int(p.qty) for _, p in fr.iterpoints()]


class TestEscaping:
    NASTY = ["a b", "a,b", "a=b", 'a"b', "a'b", "a\\b", "trailing\\",
             "ünï", "x' OR '1'='1", 'x" OR "1"="1', "a|b"]

    @pytest.mark.parametrize("value", NASTY)
    def test_values_round_trip_and_filter(self, storage, value):
        p = point("2", "3", project_id=value, flavor=value,
                  metadata={"note": value})
        storage.push([frame(at(0), {"cpu": [p], "ram": [point("7")]})])
        for key in ("project_id", "flavor", "note"):
            result = storage.retrieve(filters={key: value})
            assert qtys(result) == [2], key
        [(_, stored)] = list(storage.retrieve(
            filters={"flavor": value})["dataframes"][0].iterpoints())
        assert stored == f.collected(p, at(0))
        [row] = storage.total(groupby=["flavor"],
                              filters={"project_id": value})["results"]
        assert row["flavor"] == value and row["qty"] == 2

    @pytest.mark.parametrize("key", ["a b", "a,b", "a=b", 'a"b', "a'b",
                                     "a\\b", "qty", "type", "time",
                                     "groupby", "a|b", "__ck_qty"])
    def test_odd_keys_round_trip(self, storage, key):
        p = point("2", "3", metadata={key: "m"})
        p = p.replace(groupby={**p.groupby, key: "g"})
        storage.push([frame(at(0), {"cpu": [p]})])
        [(_, stored)] = list(storage.retrieve()["dataframes"][0]
                             .iterpoints())
        assert stored == f.collected(p, at(0))
        assert storage.total()["results"][0]["qty"] == 2

    @pytest.mark.parametrize("evil", [
        "a' OR 'x'='x", "a'; DROP DATABASE x; --", "a\\' OR 1=1 --",
        "\\", "'", '"', "a\nb"])
    def test_injection_in_filters_and_groupby(self, storage, influxdb,  # noqa: F811,E501
                                              evil):
        storage.push([frame(at(0), {"cpu": [point("1", project_id="a")]})])
        assert storage.retrieve(filters={"project_id": evil})["total"] == 0
        assert storage.retrieve(filters={evil: "a"})["total"] == 0
        assert storage.total(filters={"project_id": evil})["results"] == []
        assert storage.total(groupby=[evil])["results"][0][evil] is None
        storage.delete(filters={"project_id": evil})
        storage.delete(filters={evil: "a"})
        assert storage.retrieve()["total"] == 1
        assert influx_query("SHOW DATABASES")  # server still fine

    def test_numbers_in_metadata_match_as_text(self, storage):
        storage.push([frame(at(0), {"vol": [
            point("1", metadata={"size": 5, "ratio": 1.5, "on": True,
                                 "whole": 2.0, "nested": {"k": [1]}})]})])
        for key, value in [("size", "5"), ("size", 5), ("ratio", "1.5"),
                           ("on", "true"), ("whole", "2.0")]:
            assert storage.retrieve(filters={key: value})["total"] == 1
        [(_, stored)] = list(storage.retrieve()["dataframes"][0]
                             .iterpoints())
        assert stored.metadata["whole"] == 2.0
        assert isinstance(stored.metadata["whole"], float)
        assert stored.metadata["nested"] == {"k": [1]}


class TestInit:
    def test_creates_the_database(self, make_conf, sql_url):
        from cloudkitty.tests.functional.influx_fixture import (
            influx_database,
        )
        with influx_database() as name:
            influx_query(f'DROP DATABASE "{name}"', post=True)
            conf = influx_storage_conf(make_conf, sql_url, name)
            get_storage(conf).init()
            [result] = influx_query("SHOW DATABASES")
            assert [name] in result["series"][0]["values"]

    def test_missing_retention_policy_names_the_option(
            self, make_conf, sql_url, influxdb):  # noqa: F811
        conf = influx_storage_conf(
            make_conf, sql_url, influxdb,
            storage_influxdb={"retention_policy": "nope"})
        with pytest.raises(exceptions.StorageError) as err:
            get_storage(conf).init()
        assert "retention_policy" in str(err.value)
        assert "nope" in str(err.value)

    def test_server_down_is_a_storage_error(self, make_conf, sql_url,
                                            influxdb):  # noqa: F811
        from cloudkitty.tests.functional.prometheus_fixture import free_port
        conf = influx_storage_conf(
            make_conf, sql_url, influxdb,
            storage_influxdb={"port": free_port(), "timeout": 2})
        storage = get_storage(conf)
        for call in (storage.init, storage.retrieve,
                     lambda: storage.total(groupby=["flavor"]),
                     lambda: storage.push([frame(at(0), {"c": [point()]})]),
                     lambda: storage.replace_scope_period(
                         "a", at(0), at(1), [frame(at(0), {"c": [point()]})])):
            with pytest.raises(exceptions.StorageError) as err:
                call()
            assert "unreachable" in str(err.value)
        assert StateManager(conf).get_last_processed_timestamp("a") is None

    def test_server_error_is_a_storage_error(self, storage, influxdb):  # noqa: F811,E501
        storage.push([frame(at(0), {"cpu": [point(metadata={"n": 1})]})])
        # Same field with another type in the same shard: InfluxDB refuses.
        with pytest.raises(exceptions.StorageError) as err:
            storage.push([frame(at(0), {"cpu": [point(metadata={"n": "x"})]})])
        assert "field type conflict" in str(err.value)


def test_storage_init_cli(tmp_path, influxdb):  # noqa: F811
    """The console script prepares a fresh SQL database and checks
    InfluxDB; a missing retention policy fails naming the option."""
    url = f"sqlite:///{tmp_path}/cli.sqlite"
    path = tmp_path / "ck.conf"
    script = pathlib.Path(sys.executable).parent / "cloudkitty-storage-init"

    def run(policy: str) -> subprocess.CompletedProcess:
        options = influx_options(influxdb, retention_policy=policy)
        path.write_text(
            f"[database]\nconnection = {url}\n[storage]\nbackend = "
            f"influxdb\n[storage_influxdb]\n"
            + "".join(f"{k} = {v}\n" for k, v in options.items()))
        return subprocess.run([str(script), "--config-file", str(path)],
                              capture_output=True, text=True, timeout=120)

    ok = run("autogen")
    assert ok.returncode == 0, ok.stderr
    bad = run("missing")
    assert bad.returncode == 1
    assert "[storage_influxdb] retention_policy" in bad.stderr
    assert "'missing'" in bad.stderr


class TestUnitOfWork:
    def test_replace_scope_period(self, storage, conf):
        storage.push([frame(at(0), {"cpu": [point("1", project_id="a"),
                                            point("2", project_id="b")]})])
        new = [frame(at(0), {"cpu": [point("10", project_id="a")]})]
        storage.replace_scope_period("a", at(0), at(1), new)
        storage.replace_scope_period("a", at(0), at(1), new)
        assert qtys(storage.retrieve()) == [2, 10]
        assert StateManager(conf).get_last_processed_timestamp("a") == at(0)
        assert storage.total(groupby=["project_id"])["results"][0]["qty"] \
            == 10

    def test_scope_only_given_to_push(self, storage):
        bare = point("3").replace(groupby={"flavor": "x"})
        storage.replace_scope_period("s1", at(0), at(1),
                                     [f.frame(at(0), {"cpu": [bare]})])
        assert qtys(storage.retrieve(filters={"project_id": "s1"})) == [3]
        [row] = storage.total(groupby=["project_id"])["results"]
        assert row["project_id"] == "s1"
        storage.replace_scope_period("s1", at(0), at(1), [])
        assert storage.retrieve()["total"] == 0

    def test_bulk(self, storage, conf, influxdb):  # noqa: F811
        storage.push([frame(at(0), {"cpu": [point("1", project_id="keep")]})])
        StateManager(conf).set_last_processed_timestamp("s2", at(-1))
        items = [ScopePeriod(f"s{i}", [frame(at(0), {"cpu": [
            point(str(i), project_id=f"s{i}", id=str(j))
            for j in range(3)]})], None if i != 2 else at(-1))
            for i in range(5)]
        items[3] = items[3]._replace(expected=at(5))  # stale
        assert storage.replace_scope_periods(at(0), at(1), items) == ["s3"]
        # Progress moved: a second run is stale everywhere, writes nothing.
        assert storage.replace_scope_periods(at(0), at(1), items) == [
            "s0", "s1", "s2", "s3", "s4"]
        rows = storage.total(groupby=["project_id"])["results"]
        assert {r["project_id"]: r["qty"] for r in rows} == {
            "keep": 1, "s0": 0, "s1": 3, "s2": 6, "s4": 12}
        assert StateManager(conf).get_last_processed_timestamp("s3") is None
        assert StateManager(conf).get_last_processed_timestamp("s4") == at(0)

    @pytest.mark.parametrize("bulk", [True, False])
    def test_leftovers_of_a_crashed_attempt_are_replaced(self, storage,
                                                         conf, bulk):
        # A crashed attempt wrote part of the window (our layout and a
        # point in upstream's) without moving the state: the existence
        # check must find them, so the period is stored once.
        storage.push([frame(at(h), {"cpu": [point("1", project_id=p)]})
                      for h in (-1, 0, 1) for p in ("a", "other")])
        upstream = ('dataframes,project_id=a,type=cpu,id=old qty=5,'
                    'price=0,unit="u",groupby="project_id|id",'
                    f'metadata="" {at(0).timestamp():.0f}000000000')
        storage.client.write([upstream], 10)
        new = [frame(at(0), {"cpu": [point("7", project_id="a")]})]
        if bulk:
            assert storage.replace_scope_periods(
                at(0), at(1), [ScopePeriod("a", new)]) == []
        else:
            storage.replace_scope_period("a", at(0), at(1), new)
        assert qtys(storage.retrieve(begin=at(0), end=at(1),
                                     filters={"project_id": "a"})) == [7]
        assert qtys(storage.retrieve(filters={"project_id": "a"})) == [
            1, 1, 7]
        assert qtys(storage.retrieve(filters={"project_id": "other"})) \
            == [1, 1, 1]
        assert StateManager(conf).get_last_processed_timestamp("a") == at(0)

    def test_failed_write_moves_nothing(self, storage, conf, influxdb):  # noqa: F811,E501
        # InfluxDB refuses a string where the shard holds an integer: the
        # SQL side, run while the write was sent, is rolled back.
        storage.push([frame(at(0), {"cpu": [point(
            "1", project_id="b", metadata={"flavor": 1})]})])
        StateManager(conf).set_last_processed_timestamp("a", at(-1))
        bad = [frame(at(0), {"cpu": [point(
            "2", project_id="a", id=str(i),
            metadata={"flavor": "x" if i else 2}) for i in range(3)]})]
        with pytest.raises(exceptions.StorageError, match="conflict"):
            storage.replace_scope_periods(at(0), at(1),
                                          [ScopePeriod("a", bad, at(-1))])
        assert StateManager(conf).get_last_processed_timestamp("a") == \
            at(-1)
        assert {r["project_id"]: r["qty"] for r in storage.total(
            groupby=["project_id"])["results"]} == {"b": 1}
        good = [frame(at(0), {"cpu": [point("3", project_id="a")]})]
        assert storage.replace_scope_periods(
            at(0), at(1), [ScopePeriod("a", good, at(-1))]) == []
        assert qtys(storage.retrieve(filters={"project_id": "a"})) == [3]

    def test_sql_failure_while_writing_is_retried_once(self, storage,
                                                       conf):
        # The rollups fail while the points are on their way: nothing is
        # committed, and the retry replaces what reached InfluxDB.
        from cloudkitty.storage.v2 import rollups

        table = rollups.LEDGER.name
        new = [frame(at(0), {"cpu": [point(str(i), project_id="a",
                                           id=str(i)) for i in range(3)]})]
        with storage.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {table} RENAME TO gone")
        with pytest.raises(exceptions.StorageError):
            storage.replace_scope_periods(at(0), at(1),
                                          [ScopePeriod("a", new, None)])
        assert StateManager(conf).get_last_processed_timestamp("a") is None
        with storage.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE gone RENAME TO {table}")
        assert storage.replace_scope_periods(
            at(0), at(1), [ScopePeriod("a", new, None)]) == []
        assert qtys(storage.retrieve()) == [0, 1, 2]
        assert StateManager(conf).get_last_processed_timestamp("a") == at(0)

    def test_sql_failure_before_influx_is_touched(self, storage, conf):
        storage.push([frame(at(0), {"cpu": [point("1", project_id="a")]})])
        with storage.engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE cloudkitty_storage_states RENAME TO gone")
        with pytest.raises(exceptions.StorageError):
            storage.replace_scope_period(
                "a", at(0), at(1), [frame(at(0), {"cpu": [point("9")]})])
        assert qtys(storage.retrieve()) == [1]

    def test_reset_scope(self, storage, conf):
        storage.push([frame(at(h), {"cpu": [point("1", project_id=p)]})
                      for h in range(3) for p in ("a", "b")])
        storage.reset_scope("a", at(1))
        assert qtys(storage.retrieve(filters={"project_id": "a"})) == [1]
        assert StateManager(conf).get_last_processed_timestamp("a") == at(0)
        assert storage.total(groupby=["project_id"], begin=at(0),
                             end=at(3))["results"][0]["qty"] == 1


# -- same answers as the sqlalchemy backend ---------------------------------
def sample_frames() -> list:
    frames = []
    for h in range(6):
        usage = {
            "cpu": [point(str(h + 1), f"{h}.10", project_id="a",
                          flavor="tiny" if h % 2 else "big", id="i1"),
                    point("2", "0.333333333333333333333333333",
                          project_id="b", flavor="tiny", id="i2",
                          metadata={"zone": "z1", "size": h})],
            "ram": [point("1024", "0.0001", project_id="a", unit="MiB",
                          metadata={"zone": "z2"}, description="memory")],
        }
        if h == 3:
            usage["vol"] = [point("5", "1", project_id="c",
                                  metadata={"flavor": "meta"})]
        frames.append(frame(at(h), usage))
    return frames


TOTAL_CASES = [
    {},
    {"groupby": ["type"]},
    {"groupby": ["project_id", "type"]},
    {"groupby": ["time"]},
    {"groupby": ["time", "project_id"], "begin": at(1), "end": at(4)},
    {"groupby": ["time-d", "flavor"]},
    {"groupby": ["flavor"], "filters": {"zone": "z1"}},
    {"groupby": ["id"], "metric_types": ["cpu"]},
    {"filters": {"flavor": ["tiny", "meta"]}},
    {"filters": {"size": 3}},
    {"groupby": ["type"], "custom_fields":
        "SUM(price) AS p, COUNT(qty) AS n, SUM(qty)"},
    {"groupby": ["project_id"], "offset": 1, "limit": 1},
    {"begin": at(2), "end": at(2)},
    {"groupby": ["nope"]},
]

RETRIEVE_CASES = [
    {}, {"begin": at(2)}, {"end": at(2)}, {"filters": {"zone": "z2"}},
    {"filters": {"flavor": "meta"}}, {"metric_types": "vol"},
    {"offset": 3, "limit": 4}, {"paginate": False},
    {"filters": {"project_id": ["a", "c"], "type": "cpu"}},
]


@pytest.fixture
def pair(make_conf, sql_url, influxdb, tmp_path):  # noqa: F811
    influx = get_storage(influx_storage_conf(make_conf, sql_url, influxdb))
    influx.init()
    other = f"sqlite:///{tmp_path}/ref.sqlite"
    f.migrate(other)
    sql = get_storage(f.storage_conf(make_conf, other))
    assert isinstance(sql, SQLAlchemyStorage)
    for backend in (influx, sql):
        backend.push(sample_frames())
    return influx, sql


def frames_as_sets(result):
    """Frames with their points per type as sorted JSON (push order
    within a frame is kept by both, but compare regardless)."""
    out = []
    for fr in result["dataframes"]:
        out.append((fr.start, fr.end, {
            t: sorted(json.dumps(p.as_dict(), sort_keys=True, default=str)
                      for p in pts) for t, pts in fr.itertypes()}))
    return result["total"], out


@pytest.mark.parametrize("kwargs", TOTAL_CASES)
def test_total_matches_sql(pair, kwargs):
    influx, sql = pair
    assert influx.raw_total(**kwargs) == sql.raw_total(**kwargs)
    assert influx.total(**kwargs) == sql.total(**kwargs)


@pytest.mark.parametrize("kwargs", RETRIEVE_CASES)
def test_retrieve_matches_sql(pair, kwargs):
    influx, sql = pair
    assert frames_as_sets(influx.retrieve(**kwargs)) == \
        frames_as_sets(sql.retrieve(**kwargs))


@pytest.mark.parametrize("filters", [
    {"project_id": "a"}, {"flavor": "tiny"}, {"zone": "z1"}, {"type": "ram"},
    {"flavor": "meta"}])
def test_delete_matches_sql(pair, filters):
    influx, sql = pair
    for backend in pair:
        backend.delete(at(1), at(4), filters)
    assert frames_as_sets(influx.retrieve(paginate=False)) == \
        frames_as_sets(sql.retrieve(paginate=False))
    for kwargs in ({"groupby": ["project_id", "type"]}, {"groupby": ["time"]}):
        assert influx.total(**kwargs) == sql.total(**kwargs)


def test_unknown_version_is_a_config_error(make_conf, sql_url,
                                           influxdb):  # noqa: F811
    conf = influx_storage_conf(make_conf, sql_url, influxdb,
                               storage_influxdb={"version": 2})
    with pytest.raises(exceptions.ConfigError) as err:
        get_storage(conf)
    assert "version" in str(err.value)


def test_requests_session_is_pooled(storage):
    assert isinstance(storage.client.session, requests.Session)
    storage.retrieve()
    storage.retrieve()
    adapter = storage.client.session.get_adapter(storage.client.url)
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    pools = adapter.poolmanager.pools
    [key] = pools.keys()
    # Every request of the reads went through one kept-alive connection.
    assert pools[key].num_connections == 1
    assert pools[key].num_requests >= 4


def test_unit_of_work_on_server_databases(make_conf, db_url,
                                          influxdb):  # noqa: F811
    """States and rollups on PostgreSQL/MariaDB: two workers storing the
    same scope-period at once queue on the state row; one stores, the
    other finds the progress moved and writes nothing."""
    f.migrate(db_url)
    conf = influx_storage_conf(make_conf, db_url, influxdb)
    storage = get_storage(conf)
    assert isinstance(storage, InfluxStorage)
    storage.init()
    StateManager(conf).set_last_processed_timestamp("a", at(-1))
    data = [frame(at(0), {"cpu": [point("3", "0.1", project_id="a")]})]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        mine = get_storage(conf)
        barrier.wait()
        try:
            mine.replace_scope_period("a", at(0), at(1), data,
                                      expected=at(-1))
            outcomes.append("stored")
        except exceptions.StaleProgress:
            outcomes.append("stale")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["stale", "stored"]
    assert qtys(storage.retrieve()) == [3]
    assert StateManager(conf).get_last_processed_timestamp("a") == at(0)
    assert storage.total(groupby=["project_id"]) == \
        storage.raw_total(groupby=["project_id"])
    db_api.dispose_engines()


def test_fast_encoding_is_the_reference_layout():
    """BatchEncoder's shortcut writes the very lines points.encode
    defines, for plain points and every odd case mixed in a batch
    (including the copies numbered by __ck_dup)."""
    import random

    from cloudkitty.dataframe import DataFrame, DataPoint
    from cloudkitty.storage.v2.influx import encoder

    values = ["a", "b c", "x,y", "k=v", "", None, "tr\\", "new\nline", 5,
              1.5, 2.0, True, 'q"s', "é", "\\ x", float("nan"), 2 ** 70,
              [1], {"a": 1}]
    names = ["id", "project_id", "type", "qty", "a b", "x|y", "__ck_x",
             "user_id", "time", "m=1"]
    rnd = random.Random(7)
    points = []
    for i in range(1500):
        if i % 2:
            groupby = {"id": f"r{i % 40}", "project_id": rnd.choice("pq")}
            metadata = {"flavor": rnd.choice(["m1", "m 2", 3, 4.5, None,
                                              True])}
        else:
            groupby = {n: rnd.choice(values)
                       for n in rnd.sample(names, rnd.randint(0, 4))}
            metadata = {n: rnd.choice(values)
                        for n in rnd.sample(names, rnd.randint(0, 4))}
        points.append((rnd.choice(["instance", "a b", ""]), DataPoint(
            rnd.choice(["u", 'u"x']), Decimal(rnd.choice(["1", "0.1", "7"])),
            Decimal("0.5"), groupby, metadata, rnd.choice([None, "d\\x"]))))
    fast_points = 0
    for scope in ("p", None, "bad\n", "s c"):
        for i in range(0, len(points), 50):
            chunk = points[i:i + 50]
            frames = [DataFrame(at(0), at(1), {
                t: [p for kind, p in chunk if kind == t]
                for t in dict.fromkeys(kind for kind, _ in chunk)})]
            fast = encoder.BatchEncoder("project_id")
            reference = encoder.BatchEncoder("project_id")
            reference._fast = lambda *args: None  # type: ignore[method-assign]
            reference._seq = fast._seq
            assert fast.lines(frames, scope) == reference.lines(frames,
                                                                scope)
            fast_points += sum(1 for _ in fast._shapes.values() if _)
    assert fast_points  # the shortcut was taken


def test_pages_read_only_their_points_and_add_up(storage, influxdb):  # noqa: F811,E501
    # Two pushes per period (push order interleaves with resources),
    # copies of one point (__ck_dup), and a period holding a point of
    # upstream's (no __ck_seq): every page is the unpaginated list's
    # slice.
    for h in range(3):
        for push in range(2):
            storage.push([frame(at(h), {"cpu": [
                point(str(100 * h + 10 * push + i), id=str(i % 4))
                for i in range(9)]})])
    storage.client.write([
        'dataframes,project_id=proj-a,type=cpu qty=5,price=0,unit="u",'
        f'groupby="project_id",metadata="" {at(1).timestamp():.0f}'
        '000000000'], 10)
    every = [p.qty for fr in storage.retrieve(paginate=False)["dataframes"]
             for _, p in fr.iterpoints()]
    assert len(every) == 55
    for size in (1, 4, 7, 55):
        paged = []
        for offset in range(0, 55, size):
            result = storage.retrieve(offset=offset, limit=size)
            assert result["total"] == 55
            paged += [p.qty for fr in result["dataframes"]
                      for _, p in fr.iterpoints()]
        assert paged == every, size
