"""Backend loading, the shared argument rules, the default unit of work and
``cloudkitty-storage-init``."""
from __future__ import annotations

import datetime
import pathlib
import subprocess
import sys

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2.sqlalchemy import SQLAlchemyStorage
from cloudkitty.tests import storage_factory as f
from cloudkitty.tests.storage_factory import at, frame, point

STORAGE_INIT = pathlib.Path(sys.executable).parent / "cloudkitty-storage-init"


@pytest.mark.parametrize("groupby, expected", [
    (None, []),
    (["type", "time-d", "time-w", "time-m", "time-y", "time"],
     ["type", "day_of_the_year", "week_of_the_year", "month", "year",
      "time"]),
    (["project_id", "type", "project_id"], ["project_id", "type"]),
])
def test_normalize_groupby(groupby, expected):
    assert base.normalize_groupby(groupby) == expected


@pytest.mark.parametrize("groupby", [["time-x"], ["time-"], [""]])
def test_invalid_groupby_names_the_field(groupby):
    with pytest.raises(exceptions.InvalidInput) as err:
        base.normalize_groupby(groupby)
    assert err.value.field == "groupby"
    assert err.value.http_status == 400


def test_normalize_filters():
    assert base.normalize_filters({"a": "x", "b": ["y", 2], "c": 3}) == {
        "a": ["x"], "b": ["y", "2"], "c": ["3"]}


def test_get_storage_loads_the_configured_backend(make_conf, tmp_path):
    conf = make_conf({"storage": {"backend": "sqlalchemy"},
                      "database": {"connection":
                                   f"sqlite:///{tmp_path}/x.sqlite"}})
    assert isinstance(get_storage(conf), SQLAlchemyStorage)


def test_get_storage_names_a_missing_backend(make_conf):
    conf = make_conf({"storage": {"backend": "nosuchdb"}})
    with pytest.raises(exceptions.ConfigError) as err:
        get_storage(conf)
    assert "nosuchdb" in str(err.value)
    assert err.value.option == "backend"


class ListStorage(base.BaseStorage):
    """A backend without transactions, to exercise the base class's
    default unit of work."""

    def __init__(self, conf):
        super().__init__(conf)
        self.rows: list[tuple[datetime.datetime, str, object]] = []

    def init(self):
        pass

    def push(self, frames, scope_id=None):
        for fr in frames:
            for _, p in fr.iterpoints():
                self.rows.append((fr.start, p.groupby[self.scope_key], p))

    def delete(self, begin=None, end=None, filters=None):
        wanted = base.normalize_filters(filters)[self.scope_key]
        self.rows = [r for r in self.rows
                     if not (begin <= r[0] and (end is None or r[0] < end)
                             and r[1] in wanted)]

    def retrieve(self, *args, **kwargs):
        raise NotImplementedError

    def total(self, *args, **kwargs):
        raise NotImplementedError


def test_default_replace_scope_period_is_idempotent(make_conf, tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    f.migrate(url)
    conf = f.storage_conf(make_conf, url)
    backend = ListStorage(conf)
    data = [frame(at(0), {"cpu": [point("1", project_id="a")]})]
    backend.push([frame(at(0), {"cpu": [point("9", project_id="b")]})])
    backend.replace_scope_period("a", at(0), at(1), data)
    backend.replace_scope_period("a", at(0), at(1), data)
    assert sorted(r[1] for r in backend.rows) == ["a", "b"]
    assert StateManager(conf).get_last_processed_timestamp("a") == at(0)
    db_api.dispose_engines()


def run_storage_init(tmp_path, db_url, backend="sqlalchemy"):
    config = tmp_path / "cloudkitty.conf"
    config.write_text(f"[database]\nconnection = {db_url}\n"
                      f"[storage]\nbackend = {backend}\n")
    return subprocess.run([str(STORAGE_INIT), "--config-file", str(config)],
                          capture_output=True, text=True, timeout=120)


def check_storage_init(tmp_path, db_url):
    """Run the script twice; the second run is a no-op that succeeds."""
    for _ in range(2):
        done = run_storage_init(tmp_path, db_url)
        assert done.returncode == 0, done.stderr
    engine = db_api.create_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"cloudkitty_dataframes", "cloudkitty_storage_states",
            "storage_scope_reprocessing_schedule"} <= tables


def test_storage_init_creates_the_tables(tmp_path):
    check_storage_init(tmp_path, f"sqlite:///{tmp_path}/ck.sqlite")


def test_storage_init_rejects_an_unknown_backend(tmp_path):
    done = run_storage_init(tmp_path, f"sqlite:///{tmp_path}/ck.sqlite",
                            backend="nosuchdb")
    assert done.returncode == 1
    assert "nosuchdb" in done.stderr
    assert "Traceback" not in done.stderr
