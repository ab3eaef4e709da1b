"""pyscripts execution on PostgreSQL and MariaDB."""
from cloudkitty.tests.unit.test_pyscripts import *  # noqa: F403
