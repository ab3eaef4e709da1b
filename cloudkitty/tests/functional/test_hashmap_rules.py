"""HashMap rule loading and the HashMap module on PostgreSQL and MariaDB."""
from cloudkitty.tests.unit.test_hashmap_rules import *  # noqa: F403
