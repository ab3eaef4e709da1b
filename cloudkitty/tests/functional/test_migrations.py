"""Models versus migrations on every database we support: after
``upgrade`` the schema is exactly what the models declare, and running the
upgrade again changes nothing."""
from __future__ import annotations

import sqlalchemy as sa

from cloudkitty.db import api as db_api
from cloudkitty.db import migration


def _schema(engine: sa.Engine) -> dict[str, object]:
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"],
              c.get("default")) for c in inspector.get_columns(table)],
            sorted(str(u) for u in inspector.get_unique_constraints(table)),
            sorted(str(f) for f in inspector.get_foreign_keys(table)),
            sorted(str(i) for i in inspector.get_indexes(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def test_models_match_migrations(db_url):
    engine = db_api.create_engine(db_url)
    try:
        migration.upgrade(engine)

        assert migration.current_revision(engine) == (
            migration.head_revision())
        assert migration.schema_differences(engine) == []
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(db_url):
    engine = db_api.create_engine(db_url)
    try:
        migration.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO states (name, state, s_metadata)"
                " VALUES ('legacy', 1400000000, NULL)"))
        before = _schema(engine)

        migration.upgrade(engine)

        assert _schema(engine) == before
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT name, state FROM states")).all()
        assert [tuple(r) for r in rows] == [("legacy", 1400000000)]
    finally:
        engine.dispose()


def test_models_write_and_read_back(db_url):
    """The ORM runs on the migrated schema, Decimal digits included."""
    import decimal

    from sqlalchemy.orm import Session

    from cloudkitty.db.models import hashmap

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
