from cloudkitty.tests.unit.devstack.helpers import devstack  # noqa: F401
