"""``cloudkitty-dbsync``: create or migrate the relational schema.

Subcommands ``upgrade``, ``version`` and ``stamp`` act on the one alembic
tree of ``cloudkitty.db.migration``. ``--module`` is accepted so commands
written for upstream CloudKitty keep working; with a single tree it has no
effect on what is migrated.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic.util import CommandError
from oslo_config import cfg

from cloudkitty import exceptions, service
from cloudkitty.cli._run import run
from cloudkitty.db import api as db_api
from cloudkitty.db import migration

#: Module names upstream's CLI knows; all map to the one tree.
MODULES = ("cloudkitty", "hashmap", "pyscripts")

_MODULE_HELP = ("accepted for compatibility with upstream CloudKitty; "
                "the schema is a single migration tree, so the command "
                "always applies to all of it")


def _add_commands(subparsers: argparse._SubParsersAction) -> None:
    upgrade = subparsers.add_parser(
        "upgrade", help="migrate the database to a revision (default: "
        "head), adopting a database created by upstream CloudKitty 25.0")
    upgrade.add_argument("--revision", default="head",
                         help="target revision (default: head)")
    upgrade.add_argument("--module", choices=MODULES, help=_MODULE_HELP)

    version = subparsers.add_parser(
        "version", help="print the revision the database is at")
    version.add_argument("--module", choices=MODULES, help=_MODULE_HELP)

    stamp = subparsers.add_parser(
        "stamp", help="record a revision as current without migrating")
    stamp.add_argument("--revision", default="head",
                       help="revision to record (default: head)")
    stamp.add_argument("--module", choices=MODULES, help=_MODULE_HELP)


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.split())


def _execute(conf: cfg.ConfigOpts) -> int:
    engine = db_api.get_engine(conf)
    command = conf.command.name
    if command == "upgrade":
        migration.upgrade(engine, conf.command.revision)
    elif command == "stamp":
        revision = conf.command.revision
        if revision == "head":
            revision = migration.head_revision()
        migration.stamp(engine, revision)
    else:
        # Keep stdout to the answer: alembic announces its context at INFO.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        print(migration.current_revision(engine) or "None")
    return 0


def sync(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the command."""
    conf = cfg.ConfigOpts()
    conf.register_cli_opt(cfg.SubCommandOpt(
        "command", title="commands", handler=_add_commands,
        help="what to do with the database schema"))
    conf = service.prepare_service(
        sys.argv[1:] if argv is None else argv, conf=conf)
    try:
        return _execute(conf)
    except CommandError as exc:
        raise exceptions.DatabaseError(_one_line(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        raise exceptions.DatabaseError(
            f"{conf.database.connection.split('://')[0]}: "
            f"{_one_line(exc)}") from None


def main() -> None:
    """Console script entry point: errors become one line and exit 1."""
    run(sync)


__all__ = ["main", "sync"]
