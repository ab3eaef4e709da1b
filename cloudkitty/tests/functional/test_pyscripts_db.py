"""pyscripts storage on PostgreSQL and MariaDB."""
from cloudkitty.tests.unit.test_pyscripts_db import *  # noqa: F403
