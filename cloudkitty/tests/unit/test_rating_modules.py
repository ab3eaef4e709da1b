"""The rating module manager (``cloudkitty.rating.modules``) and noop."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import ClassVar

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.db import api as db_api
from cloudkitty.rating import RatingProcessor, modules
from cloudkitty.rating.noop import Noop
from cloudkitty.tests import storage_factory as f

AT = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc)


class _Recording(RatingProcessor):
    """Test modules: each appends its name to the points' ``ran``
    metadata so a test can read the order they ran in."""

    hot_config = True
    loaded: ClassVar[list[tuple[str, str | None, datetime.datetime]]] = []

    def reload_config(self, at: datetime.datetime) -> None:
        self.at = at
        type(self).loaded.append((self.module_name, self.scope_id, at))

    def _price(self, price: Decimal) -> Decimal:
        raise NotImplementedError

    def process(self, frame: DataFrame) -> DataFrame:
        assert self.at == AT, "process() before reload_config()"

        def _one(point):
            ran = point.metadata.get("ran", "") + self.module_name[0]
            return point.replace(price=self._price(point.price),
                                 metadata={**point.metadata, "ran": ran})
        return frame.map_points(lambda _t, p: _one(p))


class AddTen(_Recording):
    module_name = "add"
    description = "Adds 10."

    def _price(self, price: Decimal) -> Decimal:
        return price + 10


class Double(_Recording):
    module_name = "double"
    description = "Doubles."

    def _price(self, price: Decimal) -> Decimal:
        return price * 2


class Quoting(_Recording):
    module_name = "quoting"
    description = "Prices quotes differently from collected data."
    hot_config = False

    def _price(self, price: Decimal) -> Decimal:
        return price + 1

    def quote(self, frame: DataFrame) -> DataFrame:
        return frame.map_points(
            lambda _t, p: p.replace(price=p.price + 100))


PROCESSORS: dict[str, type[RatingProcessor]] = {
    "add": AddTen, "double": Double, "noop": Noop, "quoting": Quoting}


@pytest.fixture
def conf(migrated_conf):
    return migrated_conf


@pytest.fixture
def manager(conf) -> modules.ModuleManager:
    _Recording.loaded = []
    return modules.ModuleManager(conf, processors=PROCESSORS)


def state_rows(conf) -> dict[str, tuple[bool, int | None]]:
    with db_api.get_engine(conf).connect() as connection:
        return {row.name: (bool(row.state), row.priority)
                for row in connection.execute(sa.text(
                    "SELECT name, state, priority FROM modules_state"))}


def insert_row(conf, name: str, state: bool, priority: int | None) -> None:
    with db_api.get_engine(conf).begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO modules_state (name, state, priority) "
            "VALUES (:n, :s, :p)"), {"n": name, "s": state, "p": priority})


def one_point_frame(price: str = "1") -> DataFrame:
    return f.frame(usage={"instance": [f.point(price=price)]})


def prices(frame: DataFrame) -> list[Decimal]:
    return [point.price for _, point in frame.iterpoints()]


class TestInstalled:
    def test_entry_points_give_classes_not_instances(self) -> None:
        installed = modules.installed_processors()
        assert installed["noop"] is Noop
        assert all(isinstance(cls, type) for cls in installed.values())

    def test_manager_lists_the_installed_modules_by_default(
            self, conf) -> None:
        names = [m.module_id for m in modules.ModuleManager(conf)
                 .list_modules()]
        assert names == sorted(modules.installed_processors())
        assert "noop" in names

    def test_a_broken_entry_point_is_left_out(self) -> None:
        # Nothing is installed under this namespace: an empty set, not an
        # error.
        assert modules.installed_processors("cloudkitty.tests.none") == {}


class TestState:
    def test_defaults_without_a_row(self, manager) -> None:
        assert manager.list_modules() == [
            modules.ModuleInfo("add", "Adds 10.", False, True, 1),
            modules.ModuleInfo("double", "Doubles.", False, True, 1),
            modules.ModuleInfo("noop", Noop.description, True, False, 1),
            modules.ModuleInfo("quoting", Quoting.description, False,
                               False, 1),
        ]

    @pytest.mark.parametrize("stored", [None, 0])
    def test_null_and_zero_priorities_read_as_one(self, conf, manager,
                                                  stored) -> None:
        insert_row(conf, "add", True, stored)
        assert manager.get_module("add").priority == 1
        assert manager.get_module("add").enabled is True

    def test_set_enabled_creates_the_row_with_priority_one(
            self, conf, manager) -> None:
        info = manager.set_enabled("add", True)
        assert (info.enabled, info.priority) == (True, 1)
        assert state_rows(conf) == {"add": (True, 1)}

    def test_set_priority_creates_a_disabled_row(self, conf,
                                                 manager) -> None:
        info = manager.set_priority("double", 7)
        assert (info.enabled, info.priority) == (False, 7)
        assert state_rows(conf) == {"double": (False, 7)}

    def test_updates_keep_the_other_value(self, conf, manager) -> None:
        manager.set_priority("add", 5)
        manager.set_enabled("add", True)
        manager.set_enabled("add", False)
        assert state_rows(conf) == {"add": (False, 5)}
        manager.update("add", enabled=True, priority=3)
        assert manager.get_module("add") == modules.ModuleInfo(
            "add", "Adds 10.", True, True, 3)

    def test_an_update_without_changes_writes_nothing(self, conf,
                                                      manager) -> None:
        assert manager.update("add").enabled is False
        assert state_rows(conf) == {}

    @pytest.mark.parametrize("priority", [0, -1, True, "2", 1.5, 2**31])
    def test_bad_priorities_are_refused_naming_the_field(
            self, conf, manager, priority) -> None:
        with pytest.raises(exceptions.InvalidInput) as info:
            manager.set_priority("add", priority)
        assert info.value.field == "priority"
        assert info.value.http_status == 400
        assert state_rows(conf) == {}

    def test_the_largest_priority_is_accepted(self, manager) -> None:
        assert manager.set_priority("add", 2**31 - 1).priority == 2**31 - 1

    def test_bad_enabled_is_refused(self, manager) -> None:
        with pytest.raises(exceptions.InvalidInput) as info:
            manager.update("add", enabled=1)
        assert info.value.field == "enabled"

    @pytest.mark.parametrize("call", [
        lambda m: m.get_module("nope"),
        lambda m: m.set_enabled("nope", True),
        lambda m: m.set_priority("nope", 2),
    ])
    def test_unknown_module_is_not_found(self, conf, manager, call) -> None:
        with pytest.raises(exceptions.NotFound) as info:
            call(manager)
        assert info.value.message == "Module 'nope' not found"
        assert state_rows(conf) == {}


class TestNoop:
    def test_always_enabled_with_priority_one_whatever_the_table_says(
            self, conf, manager) -> None:
        insert_row(conf, "noop", False, 9)
        info = manager.get_module("noop")
        assert (info.enabled, info.priority) == (True, 1)

    def test_disabling_is_refused(self, conf, manager) -> None:
        with pytest.raises(exceptions.Conflict) as info:
            manager.set_enabled("noop", False)
        assert info.value.details["field"] == "enabled"
        assert state_rows(conf) == {}

    def test_changing_the_priority_is_refused(self, conf, manager) -> None:
        with pytest.raises(exceptions.Conflict) as info:
            manager.set_priority("noop", 2)
        assert info.value.details["field"] == "priority"
        assert state_rows(conf) == {}

    def test_keeping_its_values_is_accepted_and_writes_nothing(
            self, conf, manager) -> None:
        assert manager.update("noop", enabled=True, priority=1).enabled
        assert state_rows(conf) == {}

    def test_returns_the_frame_unchanged(self, conf) -> None:
        noop = Noop(conf)
        noop.reload_config(AT)
        frame = one_point_frame("2.5")
        assert noop.process(frame) is frame
        assert noop.quote(frame) is frame


class TestRunning:
    def test_only_enabled_modules_load_in_descending_priority(
            self, manager) -> None:
        manager.update("add", enabled=True, priority=2)
        manager.update("double", enabled=True, priority=5)
        manager.set_priority("quoting", 9)  # disabled: never loaded
        loaded = manager.load_enabled("scope-1", AT)
        assert [type(p) for p in loaded] == [Double, AddTen, Noop]
        assert _Recording.loaded == [("double", "scope-1", AT),
                                     ("add", "scope-1", AT)]
        assert all(p.scope_id == "scope-1" for p in loaded)

    def test_equal_priorities_run_by_name(self, manager) -> None:
        for name in ("quoting", "double", "add"):
            manager.update(name, enabled=True, priority=3)
        assert [m.module_id for m in manager.enabled_modules()] == [
            "add", "double", "quoting", "noop"]

    def test_each_module_rates_the_previous_output(self, manager) -> None:
        manager.update("add", enabled=True, priority=2)
        manager.update("double", enabled=True, priority=1)
        rated = modules.rate(one_point_frame("1"),
                             manager.load_enabled(None, AT))
        # (1 + 10) * 2, add first; ties with noop (priority 1) by name.
        assert prices(rated) == [Decimal(22)]
        assert [p.metadata["ran"] for _, p in rated.iterpoints()] == ["ad"]

    def test_changing_priorities_changes_the_result(self, manager) -> None:
        manager.update("add", enabled=True, priority=1)
        manager.update("double", enabled=True, priority=2)
        rated = modules.rate(one_point_frame("1"),
                             manager.load_enabled(None, AT))
        assert prices(rated) == [Decimal(12)]  # 1 * 2 + 10

    def test_new_instances_on_every_load(self, manager) -> None:
        manager.set_enabled("add", True)
        first = manager.load_enabled("s", AT)
        assert first[0] is not manager.load_enabled("s", AT)[0]

    def test_nothing_but_noop_leaves_prices_alone(self, manager) -> None:
        frame = one_point_frame("3")
        assert modules.rate(frame, manager.load_enabled("s", AT)) == frame

    def test_quote_calls_each_module_quote(self, manager) -> None:
        manager.update("quoting", enabled=True, priority=2)
        manager.update("double", enabled=True, priority=1)
        processors = manager.load_enabled(None, AT)
        assert prices(modules.quote(one_point_frame("1"), processors)) == [
            Decimal(202)]
        assert prices(modules.rate(one_point_frame("1"), processors)) == [
            Decimal(4)]
