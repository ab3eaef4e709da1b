"""The sqlalchemy storage backend on SQLite, PostgreSQL and MariaDB.

Every test of the unit module runs here again; ``db_url`` gives the server
databases in functional tests.
"""
from cloudkitty.tests.unit.test_storage_base import check_storage_init
from cloudkitty.tests.unit.test_storage_sqlalchemy import *  # noqa: F403


def test_storage_init_on_a_server_database(tmp_path, db_url):
    check_storage_init(tmp_path, db_url)
