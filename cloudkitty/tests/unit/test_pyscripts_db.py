"""Storage of rating scripts: compression, checksum, lifecycle, filters."""
from __future__ import annotations

import datetime
import hashlib
import zlib

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db import api as db_api
from cloudkitty.rating.pyscripts import db
from cloudkitty.tests import storage_factory as f

NOW = datetime.datetime(2026, 3, 10, 12, 0, 0)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
SOURCE = "for points in data['usage'].values():\n    pass\n"
NON_ASCII = "# Tarif réduit: 0,5 € — 半額\nlabel = 'ÆØÅ'\n"


@pytest.fixture
def engine(db_url):
    f.migrate(db_url)
    engine = db_api.create_engine(db_url)
    yield engine
    engine.dispose()


def add(engine, name="policy", data=SOURCE, *, at=NOW, start=None,
        end=None, description=None, user="admin") -> db.Script:
    """A script created at ``at`` (forced, so any start is accepted)."""
    return db.create_script(engine, name=name, data=data, now=at,
                            start=start, end=end, description=description,
                            created_by=user, force=True)


def raw_row(engine, script_id):
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT data, checksum, name FROM pyscripts_scripts "
            "WHERE script_id = :i"), {"i": script_id}).one()


class TestStoredForm:
    @pytest.mark.parametrize("source", [SOURCE, NON_ASCII, ""])
    def test_data_is_zlib_compressed_utf8(self, engine, source):
        script = add(engine, data=source)
        data, checksum, _ = raw_row(engine, script.script_id)
        assert zlib.decompress(data) == source.encode("utf-8")
        assert checksum == hashlib.sha512(
            source.encode("utf-8")).hexdigest()

    @pytest.mark.parametrize("source", [SOURCE, NON_ASCII])
    def test_round_trip_returns_the_source_and_checksum(self, engine,
                                                        source):
        created = add(engine, data=source)
        read = db.get_script(engine, created.script_id)
        assert read.data == source
        assert read.checksum == db.checksum_of(source) == created.checksum
        assert len(read.checksum) == 128

    def test_reads_a_row_written_by_upstream(self, engine):
        # Upstream stores the same columns: compressed bytes + checksum.
        source = "data = data  # ünïcode\n"
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO pyscripts_scripts (script_id, name, data, "
                "checksum, created_at, start, created_by) VALUES "
                "(:i, :n, :d, :c, :t, :t, 'migration')"),
                {"i": "0b1d7c8e-0000-4000-8000-000000000001", "n": "old",
                 "d": zlib.compress(source.encode()),
                 "c": hashlib.sha512(source.encode()).hexdigest(),
                 "t": datetime.datetime(2014, 1, 1)})
        script = db.get_script(engine,
                               "0b1d7c8e-0000-4000-8000-000000000001")
        assert script.data == source
        assert script.start == datetime.datetime(2014, 1, 1)


class TestCreate:
    def test_defaults(self, engine):
        script = db.create_script(engine, name="p", data=SOURCE, now=NOW)
        assert script.start == NOW
        assert script.created_at == NOW
        assert script.end is None
        assert script.created_by == "unknown"
        assert (script.deleted, script.updated_by, script.deleted_by) == (
            None, None, None)

    def test_start_in_the_past_needs_force(self, engine):
        with pytest.raises(exceptions.InvalidInput) as err:
            db.create_script(engine, name="p", data=SOURCE, now=NOW,
                             start=NOW - HOUR)
        assert err.value.field == "start"
        script = db.create_script(engine, name="p", data=SOURCE, now=NOW,
                                  start=NOW - HOUR, force=True)
        assert script.start == NOW - HOUR

    def test_end_before_start_is_refused(self, engine):
        with pytest.raises(exceptions.InvalidInput) as err:
            db.create_script(engine, name="p", data=SOURCE, now=NOW,
                             start=NOW + DAY, end=NOW + HOUR)
        assert err.value.field == "end"

    def test_same_name_as_a_live_script_conflicts(self, engine):
        first = add(engine, name="dup")
        with pytest.raises(exceptions.Conflict) as err:
            add(engine, name="dup")
        assert err.value.message == (
            f"Script dup already exists (UUID: {first.script_id})")

    def test_name_of_a_deleted_script_is_free(self, engine):
        first = add(engine, name="dup")
        db.delete_script(engine, first.script_id, now=NOW)
        second = add(engine, name="dup")
        assert second.script_id != first.script_id

    @pytest.mark.parametrize("name", ["", "   ", "x" * 256])
    def test_bad_name_is_refused(self, engine, name):
        with pytest.raises(exceptions.InvalidInput) as err:
            add(engine, name=name)
        assert err.value.field == "name"

    def test_source_that_does_not_compile_is_refused(self, engine):
        with pytest.raises(exceptions.InvalidInput) as err:
            add(engine, data="def broken(:\n")
        assert err.value.field == "data"
        assert "SyntaxError at line 1" in err.value.message

    def test_nul_characters_are_refused(self, engine):
        # PostgreSQL cannot store them: a 400 everywhere, not a 500 there.
        with pytest.raises(exceptions.InvalidInput) as err:
            add(engine, name="a\x00b")
        assert err.value.field == "name"
        with pytest.raises(exceptions.InvalidInput) as err:
            add(engine, description="a\x00b")
        assert err.value.field == "description"
        with pytest.raises(exceptions.InvalidInput) as err:
            add(engine, data="x = 1\x00")
        assert err.value.field == "data"

    def test_long_user_id_is_cut_to_the_column(self, engine):
        script = add(engine, user="u" * 64)
        assert script.created_by == "u" * 32


class TestGetAndDelete:
    def test_unknown_script(self, engine):
        with pytest.raises(exceptions.NotFound) as err:
            db.get_script(engine, "nope")
        assert err.value.message == "No such script: None (UUID: nope)"

    @pytest.mark.parametrize("script_id", ["a\x00b", "x" * 37])
    def test_impossible_ids_are_not_found(self, engine, script_id):
        with pytest.raises(exceptions.NotFound):
            db.get_script(engine, script_id)
        with pytest.raises(exceptions.NotFound):
            db.delete_script(engine, script_id, now=NOW)

    def test_delete_is_soft(self, engine):
        script = add(engine)
        db.delete_script(engine, script.script_id, now=NOW + HOUR,
                         deleted_by="bob")
        with pytest.raises(exceptions.NotFound):
            db.get_script(engine, script.script_id)
        [deleted] = db.list_scripts(engine, db.ScriptFilters(deleted=True),
                                    NOW)
        assert deleted.deleted == NOW + HOUR
        assert deleted.deleted_by == "bob"
        assert raw_row(engine, script.script_id).name == "policy"

    def test_deleting_twice_is_not_found(self, engine):
        script = add(engine)
        db.delete_script(engine, script.script_id, now=NOW)
        with pytest.raises(exceptions.NotFound):
            db.delete_script(engine, script.script_id, now=NOW)


class TestUpdate:
    def test_before_start_everything_may_change(self, engine):
        script = add(engine, start=NOW + DAY)
        updated = db.update_script(
            engine, script.script_id,
            {"name": "renamed", "data": NON_ASCII, "start": NOW + 2 * DAY,
             "end": NOW + 3 * DAY, "description": "new"},
            now=NOW, updated_by="carol")
        assert (updated.name, updated.data, updated.start, updated.end,
                updated.description, updated.updated_by) == (
            "renamed", NON_ASCII, NOW + 2 * DAY, NOW + 3 * DAY, "new",
            "carol")
        assert updated.checksum == db.checksum_of(NON_ASCII)
        assert db.get_script(engine, script.script_id) == updated

    def test_once_started_only_end_may_be_set(self, engine):
        script = add(engine, start=NOW - DAY)
        echo = {"name": script.name, "data": script.data,
                "start": script.start, "description": script.description,
                "end": NOW + DAY}
        updated = db.update_script(engine, script.script_id, echo, now=NOW)
        assert updated.end == NOW + DAY
        assert updated.data == script.data

    @pytest.mark.parametrize("field,value", [
        ("data", "data = data\n"), ("name", "other"),
        ("description", "changed"),
        ("start", datetime.datetime(2030, 1, 1))])
    def test_once_started_other_changes_are_refused(self, engine, field,
                                                    value):
        script = add(engine, start=NOW - DAY)
        with pytest.raises(exceptions.InvalidInput) as err:
            db.update_script(engine, script.script_id, {field: value},
                             now=NOW)
        assert err.value.field == field
        assert db.get_script(engine, script.script_id) == script

    def test_once_started_end_must_be_in_the_future(self, engine):
        script = add(engine, start=NOW - DAY)
        with pytest.raises(exceptions.InvalidInput) as err:
            db.update_script(engine, script.script_id, {"end": NOW - HOUR},
                             now=NOW)
        assert err.value.field == "end"

    def test_an_end_is_set_only_once(self, engine):
        script = add(engine, start=NOW - DAY, end=NOW + DAY)
        with pytest.raises(exceptions.InvalidInput) as err:
            db.update_script(engine, script.script_id,
                             {"end": NOW + 2 * DAY}, now=NOW)
        assert "already processed" in err.value.message

    def test_renaming_onto_a_live_name_conflicts(self, engine):
        add(engine, name="taken")
        script = add(engine, name="mine", start=NOW + DAY)
        with pytest.raises(exceptions.Conflict):
            db.update_script(engine, script.script_id, {"name": "taken"},
                             now=NOW)

    def test_deleted_or_unknown_script_is_not_found(self, engine):
        script = add(engine, start=NOW + DAY)
        db.delete_script(engine, script.script_id, now=NOW)
        for script_id in (script.script_id, "unknown"):
            with pytest.raises(exceptions.NotFound):
                db.update_script(engine, script_id, {"end": NOW + DAY},
                                 now=NOW)

    def test_bad_source_is_refused(self, engine):
        script = add(engine, start=NOW + DAY)
        with pytest.raises(exceptions.InvalidInput) as err:
            db.update_script(engine, script.script_id, {"data": "if"},
                             now=NOW)
        assert err.value.field == "data"


class TestListing:
    @pytest.fixture
    def scripts(self, engine):
        out = {
            "old": add(engine, "old", start=NOW - 2 * DAY, end=NOW - DAY,
                       at=NOW - 3 * DAY, description="Ancient RULE"),
            "live": add(engine, "live", start=NOW - DAY, at=NOW - 2 * DAY,
                        user="alice"),
            "future": add(engine, "future", start=NOW + DAY,
                          at=NOW - DAY, description="later rule"),
            "gone": add(engine, "gone", start=NOW - DAY, at=NOW - DAY),
        }
        db.delete_script(engine, out["gone"].script_id, now=NOW,
                         deleted_by="bob")
        db.update_script(engine, out["future"].script_id,
                         {"description": "later rule 2"}, now=NOW,
                         updated_by="carol")
        return out

    def names(self, engine, **filters):
        return [s.name for s in db.list_scripts(
            engine, db.ScriptFilters(**filters), NOW)]

    def test_default_hides_deleted_oldest_first(self, engine, scripts):
        assert self.names(engine) == ["old", "live", "future"]
        assert self.names(engine, deleted=True) == [
            "old", "live", "future", "gone"]

    def test_time_filters(self, engine, scripts):
        assert self.names(engine, start=NOW - DAY) == ["live", "future"]
        assert self.names(engine, end=NOW) == ["old"]

    def test_user_filters(self, engine, scripts):
        assert self.names(engine, created_by="alice") == ["live"]
        assert self.names(engine, updated_by="carol") == ["future"]
        assert self.names(engine, deleted=True, deleted_by="bob") == [
            "gone"]

    def test_description_is_a_case_insensitive_substring(self, engine,
                                                         scripts):
        assert self.names(engine, description="rule") == ["old", "future"]
        assert self.names(engine, description="ANCIENT") == ["old"]
        assert self.names(engine, description="%") == []

    @pytest.mark.parametrize("field", ["created_by", "updated_by",
                                       "deleted_by", "description"])
    def test_nul_in_a_filter_is_refused(self, engine, field):
        with pytest.raises(exceptions.InvalidInput) as err:
            self.names(engine, **{field: "\x00"})
        assert err.value.field == field

    def test_is_active(self, engine, scripts):
        assert self.names(engine, is_active=True) == ["live"]
        assert self.names(engine, is_active=False) == ["old", "future"]


class TestActiveScripts:
    def test_only_scripts_active_at_the_time_in_creation_order(self,
                                                               engine):
        # Created in an order different from their names and starts.
        b = add(engine, "b", start=NOW - DAY, at=NOW - 3 * DAY)
        a = add(engine, "a", start=NOW - 2 * DAY, at=NOW - 2 * DAY)
        add(engine, "future", start=NOW + HOUR, at=NOW - DAY)
        add(engine, "ended", start=NOW - DAY, end=NOW, at=NOW - DAY)
        gone = add(engine, "gone", start=NOW - DAY, at=NOW - DAY)
        db.delete_script(engine, gone.script_id, now=NOW - HOUR)
        active = db.active_scripts(engine, NOW)
        assert [s.script_id for s in active] == [b.script_id, a.script_id]

    def test_same_creation_time_runs_in_insertion_order(self, engine):
        ids = [add(engine, name, start=NOW - DAY).script_id
               for name in ("z", "y", "x")]
        assert [s.script_id for s in db.active_scripts(engine, NOW)] == ids

    def test_window_is_start_inclusive_end_exclusive(self, engine):
        add(engine, "w", start=NOW, end=NOW + HOUR)
        assert [s.name for s in db.active_scripts(engine, NOW)] == ["w"]
        assert db.active_scripts(engine, NOW + HOUR) == []
        assert db.active_scripts(engine, NOW - HOUR) == []
