"""Scope state and reprocessing schedules on SQLite, PostgreSQL, MariaDB."""
from cloudkitty.tests.unit.test_state import *  # noqa: F403
