"""Rollups on PostgreSQL and MariaDB: every test of the unit module runs
here again, ``db_url`` giving the server databases."""
from cloudkitty.tests.unit.test_rollups import *  # noqa: F403
