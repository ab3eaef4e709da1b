"""``cloudkitty-storage-init``: prepare the configured storage backend.

Migrates the relational schema to head (scope state tables, and the rated
data table of the ``sqlalchemy`` backend), then runs the backend's own
``init()`` (e.g. InfluxDB checks its database and retention policy).
Safe to run again.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty import exceptions, service, storage
from cloudkitty.cli._run import run
from cloudkitty.db import api as db_api
from cloudkitty.db import migration


def init_storage(argv: Sequence[str] | None = None,
                 conf: cfg.ConfigOpts | None = None) -> int:
    """Parse ``argv`` (default: the command line), migrate, init."""
    conf = service.prepare_service(
        sys.argv[1:] if argv is None else argv, conf=conf,
        checks=[service.check_storage_backend])
    try:
        migration.upgrade(db_api.get_engine(conf))
    except sa.exc.SQLAlchemyError as exc:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise exceptions.DatabaseError(detail) from None
    backend = storage.get_storage(conf)
    try:
        backend.init()
    except exceptions.StorageError as exc:
        print(f"cloudkitty-storage-init: storage backend "
              f"'{conf.storage.backend}': {exc}", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    """Console script entry point: errors become one line and exit 1."""
    run(init_storage)


__all__ = ["init_storage", "main"]
