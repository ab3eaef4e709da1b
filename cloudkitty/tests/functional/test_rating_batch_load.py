"""Batch loading of the rating modules on PostgreSQL and MariaDB."""
from cloudkitty.tests.unit.test_rating_batch_load import *  # noqa: F403
