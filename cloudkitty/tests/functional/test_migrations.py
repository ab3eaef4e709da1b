"""Migrations and cloudkitty-dbsync on SQLite, PostgreSQL and MariaDB."""
from cloudkitty.tests.unit.test_migrations import *  # noqa: F403
