"""The storage contract suite (:mod:`cloudkitty.tests.storage_contract`)
on the sqlalchemy backend over SQLite, and on the in-memory reference
model, which runs the base class's default units of work."""
import pytest

from cloudkitty.tests.storage_contract import *  # noqa: F403


@pytest.fixture(params=["sqlite", "memory"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return request.param
