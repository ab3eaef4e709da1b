"""What only the sqlalchemy v2 storage backend promises: its tables, and
units of work that are one transaction.

The behaviour every backend shares is the contract suite
(``cloudkitty/tests/storage_contract/``, run by ``test_storage_contract``
here and in ``tests/functional``). Runs on SQLite here;
``tests/functional/test_storage_sqlalchemy.py`` re-runs every test of this
module on PostgreSQL and MariaDB too.
"""
from __future__ import annotations

import json
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.storage.v2.base import ScopePeriod
from cloudkitty.storage.v2.sqlalchemy import SQLAlchemyStorage, _bulk
from cloudkitty.tests.storage_contract import push_sample, qtys
from cloudkitty.tests.storage_factory import at, frame, point


@pytest.fixture
def conf(migrated_conf):
    return migrated_conf


@pytest.fixture
def storage(conf) -> SQLAlchemyStorage:
    backend = get_storage(conf)
    assert isinstance(backend, SQLAlchemyStorage)
    backend.init()
    return backend


@pytest.fixture
def sample(storage: SQLAlchemyStorage) -> SQLAlchemyStorage:
    """The contract suite's sample points."""
    return push_sample(storage)


class TestOneTransaction:
    def test_failure_leaves_data_and_state_unchanged(self, sample, conf):
        StateManager(conf).set_last_processed_timestamp("a", at(0))

        def frames():
            yield frame(at(1), {"cpu": [point("100", project_id="a")]})
            raise RuntimeError("rating failed mid-way")

        summary = sample.total(groupby=["project_id", "type"])
        with pytest.raises(RuntimeError):
            sample.replace_scope_period("a", at(1), at(2), frames())
        assert qtys(sample.retrieve()) == [1, 2, 4, 8]
        assert sample.total(groupby=["project_id", "type"]) == summary
        assert StateManager(conf).get_last_processed_timestamp("a") == at(0)

    def test_database_failure_rolls_back(self, sample, conf):
        before = qtys(sample.retrieve())
        summary = sample.total(groupby=["project_id", "type"])
        with sample.engine.begin() as connection:
            connection.execute(sa.text(
                "ALTER TABLE cloudkitty_storage_states RENAME TO gone"))
        with pytest.raises(exceptions.StorageError):
            sample.replace_scope_period(
                "a", at(1), at(2), [frame(at(1), {"cpu": [point("100")]})])
        assert qtys(sample.retrieve()) == before
        assert sample.total(groupby=["project_id", "type"]) == summary


def test_init_fails_without_the_table(storage):
    with storage.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE cloudkitty_dataframes"))
    with pytest.raises(exceptions.StorageError) as err:
        storage.init()
    assert "cloudkitty_dataframes" in str(err.value)


#: Text each bulk path must escape or quote (COPY's text format on
#: PostgreSQL: tab, newline, carriage return, backslash).
AWKWARD = "tab\there\nnew\\line\r 'q' \"dq\" \\N é ∑"


class TestBulkWrites:
    def written(self, storage: SQLAlchemyStorage) -> list[tuple[Any, ...]]:
        return [(metric_type, p.unit, p.qty, p.price, dict(p.groupby),
                 dict(p.metadata), p.description)
                for df in storage.retrieve()["dataframes"]
                for metric_type, p in df.iterpoints()]

    @pytest.mark.parametrize("how", ["bulk", "single", "push"])
    def test_awkward_values_round_trip(self, storage, how) -> None:
        awkward = point("1.5", "1.0000000000000000000000000000015",
                        project_id="a", unit=AWKWARD,
                        description=AWKWARD, label=AWKWARD, size=3,
                        metadata={"note": AWKWARD, "n": 3,
                                  "d": Decimal("1.10"), "none": None})
        frames = [frame(at(0), {AWKWARD: [awkward]})]
        if how == "bulk":
            assert storage.replace_scope_periods(
                at(0), at(1), [ScopePeriod("a", frames)]) == []
        elif how == "single":
            storage.replace_scope_period("a", at(0), at(1), frames)
        else:
            storage.push(frames)
        stored = frames[0].usage[AWKWARD][0]
        assert self.written(storage) == [(
            AWKWARD, AWKWARD, Decimal("1.5"),
            Decimal("1.000000000000000000000000000002"),  # half-even
            dict(stored.groupby),
            {"note": AWKWARD, "n": 3, "d": "1.10", "none": None}, AWKWARD)]
        assert storage.total(groupby=["type"]) == storage.raw_total(
            groupby=["type"])

    def test_rated_rows_deleted_only_where_the_ledger_has_some(
            self, storage) -> None:
        deletes: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith(
                    "DELETE FROM CLOUDKITTY_DATAFRAMES"):
                deletes.append(statement)

        def items(start: int, qty: str) -> list[ScopePeriod]:
            return [ScopePeriod(scope, [frame(at(start), {
                "cpu": [point(qty, project_id=scope)] * 2})])
                for scope in ("a", "b")]

        sa.event.listen(storage.engine, "before_cursor_execute", seen)
        try:
            storage.push([frame(at(0), {"cpu": [point("7", project_id="a")]})])
            # "a" has a pushed row in the window: deleted; "b" has none.
            assert storage.replace_scope_periods(at(0), at(1),
                                                 items(0, "1")) == []
            assert len(deletes) == 1 and qtys(storage.retrieve()) == [1] * 4
            # A period nothing was stored for yet: no DELETE at all.
            assert storage.replace_scope_periods(at(1), at(2),
                                                 items(1, "2")) == []
            storage.replace_scope_period("c", at(1), at(2), [frame(
                at(1), {"cpu": [point("5", project_id="c")]})])
            assert len(deletes) == 1
            # Writing a period again (reprocessing) replaces its rows.
            assert storage.replace_scope_periods(at(1), at(2),
                                                 items(1, "3")) == []
            storage.replace_scope_period("c", at(1), at(2), [frame(
                at(1), {"cpu": [point("6", project_id="c")]})])
            assert len(deletes) == 3
        finally:
            sa.event.remove(storage.engine, "before_cursor_execute", seen)
        assert qtys(storage.retrieve()) == [1] * 4 + [3] * 4 + [6]
        for groupby in (["project_id"], ["type", "time-d"]):
            assert storage.total(groupby=groupby) == storage.raw_total(
                groupby=groupby)


class TestJsonTexts:
    def test_a_repeated_mapping_reuses_its_text(self) -> None:
        texts = _bulk.JsonTexts(_bulk._copy_text, size=10)
        first = texts({"id": "r1", "note": AWKWARD})
        again = texts(MappingProxyType({"id": "r1", "note": AWKWARD}))
        assert first is again
        assert first == _bulk._copy_text(json.dumps(
            {"id": "r1", "note": AWKWARD}))
        # Key order is part of the text.
        assert texts({"note": AWKWARD, "id": "r1"}) == _bulk._copy_text(
            json.dumps({"note": AWKWARD, "id": "r1"}))

    def test_values_that_are_not_strings_are_encoded_each_time(self) -> None:
        texts = _bulk.JsonTexts(size=10)
        # 1 == True == Decimal(1) as keys, but not as JSON.
        assert [texts({"n": value}) for value in (
            1, True, Decimal("1.0"), None, "1")] == [
            '{"n": 1}', '{"n": true}', '{"n": "1.0"}', '{"n": null}',
            '{"n": "1"}']
        assert texts({"n": 1}) == '{"n": 1}'

    def test_it_stays_within_its_size(self) -> None:
        texts = _bulk.JsonTexts(size=3)
        for number in range(10):
            assert texts({"id": str(number)}) == f'{{"id": "{number}"}}'
            assert len(texts._texts) <= 3
