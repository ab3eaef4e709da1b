"""The storage contract suite (:mod:`cloudkitty.tests.storage_contract`)
on PostgreSQL, MariaDB (sqlalchemy backend) and InfluxDB 1.x (``influxdb``
backend, scope states in an SQLite ``[database]``)."""
import pytest

from cloudkitty.tests.storage_contract import *  # noqa: F403
from cloudkitty.tests.storage_contract import influxdb_param


@pytest.fixture(params=["postgresql", "mysql", influxdb_param()])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return request.param
