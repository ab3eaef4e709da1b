"""The hashmap configuration API on PostgreSQL and MariaDB: every test of
the unit modules runs again on the server databases."""
from cloudkitty.tests.unit.api.conftest import (  # noqa: F401
    api_conf,
    metrics_file,
    policy_app,
)
from cloudkitty.tests.unit.api.test_hashmap_mappings import *  # noqa: F403
from cloudkitty.tests.unit.api.test_hashmap_services import *  # noqa: F403
from cloudkitty.tests.unit.api.test_hashmap_thresholds import *  # noqa: F403
