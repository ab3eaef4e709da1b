"""The pyscripts rating module: scripts run on frames."""
from __future__ import annotations

import datetime
import logging
import textwrap
import zlib
from decimal import Decimal

import pytest
import sqlalchemy as sa
import stevedore

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.rating.pyscripts import PyScripts, db

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 3, 10, 12, 0, 0)
DAY = datetime.timedelta(days=1)
PERIOD_START = datetime.datetime(2026, 3, 10, 11, tzinfo=UTC)

DOUBLE = """\
for points in data['usage'].values():
    for point in points:
        point['rating']['price'] = point['vol']['qty'] * 2
"""
TIMES_THREE = """\
for point in data['usage']['instance']:
    point['rating']['price'] *= 3
"""
SET_ONE = """\
for point in data['usage']['instance']:
    point['rating']['price'] = 1
"""


@pytest.fixture
def conf(migrated_conf):
    return migrated_conf


@pytest.fixture
def engine(conf):
    return db_api.get_engine(conf)


def add(engine, name, source, *, created=NOW - 2 * DAY, start=NOW - DAY,
        end=None) -> db.Script:
    return db.create_script(engine, name=name, data=textwrap.dedent(source),
                            now=created, start=start, end=end, force=True)


def module(conf, at=NOW) -> PyScripts:
    processor = PyScripts(conf, scope_id="proj-a")
    processor.reload_config(at)
    return processor


def frame(*points: DataPoint, metric="instance") -> DataFrame:
    return DataFrame(PERIOD_START, PERIOD_START + datetime.timedelta(hours=1),
                     {metric: list(points)})


def point(qty="2", price="0", **metadata) -> DataPoint:
    return DataPoint("instance", qty, price, {"id": "vm-1"}, metadata)


def prices(result: DataFrame) -> list[Decimal]:
    return [p.price for _, p in result.iterpoints()]


class TestPlugin:
    def test_entry_point(self):
        manager = stevedore.DriverManager("cloudkitty.rating.processors",
                                          "pyscripts")
        assert manager.driver is PyScripts
        assert PyScripts.module_name == "pyscripts"
        assert PyScripts.hot_config is True

    def test_no_script_returns_the_frame(self, conf):
        data = frame(point())
        assert module(conf).process(data) is data


class TestPricing:
    def test_script_sets_prices(self, conf, engine):
        add(engine, "double", DOUBLE)
        result = module(conf).process(frame(point("2"), point("3.5")))
        assert prices(result) == [Decimal("4"), Decimal("7.0")]

    def test_prices_replace_the_incoming_ones(self, conf, engine):
        add(engine, "one", SET_ONE)
        result = module(conf).process(frame(point(price="10")))
        assert prices(result) == [Decimal("1")]

    def test_scripts_run_in_creation_order_each_on_the_previous_result(
            self, conf, engine):
        # "times3" sorts before "zzz-set" by name but was created later.
        add(engine, "zzz-set", SET_ONE, created=NOW - 3 * DAY)
        add(engine, "times3", TIMES_THREE, created=NOW - 2 * DAY)
        processor = module(conf)
        assert [s.name for s in processor.scripts] == ["zzz-set", "times3"]
        assert prices(processor.process(frame(point()))) == [Decimal("3")]

    def test_script_may_change_points_and_metadata(self, conf, engine):
        add(engine, "edit", """\
            import decimal
            points = data['usage']['instance']
            points[0]['metadata']['flavor'] = 'm1.large'
            points[0]['rating']['price'] = decimal.Decimal('0.1') * 3
            points.append({'vol': {'unit': 'instance', 'qty': 1},
                           'rating': {'price': '2.5'},
                           'groupby': {'id': 'vm-2'}, 'metadata': {}})
            """)
        result = module(conf).process(frame(point()))
        first, second = (p for _, p in result.iterpoints())
        assert first.metadata == {"flavor": "m1.large"}
        assert first.price == Decimal("0.3")
        assert (second.groupby, second.price) == ({"id": "vm-2"},
                                                  Decimal("2.5"))

    def test_script_sees_decimals_datetimes_and_descriptions(self, conf,
                                                             engine):
        add(engine, "types", """\
            import datetime, decimal
            assert isinstance(data['period']['begin'], datetime.datetime)
            p = data['usage']['instance'][0]
            assert isinstance(p['vol']['qty'], decimal.Decimal)
            assert isinstance(p['rating']['price'], decimal.Decimal)
            assert p['description'] == 'CPU'
            p['rating']['price'] = p['vol']['qty']
            """)
        data = frame(point("1.25").replace(description="CPU"))
        [result] = module(conf).process(data).usage["instance"]
        assert result.price == Decimal("1.25")
        assert result.description == "CPU"

    def test_script_may_drop_a_metric(self, conf, engine):
        add(engine, "drop", "del data['usage']['instance']\n")
        assert len(module(conf).process(frame(point()))) == 0

    def test_aware_processing_time(self, conf, engine):
        add(engine, "one", SET_ONE, start=NOW)
        at = NOW.replace(tzinfo=UTC).astimezone(
            datetime.timezone(datetime.timedelta(hours=-5)))
        assert len(module(conf, at).scripts) == 1
        assert module(conf, at - datetime.timedelta(seconds=1)
                      ).scripts == ()


class TestSelection:
    def test_inactive_scripts_do_not_run(self, conf, engine):
        add(engine, "future", SET_ONE, start=NOW + DAY)
        add(engine, "ended", SET_ONE, start=NOW - DAY, end=NOW)
        gone = add(engine, "deleted", SET_ONE)
        db.delete_script(engine, gone.script_id, now=NOW - DAY)
        processor = module(conf)
        assert processor.scripts == ()
        assert prices(processor.process(frame(point()))) == [Decimal("0")]

    def test_reload_follows_the_processing_time(self, conf, engine):
        add(engine, "one", SET_ONE, start=NOW + DAY)
        processor = module(conf)
        assert processor.scripts == ()
        processor.reload_config(NOW + DAY)
        assert [s.name for s in processor.scripts] == ["one"]

    def test_unchanged_scripts_are_not_recompiled(self, conf, engine):
        script = add(engine, "one", SET_ONE, start=NOW + DAY,
                     created=NOW - DAY)
        processor = module(conf, NOW + DAY)
        [before] = processor.scripts
        processor.reload_config(NOW + DAY)
        assert processor.scripts[0] is before
        db.update_script(engine, script.script_id, {"data": DOUBLE},
                         now=NOW)
        processor.reload_config(NOW + DAY)
        assert processor.scripts[0] is not before
        assert processor.scripts[0].checksum == db.checksum_of(DOUBLE)


def failing(conf, engine, source, caplog) -> exceptions.RatingError:
    """Run ``source`` after a script that worked; return the error."""
    add(engine, "fine", SET_ONE, created=NOW - 3 * DAY)
    bad = add(engine, "bad", source)
    processor = module(conf)
    data = frame(point(price="7", tags=["a"]))
    with caplog.at_level(logging.ERROR, "cloudkitty.rating.pyscripts"):
        with pytest.raises(exceptions.RatingError) as err:
            processor.process(data)
    # Nothing half-applied: the frame is as it was, the caller gets no
    # result to store.
    assert data == frame(point(price="7", tags=["a"]))
    assert "'bad'" in err.value.message
    assert bad.script_id in err.value.message
    assert err.value.details["script_id"] == bad.script_id
    records = [r for r in caplog.records
               if r.name.startswith("cloudkitty.rating.pyscripts")]
    assert len(records) == 1
    assert records[0].getMessage().startswith(err.value.message)
    return err.value


class TestFailures:
    def test_raising_script(self, conf, engine, caplog):
        error = failing(conf, engine, "x = 1\ny = x / 0\n", caplog)
        assert "ZeroDivisionError at line 2: division by zero" in \
            error.message
        assert caplog.records[-1].exc_info is not None

    def test_script_calling_exit_does_not_stop_the_worker(self, conf,
                                                         engine, caplog):
        error = failing(conf, engine, "import sys\nsys.exit(3)\n", caplog)
        assert "SystemExit at line 2" in error.message

    def test_interactive_builtins_are_withheld(self, conf, engine, caplog):
        error = failing(conf, engine, "input()\n", caplog)
        assert "NameError" in error.message

    def test_script_mutating_the_input_through_metadata_has_no_effect(
            self, conf, engine, caplog):
        failing(conf, engine, """\
            data['usage']['instance'][0]['metadata']['tags'].append('b')
            data['usage']['instance'][0]['rating']['price'] = 99
            raise RuntimeError('late')
            """, caplog)

    @pytest.mark.parametrize("source,reason", [
        ("data = 42\n", "A dataframe must be a mapping"),
        ("del data\n", "the global 'data' was deleted"),
        ("data['usage']['instance'][0]['vol'] = {}\n",
         "usage.instance[0].vol.unit"),
        ("data['usage']['instance'][0]['rating']['price'] = 'cheap'\n",
         "usage.instance[0].rating.price"),
        ("data['usage']['instance'][0]['rating']['price'] = float('nan')\n",
         "must be finite"),
        ("data['usage']['instance'] = 'x'\n", "usage.instance"),
        ("data['period']['begin'] = None\n", "period.begin"),
        ("import datetime\n"
         "data['period']['end'] += datetime.timedelta(hours=1)\n",
         "the period was changed"),
    ])
    def test_malformed_data(self, conf, engine, caplog, source, reason):
        error = failing(conf, engine, source, caplog)
        assert "invalid 'data'" in error.message or "deleted" in reason
        assert reason in error.message

    def test_stored_script_that_does_not_compile_fails_the_reload(
            self, conf, engine, caplog):
        # The API refuses such source; a database adopted from upstream
        # may still hold one.
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO pyscripts_scripts (script_id, name, data, "
                "checksum, created_at, start, created_by) VALUES "
                "('s-1', 'broken', :d, 'x', :t, :t, 'migration')"),
                {"d": zlib.compress(b"def f(:\n"), "t": NOW - DAY})
        processor = PyScripts(conf)
        with caplog.at_level(logging.ERROR, "cloudkitty.rating.pyscripts"):
            with pytest.raises(exceptions.RatingError) as err:
                processor.reload_config(NOW)
        assert "'broken' (s-1) does not compile: SyntaxError at line 1" in \
            err.value.message
        assert len(caplog.records) == 1
