"""The alembic tree: schema equals the models, upgrades are idempotent,
upstream databases we cannot adopt are refused, and the
``cloudkitty-dbsync`` console script works end to end. Runs on SQLite here
and on PostgreSQL and MariaDB through tests/functional/test_migrations.py."""
from __future__ import annotations

import decimal
import pathlib
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.db import migration, models
from cloudkitty.db.models import hashmap

DBSYNC = str(pathlib.Path(sys.executable).parent / "cloudkitty-dbsync")

OUR_TABLES = {
    "states", "modules_state", "service_to_collector_mappings",
    "hashmap_services", "hashmap_fields", "hashmap_groups",
    "hashmap_mappings", "hashmap_thresholds", "pyscripts_scripts",
    "cloudkitty_storage_states", "storage_scope_reprocessing_schedule",
    "cloudkitty_rollup_periods", "cloudkitty_rollup_days",
}


@pytest.fixture
def engine(db_url):
    engine = db_api.create_engine(db_url)
    yield engine
    engine.dispose()


def _schema(engine: sa.Engine) -> dict[str, object]:
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"])
             for c in inspector.get_columns(table)],
            sorted(str(u) for u in inspector.get_unique_constraints(table)),
            sorted(str(f) for f in inspector.get_foreign_keys(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def test_models_declare_every_relational_table():
    assert OUR_TABLES <= set(models.load_all().tables)


def test_first_revision_is_the_baseline():
    config = Config()
    config.set_main_option("script_location",
                           str(pathlib.Path(migration.__file__).parent))
    script = ScriptDirectory.from_config(config)
    bases = script.get_bases()
    assert bases == ["0001_baseline"]
    assert script.get_revision("0001_baseline").down_revision is None
    assert migration.head_revision() == script.get_current_head()


def test_upgrade_creates_schema_equal_to_models(engine):
    assert migration.current_revision(engine) is None

    migration.upgrade(engine)

    assert migration.current_revision(engine) == migration.head_revision()
    assert OUR_TABLES <= set(sa.inspect(engine).get_table_names())
    assert migration.schema_differences(engine) == []


def test_version_table_is_ours_only(engine):
    migration.upgrade(engine)

    tables = set(sa.inspect(engine).get_table_names())
    assert migration.VERSION_TABLE == "ck_alembic_version"
    assert "ck_alembic_version" in tables
    assert not tables & {"alembic_version", "cloudkitty_alembic",
                         "hashmap_alembic", "pyscripts_alembic",
                         "storage_states_alembic"}


def test_upgrade_twice_is_a_no_op(engine):
    migration.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO modules_state (name, state, priority)"
            " VALUES ('hashmap', :state, 2)"), {"state": True})
    before = _schema(engine)

    migration.upgrade(engine)

    assert _schema(engine) == before
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT name, state, priority FROM modules_state")).all()
    assert [tuple(r) for r in rows] == [("hashmap", True, 2)]


def test_upgrade_step_by_step_reaches_head(engine):
    migration.upgrade(engine, "0001_baseline")
    assert migration.current_revision(engine) == "0001_baseline"

    migration.upgrade(engine)

    assert migration.current_revision(engine) == migration.head_revision()
    assert migration.schema_differences(engine) == []


def test_stamp_records_without_migrating(engine):
    migration.stamp(engine, migration.head_revision())

    assert migration.current_revision(engine) == migration.head_revision()
    assert "hashmap_mappings" not in sa.inspect(engine).get_table_names()


def test_hashmap_enum_and_constraints_follow_upstream(engine):
    migration.upgrade(engine)
    inspector = sa.inspect(engine)
    uniques = {u["name"]: u["column_names"]
               for u in inspector.get_unique_constraints(
                   "hashmap_thresholds")}
    assert uniques["uniq_field_threshold"] == [
        "level", "field_id", "tenant_id"]
    assert uniques["uniq_service_threshold"] == [
        "level", "service_id", "tenant_id"]
    mapping_uniques = [u["column_names"] for u in
                       inspector.get_unique_constraints("hashmap_mappings")]
    assert mapping_uniques == [["mapping_id"]]
    fks = {fk["referred_table"]: fk["options"].get("ondelete")
           for fk in inspector.get_foreign_keys("hashmap_mappings")}
    assert fks == {"hashmap_services": "CASCADE",
                   "hashmap_fields": "CASCADE",
                   "hashmap_groups": "SET NULL"}
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO hashmap_services (service_id, name)"
            " VALUES ('s1', 'instance')"))
        # A CHECK constraint on SQLite, a native enum elsewhere.
        with pytest.raises((sa.exc.IntegrityError, sa.exc.DataError)):
            with conn.begin_nested():
                conn.execute(sa.text(
                    "INSERT INTO hashmap_mappings (mapping_id, cost,"
                    " map_type, service_id, name, created_by)"
                    " VALUES ('m1', 1, 'other', 1, 'n', 'me')"))


def _fake_upstream(engine: sa.Engine, versions: dict[str, str]) -> None:
    with engine.begin() as conn:
        for table, revision in versions.items():
            conn.execute(sa.text(
                f"CREATE TABLE {table} (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(sa.text(f"INSERT INTO {table} VALUES (:r)"),
                         {"r": revision})


def test_older_upstream_revision_is_refused(engine):
    _fake_upstream(engine, {"cloudkitty_alembic": "385e33fef139",
                            "hashmap_alembic": "4da82e1c11c8"})

    with pytest.raises(exceptions.DatabaseError) as error:
        migration.upgrade(engine)

    message = str(error.value)
    assert "'hashmap'" in message
    assert "4da82e1c11c8" in message
    assert "8a591f85865f" in message
    tables = sa.inspect(engine).get_table_names()
    assert "hashmap_mappings" not in tables
    assert migration.VERSION_TABLE not in tables


def test_upstream_tables_without_revision_are_refused(engine):
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE pyscripts_scripts (id INTEGER PRIMARY KEY)"))

    with pytest.raises(exceptions.DatabaseError) as error:
        migration.upgrade(engine)

    assert "pyscripts_scripts" in str(error.value)
    assert "pyscripts_alembic" in str(error.value)


def test_unknown_tables_are_left_alone(engine):
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE rated_data_frames (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO rated_data_frames VALUES (7)"))

    migration.upgrade(engine)

    assert migration.schema_differences(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT id FROM rated_data_frames")).scalars().all() == [7]


# -- the console script ------------------------------------------------------

def _dbsync(conf: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DBSYNC, "--config-file", str(conf), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def conf_file(tmp_path, db_url):
    path = tmp_path / "cloudkitty.conf"
    path.write_text(f"[database]\nconnection = {db_url}\n")
    return path


def test_dbsync_upgrade_version_stamp(conf_file, db_url):
    head = migration.head_revision()

    assert _dbsync(conf_file, "version").stdout.strip() == "None"
    upgraded = _dbsync(conf_file, "upgrade", "--module", "hashmap")
    assert upgraded.returncode == 0, upgraded.stderr
    version = _dbsync(conf_file, "version", "--module", "cloudkitty")
    assert version.returncode == 0
    assert version.stdout.strip() == head

    stamped = _dbsync(conf_file, "stamp", "--revision", "0001_baseline")
    assert stamped.returncode == 0, stamped.stderr
    assert _dbsync(conf_file, "version").stdout.strip() == "0001_baseline"

    engine = db_api.create_engine(db_url)
    try:
        assert migration.current_revision(engine) == "0001_baseline"
    finally:
        engine.dispose()


def test_dbsync_bad_config_is_one_line(tmp_path):
    result = _dbsync(tmp_path / "missing.conf", "upgrade")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [f"cloudkitty-dbsync: configuration error: file "
                     f"{tmp_path / 'missing.conf'}: file not found or "
                     f"unreadable"]


def test_dbsync_unknown_revision_is_one_line(conf_file):
    result = _dbsync(conf_file, "upgrade", "--revision", "nope")

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cloudkitty-dbsync: database error: ")
    assert "nope" in last
    assert "Traceback" not in result.stderr


def test_dbsync_unreachable_database_is_one_line(tmp_path):
    conf = tmp_path / "cloudkitty.conf"
    conf.write_text("[database]\nconnection = "
                    f"sqlite:///{tmp_path}/no/such/dir/db.sqlite\n")

    result = _dbsync(conf, "upgrade")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cloudkitty-dbsync: database error: sqlite: ")


def test_models_write_and_read_back(db_url):
    """The ORM runs on the migrated schema, Decimal digits included."""
    engine = db_api.create_engine(db_url)
    try:
        migration.upgrade(engine)
        cost = decimal.Decimal("123456789012.1234567890123456789012345678")
        with Session(engine) as session, session.begin():
            service = hashmap.HashMapService(service_id="s-1",
                                             name="instance")
            session.add(service)
            session.flush()
            for index in range(2):
                # Same value twice: upstream dropped that constraint.
                session.add(hashmap.HashMapMapping(
                    mapping_id=f"m-{index}", value="m1.small", cost=cost,
                    map_type="flat", service_id=service.id,
                    name=f"rule{index}", created_by="admin"))
        with Session(engine) as session:
            stored = session.scalars(sa.select(hashmap.HashMapMapping)
                                     .order_by(hashmap.HashMapMapping.id)
                                     ).all()
            assert [m.cost for m in stored] == [cost, cost]
            assert all(m.start is not None and m.created_at is not None
                       for m in stored)
    finally:
        engine.dispose()
