"""Adoption of a database created by upstream CloudKitty 25.0.

Upstream CloudKitty 25.0.0 from PyPI lives in its own virtualenv, built by
``tools/upstream-venv.sh`` (path: ``$CLOUDKITTY_UPSTREAM_VENV``, default
``${XDG_CACHE_HOME:-~/.cache}/cloudkitty/upstream-25.0.0``). Its own
``cloudkitty-dbsync`` and ``cloudkitty-storage-init`` create the database;
rows go in with plain SQL; our ``cloudkitty-dbsync upgrade`` runs; every
row must read back unchanged and the schema must equal our models.

Without that virtualenv the tests are skipped, unless
``CLOUDKITTY_REQUIRE_UPSTREAM`` is set (CI), where they fail instead.

PostgreSQL needs two concessions to reality, both about upstream itself:

* upstream 25.0's last hashmap and pyscripts migrations (8a591f85865f,
  c6e4cda29654) cannot run on PostgreSQL (they add a ``TEXT(256)``
  column), so PostgreSQL deployments stop at the revisions before them
  (4e0232ce, 75c205f6f1a2); the database is built to exactly there;
* upstream's hashmap migration f8c799db4aa0 executes a bare SQL string,
  which SQLAlchemy 2 refuses; deployments ran it years ago under
  SQLAlchemy 1.x, which accepted it. A ``sitecustomize`` given to the
  upstream processes only restores that acceptance.
"""
from __future__ import annotations

import datetime
import decimal
import hashlib
import os
import pathlib
import re
import subprocess
import sys
import uuid
import zlib
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from cloudkitty.db import api as db_api
from cloudkitty.db import migration
from cloudkitty.db.models import hashmap, pyscripts, storage_state
from cloudkitty.tests import dbutil, upstream

UPSTREAM_VERSION = upstream.UPSTREAM_VERSION
DBSYNC = str(pathlib.Path(sys.executable).parent / "cloudkitty-dbsync")

#: The upstream tables every adoption must keep, and their version rows.
UPSTREAM_HEADS = {
    "cloudkitty_alembic": "385e33fef139",
    "storage_states_alembic": "9feccd32",
    "storage_sqlalchemy_alembic": "d875621d0384",
}
HASHMAP_HEAD = {"mysql": "8a591f85865f", "postgresql": "4e0232ce"}
PYSCRIPTS_HEAD = {"mysql": "c6e4cda29654", "postgresql": "75c205f6f1a2"}

_SHIM = '''\
"""Let Connection.execute() take a bare SQL string, as SQLAlchemy 1.x did
when upstream's old migrations were written."""
import sqlalchemy
from sqlalchemy.engine import base

_execute = base.Connection.execute


def _accept_text(self, statement, *args, **kwargs):
    if isinstance(statement, str):
        statement = sqlalchemy.text(statement)
    return _execute(self, statement, *args, **kwargs)


base.Connection.execute = _accept_text
'''


def upstream_venv() -> pathlib.Path:
    """Where tools/upstream-venv.sh puts upstream CloudKitty."""
    return upstream.venv_path()


@pytest.fixture(scope="module")
def upstream_bin() -> pathlib.Path:
    venv = upstream_venv()
    if not upstream.venv_ready(venv, "cloudkitty-dbsync"):
        reason = (f"upstream CloudKitty {UPSTREAM_VERSION} virtualenv "
                  f"missing at {venv}; run tools/upstream-venv.sh")
        if os.environ.get("CLOUDKITTY_REQUIRE_UPSTREAM"):
            pytest.fail(reason)
        pytest.skip(reason)
    return venv / "bin"


class Upstream:
    """Runs upstream's console scripts against one database."""

    def __init__(self, bin_dir: pathlib.Path, kind: str, url: str,
                 workdir: pathlib.Path) -> None:
        self.bin_dir = bin_dir
        self.kind = kind
        self.conf = workdir / "upstream.conf"
        # v1 sqlalchemy storage: storage-init then needs no other service.
        self.conf.write_text(
            f"[database]\nconnection = {url}\n"
            "[storage]\nversion = 1\nbackend = sqlalchemy\n")
        self.env = dict(os.environ)
        self.env.pop("PYTHONPATH", None)
        if kind == "postgresql":
            shim = workdir / "upstream-shim"
            shim.mkdir()
            (shim / "sitecustomize.py").write_text(_SHIM)
            self.env["PYTHONPATH"] = str(shim)

    def run(self, script: str, *args: str) -> None:
        result = subprocess.run(
            [str(self.bin_dir / script), "--config-file", str(self.conf),
             *args], capture_output=True, text=True, env=self.env,
            timeout=600)
        assert result.returncode == 0, (
            f"upstream {script} {' '.join(args)} failed:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    def create(self) -> None:
        """Build the database the way upstream 25.0 leaves it."""
        if self.kind == "postgresql":
            self.run("cloudkitty-dbsync", "upgrade", "--module",
                     "cloudkitty")
            self.run("cloudkitty-dbsync", "upgrade", "--module", "hashmap",
                     "--revision", HASHMAP_HEAD["postgresql"])
            self.run("cloudkitty-dbsync", "upgrade", "--module",
                     "pyscripts", "--revision",
                     PYSCRIPTS_HEAD["postgresql"])
        else:
            self.run("cloudkitty-dbsync", "upgrade")
        self.run("cloudkitty-storage-init")


@pytest.fixture(params=["postgresql", "mysql"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def database(kind, tmp_path):
    with dbutil.fresh_database(kind, str(tmp_path)) as url:
        engine = db_api.create_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


def _our_dbsync(url: str, workdir: pathlib.Path
                ) -> subprocess.CompletedProcess:
    conf = workdir / "ours.conf"
    conf.write_text(f"[database]\nconnection = {url}\n")
    return subprocess.run([DBSYNC, "--config-file", str(conf), "upgrade"],
                          capture_output=True, text=True, timeout=600)


# -- rows, inserted with plain SQL --------------------------------------------

COST_LONG = decimal.Decimal("123456789012.1234567890123456789012345678")
COST_TINY = decimal.Decimal("0.0000000000000000000000000001")
COST_NEGATIVE = decimal.Decimal("-99999999999.9999999999999999999999999999")
LEVEL_LONG = decimal.Decimal("123456789012.12345678")
SCRIPT = "# tarif: 0,5 € par heure\nfor s in data:\n    pass\n".encode()


def _columns(conn: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _insert(conn: sa.Connection, table: str, **values: Any) -> None:
    names = ", ".join(f'"{k}"' if conn.dialect.name == "postgresql"
                      else f"`{k}`" for k in values)
    marks = ", ".join(f":{k}" for k in values)
    conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"),
                 values)


def _id(conn: sa.Connection, table: str, column: str, value: str) -> int:
    return conn.execute(sa.text(
        f"SELECT id FROM {table} WHERE {column} = :v"), {"v": value}
    ).scalar_one()


def _audit(conn: sa.Connection, table: str, **values: Any
           ) -> dict[str, Any]:
    """Audit column values, when upstream's schema has them already."""
    if "created_by" not in _columns(conn, table):
        return {}
    return values


def insert_rows(conn: sa.Connection) -> None:
    _insert(conn, "states", name="legacy", state=1420070400,
            s_metadata='{"last": "2015-01-01"}')
    _insert(conn, "modules_state", name="hashmap", state=True, priority=10)
    _insert(conn, "modules_state", name="pyscripts", state=False,
            priority=None)
    _insert(conn, "modules_state", name="noop", state=True, priority=0)
    _insert(conn, "service_to_collector_mappings", service="compute",
            collector="gnocchi")

    for name in ("instance", "volume.size"):
        _insert(conn, "hashmap_services", service_id=str(uuid.uuid4()),
                name=name)
    instance = _id(conn, "hashmap_services", "name", "instance")
    volume = _id(conn, "hashmap_services", "name", "volume.size")
    _insert(conn, "hashmap_fields", field_id=str(uuid.uuid4()),
            name="flavor_name", service_id=instance)
    flavor = _id(conn, "hashmap_fields", "name", "flavor_name")
    for name in ("instance_uptime_flavor", "volume"):
        _insert(conn, "hashmap_groups", group_id=str(uuid.uuid4()),
                name=name)
    group = _id(conn, "hashmap_groups", "name", "instance_uptime_flavor")

    _insert(conn, "hashmap_mappings", mapping_id=str(uuid.uuid4()),
            value="m1.tiny", cost=COST_LONG, map_type="flat",
            field_id=flavor, group_id=group, tenant_id=None,
            **_audit(conn, "hashmap_mappings", name="tiny",
                     start=datetime.datetime(2025, 1, 1),
                     created_at=datetime.datetime(2024, 12, 1, 8, 30),
                     description="flat price of m1.tiny",
                     created_by="admin"))
    _insert(conn, "hashmap_mappings", mapping_id=str(uuid.uuid4()),
            value="m1.tiny", cost=COST_NEGATIVE, map_type="rate",
            field_id=flavor, group_id=None, tenant_id="tenant-a",
            **_audit(conn, "hashmap_mappings", name="tiny-a",
                     start=datetime.datetime(2025, 2, 1),
                     end=datetime.datetime(2026, 2, 1),
                     deleted=datetime.datetime(2025, 6, 1),
                     created_by="admin", updated_by="ops",
                     deleted_by="ops"))
    _insert(conn, "hashmap_mappings", mapping_id=str(uuid.uuid4()),
            value=None, cost=COST_TINY, map_type="rate",
            service_id=volume, group_id=None, tenant_id=None,
            **_audit(conn, "hashmap_mappings", name="volume",
                     created_by="admin"))
    _insert(conn, "hashmap_thresholds", threshold_id=str(uuid.uuid4()),
            level=LEVEL_LONG, cost=COST_NEGATIVE, map_type="flat",
            field_id=flavor, group_id=group, tenant_id=None)
    _insert(conn, "hashmap_thresholds", threshold_id=str(uuid.uuid4()),
            level=decimal.Decimal("10"), cost=COST_LONG, map_type="rate",
            service_id=volume, tenant_id="tenant-b")

    _insert(conn, "pyscripts_scripts", script_id=str(uuid.uuid4()),
            name="policy", data=zlib.compress(SCRIPT),
            checksum=hashlib.sha512(SCRIPT).hexdigest(),
            **_audit(conn, "pyscripts_scripts",
                     start=datetime.datetime(2025, 3, 1),
                     description="pricing policy", created_by="admin"))

    _insert(conn, "cloudkitty_storage_states", identifier="project-1",
            scope_key="project_id", fetcher="keystone",
            collector="prometheus",
            last_processed_timestamp=datetime.datetime(2026, 10, 1, 13),
            scope_activation_toggle_date=datetime.datetime(2026, 1, 1),
            active=True)
    _insert(conn, "cloudkitty_storage_states", identifier="project-2",
            scope_key=None, fetcher=None, collector=None,
            last_processed_timestamp=datetime.datetime(2026, 9, 30, 23),
            scope_activation_toggle_date=datetime.datetime(2026, 2, 2),
            active=False)
    _insert(conn, "storage_scope_reprocessing_schedule",
            identifier="project-1",
            start_reprocess_time=datetime.datetime(2026, 9, 1),
            end_reprocess_time=datetime.datetime(2026, 9, 2),
            current_reprocess_time=None, reason="price change")
    _insert(conn, "storage_scope_reprocessing_schedule",
            identifier="project-2",
            start_reprocess_time=datetime.datetime(2026, 8, 1),
            end_reprocess_time=datetime.datetime(2026, 8, 3),
            current_reprocess_time=datetime.datetime(2026, 8, 2),
            reason="wrong metric")


ROW_TABLES = {
    "states": "name", "modules_state": "name",
    "service_to_collector_mappings": "service",
    "hashmap_services": "id", "hashmap_fields": "id",
    "hashmap_groups": "id", "hashmap_mappings": "id",
    "hashmap_thresholds": "id", "pyscripts_scripts": "id",
    "cloudkitty_storage_states": "id",
    "storage_scope_reprocessing_schedule": "id",
}


def read_rows(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        return {
            table: [dict(row._mapping) for row in conn.execute(sa.text(
                f"SELECT * FROM {table} ORDER BY {key}"))]
            for table, key in ROW_TABLES.items()
        }


def _version(engine: sa.Engine, table: str) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            f"SELECT version_num FROM {table}")).scalar_one()


# -- the tests ----------------------------------------------------------------

def test_adoption_keeps_every_row(upstream_bin, kind, database, tmp_path):
    url, engine = database
    Upstream(upstream_bin, kind, url, tmp_path).create()
    with engine.begin() as conn:
        insert_rows(conn)
    before = read_rows(engine)
    upstream_versions = dict(UPSTREAM_HEADS,
                             hashmap_alembic=HASHMAP_HEAD[kind],
                             pyscripts_alembic=PYSCRIPTS_HEAD[kind])
    assert {t: _version(engine, t) for t in upstream_versions} == (
        upstream_versions)

    result = _our_dbsync(url, tmp_path)

    assert result.returncode == 0, result.stderr
    assert migration.current_revision(engine) == migration.head_revision()
    after = read_rows(engine)
    for table, rows in before.items():
        assert len(after[table]) == len(rows), table
        for old, new in zip(rows, after[table], strict=True):
            assert {k: new[k] for k in old} == old, table
    mapping_costs = [r["cost"] for r in after["hashmap_mappings"]]
    assert mapping_costs == [COST_LONG, COST_NEGATIVE, COST_TINY]
    assert [r["level"] for r in after["hashmap_thresholds"]] == [
        LEVEL_LONG, decimal.Decimal("10")]
    assert zlib.decompress(after["pyscripts_scripts"][0]["data"]) == SCRIPT
    assert [(r["scope_key"], r["fetcher"], r["collector"])
            for r in after["cloudkitty_storage_states"]] == [
        ("project_id", "keystone", "prometheus"), (None, None, None)]

    if kind == "postgresql":
        # Columns upstream could not add there, filled as it would have.
        for row in after["hashmap_mappings"]:
            assert re.fullmatch("[0-9a-f]{32}", row["name"])
            assert row["start"] == datetime.datetime(1970, 1, 1)
            assert row["created_by"] == "migration"
            assert row["created_at"] is not None
            assert row["end"] is row["deleted"] is row["description"] is None
        script = after["pyscripts_scripts"][0]
        assert script["start"] == datetime.datetime(2014, 1, 1)
        assert script["created_by"] == "migration"

    assert {t: _version(engine, t) for t in upstream_versions} == (
        upstream_versions)
    tables = set(sa.inspect(engine).get_table_names())
    assert "rated_data_frames" in tables
    assert migration.schema_differences(engine) == []

    again = _our_dbsync(url, tmp_path)
    assert again.returncode == 0, again.stderr
    assert read_rows(engine) == after


def test_adopted_database_runs_our_models(upstream_bin, kind, database,
                                          tmp_path):
    url, engine = database
    Upstream(upstream_bin, kind, url, tmp_path).create()
    with engine.begin() as conn:
        insert_rows(conn)
    assert _our_dbsync(url, tmp_path).returncode == 0

    with Session(engine) as session, session.begin():
        service = session.scalars(sa.select(hashmap.HashMapService).where(
            hashmap.HashMapService.name == "instance")).one()
        field = session.scalars(sa.select(hashmap.HashMapField)).one()
        # Same value and tenant as an upstream row: allowed since the
        # constraint was dropped (live-row conflicts are the API's job).
        session.add(hashmap.HashMapMapping(
            mapping_id=str(uuid.uuid4()), value="m1.tiny", cost=COST_TINY,
            map_type="flat", field_id=field.id, name="again",
            created_by="admin"))
        session.add(pyscripts.PyScript(
            script_id=str(uuid.uuid4()), name="policy",
            data=zlib.compress(b"pass"),
            checksum=hashlib.sha512(b"pass").hexdigest(),
            created_by="admin"))
        session.add(storage_state.ScopeState(
            identifier="project-3", scope_key="project_id",
            fetcher="keystone", collector="prometheus",
            last_processed_timestamp=datetime.datetime(2026, 11, 1)))
        assert service.id is not None

    with Session(engine) as session:
        mappings = session.scalars(sa.select(hashmap.HashMapMapping).where(
            hashmap.HashMapMapping.value == "m1.tiny")).all()
        assert len(mappings) == 3
        state = session.scalars(sa.select(storage_state.ScopeState).where(
            storage_state.ScopeState.identifier == "project-3")).one()
        assert state.active is True
        assert len(session.scalars(sa.select(pyscripts.PyScript)).all()) == 2


def test_older_upstream_revision_is_refused(upstream_bin, kind, database,
                                            tmp_path):
    url, engine = database
    upstream = Upstream(upstream_bin, kind, url, tmp_path)
    upstream.run("cloudkitty-dbsync", "upgrade", "--module", "cloudkitty")
    upstream.run("cloudkitty-dbsync", "upgrade", "--module", "hashmap",
                 "--revision", "4da82e1c11c8")
    columns = {c["name"] for c in
               sa.inspect(engine).get_columns("hashmap_mappings")}

    result = _our_dbsync(url, tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("cloudkitty-dbsync: database error: ")
    assert "'hashmap'" in line
    assert "4da82e1c11c8" in line
    assert "8a591f85865f" in line
    assert _version(engine, "hashmap_alembic") == "4da82e1c11c8"
    assert migration.current_revision(engine) is None
    assert {c["name"] for c in sa.inspect(engine).get_columns(
        "hashmap_mappings")} == columns
    tables = sa.inspect(engine).get_table_names()
    assert "pyscripts_scripts" not in tables
    assert migration.VERSION_TABLE not in tables
