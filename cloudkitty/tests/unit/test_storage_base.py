"""Backend loading, the shared argument rules and ``cloudkitty-storage-init``.

The base class's default units of work run under the contract suite, on
its in-memory backend (``tests/unit/test_storage_contract.py``)."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2.sqlalchemy import SQLAlchemyStorage

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
