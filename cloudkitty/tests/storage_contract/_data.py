"""Data and observations shared by the contract tests."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from cloudkitty.dataframe import DataFrame
from cloudkitty.storage.state import StateManager
from cloudkitty.storage.v2 import base
from cloudkitty.tests.storage_factory import at, frame, point

__all__ = ["qtys", "count", "scope_state", "push_sample", "sample", "rated",
           "assert_aware_utc"]


def qtys(result: base.RetrieveResult) -> list[Decimal]:
    return sorted(p.qty for fr in result["dataframes"]
                  for _, p in fr.iterpoints())


def count(storage: base.BaseStorage, **kwargs: Any) -> int:
    """Stored points matching ``kwargs`` (``retrieve``'s total)."""
    return storage.retrieve(limit=1, **kwargs)["total"]


def scope_state(conf: Any, scope_id: str) -> datetime.datetime | None:
    return StateManager(conf).get_last_processed_timestamp(scope_id)


_S = TypeVar("_S", bound=base.BaseStorage)


def push_sample(storage: _S) -> _S:
    """Push the sample (two projects, two metric types, two periods) into
    ``storage``; returns it."""
    storage.push([
        frame(at(0), {
            "cpu": [point("1", "10", project_id="a", flavor="tiny"),
                    point("2", "20", project_id="b", flavor="big")],
            "ram": [point("4", "40", project_id="a",
                          metadata={"zone": "z1"})],
        }),
        frame(at(1), {
            "cpu": [point("8", "80", project_id="a", flavor="tiny")],
        }),
    ])
    return storage


@pytest.fixture
def sample(storage: base.BaseStorage) -> base.BaseStorage:
    """The backend under test holding :func:`push_sample`'s points."""
    return push_sample(storage)


def rated(hour: int, qty: str, scope_id: str, price: str = "1") -> DataFrame:
    return frame(at(hour), {"cpu": [point(qty, price, project_id=scope_id)]})


def assert_aware_utc(*values: datetime.datetime) -> None:
    for value in values:
        assert value.utcoffset() == datetime.timedelta(0), value
