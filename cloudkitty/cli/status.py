"""``cloudkitty-status upgrade check``: is this deployment ready to run?

Built on oslo.upgradecheck, so the output (a table, or JSON with
``--json``) and the exit status (0 success, 1 warning, 2 failure, 255 a
check crashed) are those of every OpenStack ``*-status`` command. A
configuration file that cannot be parsed at all stops the command with one
line on stderr and exit status 1, like every console script.
"""
from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Sequence

import sqlalchemy as sa
from oslo_config import cfg
from oslo_upgradecheck import common_checks, upgradecheck

from cloudkitty import exceptions, service
from cloudkitty.cli._run import run
from cloudkitty.collector import metrics
from cloudkitty.db import api as db_api
from cloudkitty.db import migration

__all__ = ["Checks", "main", "status"]

_Result = upgradecheck.Result
_Code = upgradecheck.Code


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.split())


class Checks(upgradecheck.UpgradeCommands):
    """The checks ``upgrade check`` runs, on an already parsed ``conf``."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__()
        self.conf = conf
        self._upgrade_checks = (
            ("Storage version", Checks.storage_version),
            ("Storage backend", Checks.storage_backend),
            ("Policy File JSON to YAML Migration", Checks.policy_file),
            ("Database schema", Checks.database_schema),
            ("Metrics configuration", Checks.metrics_conf),
        )

    def storage_version(self) -> _Result:
        """Storage v1 warns if a v1 backend exists, else fails."""
        version = self.conf.storage.version
        if version >= 2:
            return _Result(_Code.SUCCESS)
        backend = self.conf.storage.backend
        v1_backends = {ep.name for ep in importlib.metadata.entry_points(
            group=f"cloudkitty.storage.v{version}.backends")}
        if backend in v1_backends:
            return _Result(_Code.WARNING, (
                f"[storage] version is {version}. Storage v1 is deprecated "
                "and will be removed; move to version 2."))
        return _Result(_Code.FAILURE, (
            f"[storage] version is {version}, but no v{version} storage "
            f"backend named '{backend}' is installed: this release only "
            "ships storage v2. Set [storage] version = 2."))

    def storage_backend(self) -> _Result:
        """The configured storage backend is installed."""
        try:
            service.check_storage_backend(self.conf)
        except exceptions.ConfigError as exc:
            return _Result(_Code.FAILURE, str(exc))
        return _Result(_Code.SUCCESS)

    def policy_file(self) -> _Result:
        """oslo.upgradecheck's common check: a JSON policy file fails."""
        return common_checks.check_policy_json(self, self.conf)

    def database_schema(self) -> _Result:
        """The database is reachable and at our alembic head."""
        advice = "Run 'cloudkitty-dbsync upgrade'."
        try:
            engine = db_api.get_engine(self.conf)
        except (sa.exc.ArgumentError, ImportError) as exc:
            return _Result(_Code.FAILURE, (
                f"[database] connection cannot be used: {_one_line(exc)}"))
        where = engine.url.render_as_string(hide_password=True)
        try:
            current = migration.current_revision(engine)
        except (sa.exc.SQLAlchemyError, exceptions.DatabaseError) as exc:
            return _Result(_Code.FAILURE, (
                f"Cannot read the schema version of {where}: "
                f"{_one_line(exc)}. Check [database] connection, then "
                f"{advice[0].lower()}{advice[1:]}"))
        head = migration.head_revision()
        if current is None:
            return _Result(_Code.FAILURE, (
                f"The database {where} has not been migrated by this "
                f"release (expected revision {head}). {advice}"))
        if current != head:
            return _Result(_Code.FAILURE, (
                f"The database {where} is at revision {current}, this "
                f"release needs {head}. {advice}"))
        return _Result(_Code.SUCCESS)

    def metrics_conf(self) -> _Result:
        """[collect] metrics_conf reads and validates."""
        try:
            metrics.check_metrics_conf(self.conf)
        except exceptions.ConfigError as exc:
            return _Result(_Code.FAILURE, str(exc))
        return _Result(_Code.SUCCESS)


def status(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line), run the command and
    return its exit status."""
    conf = cfg.ConfigOpts()
    checks = Checks(conf)
    upgradecheck.register_cli_options(conf, checks)
    service.prepare_service(sys.argv[1:] if argv is None else list(argv),
                            conf=conf, setup_logging=False)
    # oslo.upgradecheck reads --json from this module-level reference.
    upgradecheck.CONF = conf
    return upgradecheck.run(conf)


def main() -> None:
    run(status)
