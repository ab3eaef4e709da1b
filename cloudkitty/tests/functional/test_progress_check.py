"""Progress checks of the unit of work on SQLite, PostgreSQL, MariaDB."""
from cloudkitty.tests.unit.test_progress_check import *  # noqa: F403
