"""Service-to-collector mappings and collector states (v1 era).

Both are kept for the deprecated ``/v1/collector`` API and for databases
adopted from upstream; nothing in the processor reads them.

* A mapping is a row of ``service_to_collector_mappings``: one collector
  name per service name (the service is the key, so setting a mapping
  again replaces its collector).
* A collector's state is the ``state`` flag of the ``modules_state`` row
  named ``collector_<name>``; a collector without a row is disabled.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.db.models.core import ModuleState, ServiceToCollectorMapping

__all__ = ["CollectorStates", "ServiceMapping", "ServiceMappings",
           "STATE_PREFIX"]

#: Prefix of a collector's row name in ``modules_state``.
STATE_PREFIX = "collector_"
#: Length of the name columns of both tables.
_NAME_LENGTH = 255


def _name(value: object, field: str, max_length: int = _NAME_LENGTH) -> str:
    """``value`` as a non-empty name that fits its column."""
    if not isinstance(value, str) or not value.strip():
        raise exceptions.InvalidInput(
            f"'{field}' must be a non-empty string.", field=field)
    if "\x00" in value:
        raise exceptions.InvalidInput(
            f"'{field}' cannot contain NUL characters.", field=field)
    if len(value) > max_length:
        raise exceptions.InvalidInput(
            f"'{field}' must be at most {max_length} characters long.",
            field=field)
    return value


@dataclasses.dataclass(frozen=True)
class ServiceMapping:
    """The collector a service is mapped to."""

    service: str
    collector: str


class _Store:
    def __init__(self, conf: cfg.ConfigOpts,
                 engine: sa.Engine | None = None) -> None:
        self._conf = conf
        self._engine = engine

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db_api.get_engine(self._conf)
        return self._engine

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except sa_exc.OperationalError as exc:
            raise exceptions.DatabaseError() from exc

    def _upsert(self, table: type[ModuleState] | type[
                    ServiceToCollectorMapping],
                key: sa.ColumnElement[bool], values: dict[str, object],
                defaults: dict[str, object]) -> None:
        """UPDATE the row matching ``key``, or INSERT it (``values`` plus
        ``defaults``)."""
        for attempt in (1, 2):
            try:
                with self._connection() as connection:
                    updated = connection.execute(
                        sa.update(table).where(key).values(**values)
                    ).rowcount
                    if not updated:
                        connection.execute(sa.insert(table).values(
                            **defaults, **values))
                return
            except sa_exc.IntegrityError:
                # Another request inserted the row between our UPDATE and
                # INSERT: the second attempt updates it.
                if attempt == 2:
                    raise exceptions.Conflict(
                        "The row was changed at the same time by another "
                        "request; try again.") from None


class ServiceMappings(_Store):
    """Rows of ``service_to_collector_mappings``."""

    def list(self, collector: str | None = None) -> list[ServiceMapping]:
        """Every mapping (of ``collector`` only, when given), by
        service."""
        table = ServiceToCollectorMapping
        query = sa.select(table.service, table.collector).order_by(
            table.service)
        if collector:
            query = query.where(table.collector == collector)
        with self._connection() as connection:
            return [ServiceMapping(row.service, row.collector)
                    for row in connection.execute(query)]

    def get(self, service: str) -> ServiceMapping:
        """The mapping of ``service``; NotFound when there is none."""
        table = ServiceToCollectorMapping
        with self._connection() as connection:
            row = connection.execute(
                sa.select(table.service, table.collector)
                .where(table.service == service)).first()
        if row is None:
            raise exceptions.NotFound(f"No mapping for service: {service}",
                                      field="service")
        return ServiceMapping(row.service, row.collector)

    def set(self, service: str, collector: str) -> ServiceMapping:
        """Map ``service`` to ``collector``, replacing any mapping it
        had."""
        service = _name(service, "service")
        collector = _name(collector, "collector")
        table = ServiceToCollectorMapping
        self._upsert(table, table.service == service,
                     {"collector": collector}, {"service": service})
        return ServiceMapping(service, collector)

    def delete(self, service: str) -> None:
        """Remove the mapping of ``service``; NotFound when there is
        none."""
        table = ServiceToCollectorMapping
        with self._connection() as connection:
            deleted = connection.execute(
                sa.delete(table).where(table.service == service)).rowcount
        if not deleted:
            raise exceptions.NotFound(f"No mapping for service: {service}",
                                      field="service")


class CollectorStates(_Store):
    """Enabled flags of collectors, in ``modules_state``."""

    @staticmethod
    def row_name(name: str) -> str:
        """The ``modules_state`` row of collector ``name``."""
        name = _name(name, "name", _NAME_LENGTH - len(STATE_PREFIX))
        return STATE_PREFIX + name

    def get(self, name: str) -> bool:
        """Whether collector ``name`` is enabled (False without a row)."""
        row_name = self.row_name(name)
        with self._connection() as connection:
            state = connection.execute(
                sa.select(ModuleState.state)
                .where(ModuleState.name == row_name)).scalar()
        return bool(state)

    def set(self, name: str, enabled: bool) -> bool:
        """Enable or disable collector ``name``; returns the new state."""
        if not isinstance(enabled, bool):
            raise exceptions.InvalidInput("'enabled' must be a boolean.",
                                          field="enabled")
        row_name = self.row_name(name)
        self._upsert(ModuleState, ModuleState.name == row_name,
                     {"state": enabled}, {"name": row_name, "priority": 1})
        return enabled
