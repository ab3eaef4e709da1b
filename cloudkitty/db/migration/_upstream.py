"""Recognise and adopt a database created by upstream CloudKitty 25.0.

Upstream keeps one alembic branch, with its own version table, per part
(core, hashmap, pyscripts, scope state). We read those tables, refuse
revisions we cannot vouch for, and bring the schema to what our models
declare while keeping every row. Upstream's version tables and tables we
do not know (v1 storage, for instance) are left as they are.

Revisions accepted besides 25.0's heads: the hashmap and pyscripts heads
just before them (4e0232ce, 75c205f6f1a2). Upstream 25.0's own last
hashmap and pyscripts migrations fail on PostgreSQL (they declare a
``TEXT(256)`` column), so PostgreSQL deployments stay at those revisions;
we apply the same change ourselves.
"""
from __future__ import annotations

import dataclasses
import datetime
import uuid

import sqlalchemy as sa
from alembic import op

from cloudkitty import exceptions


@dataclasses.dataclass(frozen=True)
class Branch:
    """One upstream alembic branch and the tables it owns."""

    name: str
    version_table: str
    #: 25.0's head first, then other revisions we know how to adopt.
    adoptable: tuple[str, ...]
    tables: tuple[str, ...]
    #: The upstream command that migrates this branch.
    tool: str = "cloudkitty-dbsync upgrade"


BRANCHES = (
    Branch("cloudkitty", "cloudkitty_alembic", ("385e33fef139",),
           ("states", "modules_state", "service_to_collector_mappings")),
    Branch("hashmap", "hashmap_alembic", ("8a591f85865f", "4e0232ce"),
           ("hashmap_services", "hashmap_fields", "hashmap_groups",
            "hashmap_mappings", "hashmap_thresholds")),
    Branch("pyscripts", "pyscripts_alembic",
           ("c6e4cda29654", "75c205f6f1a2"), ("pyscripts_scripts",)),
    Branch("storage_state", "storage_states_alembic", ("9feccd32",),
           ("cloudkitty_storage_states",
            "storage_scope_reprocessing_schedule"),
           tool="cloudkitty-storage-init"),
)

#: Start given to rules that predate validity windows, as upstream did.
HASHMAP_EPOCH = datetime.datetime(1970, 1, 1)
PYSCRIPTS_EPOCH = datetime.datetime(2014, 1, 1)
MIGRATION_AUTHOR = "migration"


def _error(message: str) -> exceptions.DatabaseError:
    return exceptions.DatabaseError(
        f"cannot adopt the upstream CloudKitty database: {message}")


def _revision(bind: sa.Connection, branch: Branch) -> str | None:
    rows = bind.execute(sa.text(
        f"SELECT version_num FROM {branch.version_table}")).scalars().all()
    if len(rows) > 1:
        raise _error(f"branch '{branch.name}' ({branch.version_table}) "
                     f"has several revisions: {', '.join(sorted(rows))}")
    return rows[0] if rows else None


def found_revisions(bind: sa.Connection) -> dict[str, str | None]:
    """The upstream revision of each branch (None: branch never run).

    Raises DatabaseError when a branch is at a revision we cannot adopt,
    or when its tables exist without any recorded revision.
    """
    existing = set(sa.inspect(bind).get_table_names())
    found: dict[str, str | None] = {}
    for branch in BRANCHES:
        revision = None
        if branch.version_table in existing:
            revision = _revision(bind, branch)
        if revision is None:
            present = sorted(set(branch.tables) & existing)
            if present:
                raise _error(
                    f"table(s) {', '.join(present)} exist but "
                    f"{branch.version_table} records no revision of "
                    f"branch '{branch.name}', so their schema is unknown")
        elif revision not in branch.adoptable:
            raise _error(
                f"branch '{branch.name}' ({branch.version_table}) is at "
                f"revision {revision}, but revision {branch.adoptable[0]} "
                f"(CloudKitty 25.0) is needed; run upstream CloudKitty "
                f"25.0's {branch.tool} first")
        found[branch.name] = revision
    return found


def _ensure_not_null(table: str, column: str, type_: sa.types.TypeEngine
                     ) -> None:
    """Make ``column`` NOT NULL (some upstream MySQL migrations lost it)."""
    bind = op.get_bind()
    columns = {c["name"]: c for c in sa.inspect(bind).get_columns(table)}
    if not columns[column]["nullable"]:
        return
    nulls = bind.execute(sa.text(
        f"SELECT COUNT(*) FROM {table} WHERE {column} IS NULL")).scalar()
    if nulls:
        raise _error(f"{table}.{column} is NULL in {nulls} row(s); "
                     f"set a value, then run the upgrade again")
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, existing_type=type_, nullable=False)


def _drop_unique(table: str, columns: set[str]) -> None:
    """Drop the unique constraint(s) on exactly ``columns``, whatever the
    dialect named them."""
    inspector = sa.inspect(op.get_bind())
    names = {u["name"] for u in inspector.get_unique_constraints(table)
             if set(u["column_names"]) == columns and u["name"]}
    for name in sorted(names):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="unique")


def _add_audit_columns(table: str, start: datetime.datetime) -> None:
    """Add the validity-window and audit columns, filling existing rows
    as upstream's own migration would have."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("created_at", sa.DateTime,
                                   nullable=False,
                                   server_default=sa.func.now()))
        batch.add_column(sa.Column("start", sa.DateTime, nullable=False,
                                   server_default=sa.func.now()))
        batch.add_column(sa.Column("end", sa.DateTime))
        batch.add_column(sa.Column("description", sa.Text))
        batch.add_column(sa.Column("deleted", sa.DateTime))
        batch.add_column(sa.Column("created_by", sa.String(32)))
        batch.add_column(sa.Column("updated_by", sa.String(32)))
        batch.add_column(sa.Column("deleted_by", sa.String(32)))
    rows = sa.table(table, sa.column("start", sa.DateTime),
                    sa.column("created_by", sa.String))
    op.get_bind().execute(
        rows.update().values(start=start, created_by=MIGRATION_AUTHOR))
    with op.batch_alter_table(table) as batch:
        batch.alter_column("created_by", existing_type=sa.String(32),
                           nullable=False)


def _adopt_hashmap(revision: str) -> None:
    if revision == "4e0232ce":
        # Soft-deleted rules may repeat a key: upstream then checks
        # conflicts in code and dropped these constraints.
        _drop_unique("hashmap_mappings", {"value", "field_id", "tenant_id"})
        _drop_unique("hashmap_mappings",
                     {"value", "service_id", "tenant_id"})
        with op.batch_alter_table("hashmap_mappings") as batch:
            batch.add_column(sa.Column("name", sa.String(32)))
        bind = op.get_bind()
        mappings = sa.table("hashmap_mappings", sa.column("id", sa.Integer),
                            sa.column("name", sa.String))
        for (row_id,) in bind.execute(sa.select(mappings.c.id)).all():
            bind.execute(mappings.update()
                         .where(mappings.c.id == row_id)
                         .values(name=uuid.uuid4().hex))
        with op.batch_alter_table("hashmap_mappings") as batch:
            batch.alter_column("name", existing_type=sa.String(32),
                               nullable=False)
        _add_audit_columns("hashmap_mappings", HASHMAP_EPOCH)
    for table in ("hashmap_mappings", "hashmap_thresholds"):
        _ensure_not_null(table, "cost", sa.Numeric(40, 28))


def _adopt_pyscripts(revision: str) -> None:
    _drop_unique("pyscripts_scripts", {"name"})
    if revision == "75c205f6f1a2":
        _add_audit_columns("pyscripts_scripts", PYSCRIPTS_EPOCH)
    _ensure_not_null("pyscripts_scripts", "checksum", sa.String(128))


def _adopt_storage_state(revision: str) -> None:
    with op.batch_alter_table("cloudkitty_storage_states") as batch:
        batch.alter_column("active", existing_type=sa.Boolean,
                           existing_nullable=False,
                           server_default=sa.true())


_ADOPTERS = {
    "hashmap": _adopt_hashmap,
    "pyscripts": _adopt_pyscripts,
    "storage_state": _adopt_storage_state,
}


def adopt(found: dict[str, str | None]) -> None:
    """Bring the tables of every upstream branch found to our schema."""
    for name, revision in found.items():
        adopter = _ADOPTERS.get(name)
        if revision is not None and adopter is not None:
            adopter(revision)
