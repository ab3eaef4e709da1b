"""Batch catch-up without external services: scopes due at the same
period are collected with one request per metric, handed over in one
``rate_frames`` call (oslo.messaging's in-process ``fake://`` driver) and
stored in bulk on SQLite; a failing scope or a stale one leaves the
batch alone, and a worker holds the frames of one period at a time."""
from __future__ import annotations

import datetime
import gc
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent import futures
from decimal import Decimal
from typing import Any

import oslo_messaging as messaging
import pytest

from cloudkitty import exceptions
from cloudkitty.collector.base import BaseCollector
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.fetcher.base import BaseFetcher
from cloudkitty.processor import endpoints, locks, reset, rpcapi, schedule
from cloudkitty.processor import skip as skip_mod
from cloudkitty.processor.collect import collect_frames
from cloudkitty.processor.local import LocalRating, RatingGate
from cloudkitty.processor.loop import CollectorLoop
from cloudkitty.processor.rpcapi import ScopeFrame
from cloudkitty.processor.unit import BatchItem, RatingUnit
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import storage_factory

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
NOW = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
METRICS = {
    key: {"alt_name": key, "unit": unit, "groupby": ["id", "project_id"],
          "metadata": [], "extra_args": {}, "description": None}
    for key, unit in (("cpu", "core"), ("ram", "MiB"))
}


class TableCollector(BaseCollector):
    """A collector answering from a rule instead of a metrics source:
    scope ``s`` has ``resources`` points per metric and period (none for
    scopes in ``empty``); ``(metric, scope)`` pairs of ``refused`` fail,
    and a batch request including one of them fails as a whole, the way
    a PromQL error on one scope's series fails the shared query."""

    collector_name = "table"

    def __init__(self, conf: Any, *, resources: int = 2,
                 empty: Iterable[str] = (),
                 refused: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(conf, METRICS)
        self.resources = resources
        self.empty = set(empty)
        self.refused = set(refused)
        self.batch_requests: list[tuple[str, datetime.datetime, int]] = []
        self.single_requests: list[tuple[str, str]] = []

    def _points(self, key: str, scope_id: str) -> list[DataPoint]:
        if scope_id in self.empty:
            return []
        return [DataPoint(METRICS[key]["unit"], Decimal(i + 1), 0,
                          {"id": f"{scope_id}-{i}", "project_id": scope_id},
                          {})
                for i in range(self.resources)]

    def fetch_all(self, metric_key: str, start: datetime.datetime,
                  end: datetime.datetime, scope_id: str) -> list[DataPoint]:
        self.single_requests.append((metric_key, scope_id))
        if (metric_key, scope_id) in self.refused:
            raise self.collect_error(metric_key, scope_id, "refused")
        return self._points(metric_key, scope_id)

    def fetch_all_scopes(self, metric_key: str, start: datetime.datetime,
                         end: datetime.datetime, scope_ids: Iterable[str],
                         ) -> dict[str, list[DataPoint]]:
        scopes = list(scope_ids)
        self.batch_requests.append((metric_key, start, len(scopes)))
        if any((metric_key, s) in self.refused for s in scopes):
            raise self.collect_error(metric_key, None, "refused")
        return {s: self._points(metric_key, s) for s in scopes}


class ListFetcher(BaseFetcher):
    def __init__(self, conf: Any, scopes: list[str]) -> None:
        self.conf = conf
        self.scopes = scopes

    def get_scopes(self) -> list[str]:
        return list(self.scopes)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The processor's clock stays in the hour ``NOW`` was taken in, so a
    run crossing an hour does not make one more period due."""
    monkeypatch.setattr(schedule, "utcnow",
                        lambda: NOW + datetime.timedelta(minutes=30))


@pytest.fixture
def conf(migrated_conf: Any, make_conf: Any, db_url: str, tmp_path: Any
         ) -> Any:
    return storage_factory.storage_conf(
        make_conf, db_url,
        DEFAULT={"transport_url": "fake://",
                 "control_exchange": f"ck-{tmp_path.name}"},
        collect={"period": 3600, "wait_periods": 0},
        orchestrator={"coordination_url": f"file://{tmp_path}/locks",
                      "max_workers": 1, "max_threads": 4})


class Rig:
    """A collector loop and its rating workers: served over ``fake://``
    (``handover = "rpc"``) or called in-process (``"local"``)."""

    def __init__(self, conf: Any, scopes: list[str],
                 collector: TableCollector, handover: str) -> None:
        self.conf = conf
        self.collector = collector
        self.unit = RatingUnit(conf, get_storage(conf),
                               skip_mod.load_skip_expressions(
                                   conf, collector.metrics))
        self.server = endpoints.rating_server(conf, self.unit)
        self.server.start()
        self.rating: rpcapi.RatingClient | LocalRating = (
            rpcapi.RatingClient(conf, timeout=30) if handover == "rpc"
            else LocalRating(self.unit, RatingGate(2)))
        self.coordinator = locks.Coordinator(conf)
        self.loop = CollectorLoop(
            conf, coordinator=self.coordinator,
            fetcher=ListFetcher(conf, scopes), collector=collector,
            rating=self.rating)
        self.calls: list[tuple[datetime.datetime, list[str]]] = []
        original = self.rating.rate_frames

        def recorded(begin: datetime.datetime, end: datetime.datetime,
                     items: list[ScopeFrame]) -> rpcapi.BatchReply:
            self.calls.append((begin, [item.scope_id for item in items]))
            return original(begin, end, items)

        self.rating.rate_frames = recorded  # type: ignore[method-assign]

    def close(self) -> None:
        self.loop.close()
        self.server.stop()
        self.server.wait()
        self.coordinator.stop()


@pytest.fixture(params=["rpc", "local"])
def make_rig(conf: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    rigs: list[Rig] = []

    def make(scopes: list[str], collector: TableCollector | None = None,
             ) -> Rig:
        rig = Rig(conf, scopes, collector or TableCollector(conf),
                  request.param)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def seed(conf: Any, states: dict[str, datetime.datetime]) -> None:
    manager = StateManager(conf)
    for scope_id, last in states.items():
        manager.set_last_processed_timestamp(scope_id, last)


def stored_periods(conf: Any) -> dict[tuple[str, datetime.datetime], int]:
    """``{(scope, period start): points}`` in storage."""
    rows = get_storage(conf).total(
        groupby=["project_id", "time"], custom_fields="COUNT(qty) AS n",
        paginate=False)["results"]
    return {(row["project_id"], row["begin"]): int(row["n"])
            for row in rows}


def states(conf: Any, scopes: list[str]
           ) -> dict[str, datetime.datetime | None]:
    manager = StateManager(conf)
    return {s: manager.get_last_processed_timestamp(s) for s in scopes}


# -- the pieces ---------------------------------------------------------------

def test_chunks_are_bounded_by_points_and_keep_order() -> None:
    def item(scope: str, points: int) -> ScopeFrame:
        frame = DataFrame(NOW, NOW + HOUR, {"cpu": [
            DataPoint("core", i + 1, 0, {"id": str(i)}, {})
            for i in range(points)]})
        return ScopeFrame(scope, frame, None)

    items = [item("a", 3), item("b", 3), item("c", 0), item("d", 9),
             item("e", 1)]
    chunks = [[i.scope_id for i in chunk]
              for chunk in rpcapi.chunk_by_points(items, max_points=6)]
    # A scope bigger than the bound goes alone; empty frames ride along.
    assert chunks == [["a", "b", "c"], ["d"], ["e"]]


def test_batch_size_is_the_share_of_each_worker(make_conf: Any) -> None:
    def size(workers: int, batch: int, scopes: int) -> int:
        conf = make_conf({"orchestrator": {"max_workers": workers,
                                           "max_scopes_per_batch": batch}})
        loop = CollectorLoop.__new__(CollectorLoop)
        loop.conf = conf
        return loop.batch_size(scopes)

    assert size(1, 100, 20) == 20
    assert size(2, 100, 20) == 10
    assert size(3, 100, 20) == 7
    assert size(2, 4, 20) == 4
    assert size(4, 100, 0) == 1


def test_collect_frames_isolates_a_refused_scope(conf: Any) -> None:
    collector = TableCollector(conf, empty={"quiet"},
                               refused={("ram", "bad")})
    with futures.ThreadPoolExecutor(4) as pool:
        got = collect_frames(collector, ["a", "bad", "quiet", "b"], NOW,
                             NOW + HOUR, pool=pool, timeout=30)
    assert sorted(got.frames) == ["a", "b", "quiet"]
    assert list(got.failed) == ["bad"]
    assert "refused" in got.failed["bad"] and "ram" in got.failed["bad"]
    # One request per metric for all scopes; the refused metric then
    # scope by scope to find the culprit.
    assert sorted(k for k, _, n in collector.batch_requests if n == 4) == \
        ["cpu", "ram"]
    assert sorted(collector.single_requests) == [
        ("ram", s) for s in ("a", "b", "bad", "quiet")]
    assert len(got.frames["quiet"]) == 0
    frame = got.frames["a"]
    assert (frame.start, frame.end) == (NOW, NOW + HOUR)
    assert {t: len(p) for t, p in frame.itertypes()} == {"cpu": 2, "ram": 2}
    # Stamped the way the per-scope path stamps them.
    (_, point), *_ = frame.iterpoints()
    assert point.groupby["year"] == NOW.strftime("%Y")


def test_rating_unit_stores_fresh_scopes_and_drops_a_stale_one(
        conf: Any) -> None:
    begin = NOW - 5 * HOUR
    seed(conf, {"a": begin - HOUR, "b": begin - HOUR, "c": begin})
    collector = TableCollector(conf)
    unit = RatingUnit(conf, get_storage(conf),
                      skip_mod.load_skip_expressions(conf, METRICS))
    with futures.ThreadPoolExecutor(2) as pool:
        frames = collect_frames(collector, ["a", "b", "c"], begin,
                                begin + HOUR, pool=pool, timeout=30).frames
    reply = unit.rate_and_store_many(begin, begin + HOUR, [
        BatchItem(s, frames[s], begin - HOUR) for s in ("a", "b", "c")])
    assert reply["status"] == "done"
    assert reply["stored"] == {"a": 4, "b": 4}
    assert list(reply["stale"]) == ["c"] and reply["failed"] == {}
    assert stored_periods(conf) == {("a", begin): 4, ("b", begin): 4}
    assert states(conf, ["a", "b", "c"]) == {"a": begin, "b": begin,
                                             "c": begin}


# -- the loop -------------------------------------------------------------

def test_one_request_per_metric_and_period_and_one_call_per_period(
        conf: Any, make_rig: Any) -> None:
    scopes = [f"p{i}" for i in range(8)]
    first = NOW - 6 * HOUR
    seed(conf, {s: first - HOUR for s in scopes})
    rig = make_rig(scopes, TableCollector(conf, empty={"p3"}))
    assert rig.loop.run_cycle() is True
    periods = [first + i * HOUR for i in range(6)]
    assert sorted(rig.collector.batch_requests) == sorted(
        (key, p, 8) for key in METRICS for p in periods)
    assert rig.collector.single_requests == []
    assert [(b, sorted(s)) for b, s in rig.calls] == [
        (p, scopes) for p in periods]
    assert states(conf, scopes) == {s: NOW - HOUR for s in scopes}
    # The scope without data advanced with the others, storing nothing.
    assert stored_periods(conf) == {
        (s, p): 4 for s in scopes if s != "p3" for p in periods}


def test_scopes_behind_catch_up_then_move_together(conf: Any,
                                                   make_rig: Any) -> None:
    seed(conf, {"late": NOW - 6 * HOUR, "a": NOW - 3 * HOUR,
                "b": NOW - 3 * HOUR})
    rig = make_rig(["late", "a", "b"])
    assert rig.loop.run_cycle() is True
    assert [(b, sorted(s)) for b, s in rig.calls] == [
        (NOW - 5 * HOUR, ["late"]), (NOW - 4 * HOUR, ["late"]),
        (NOW - 3 * HOUR, ["late"]),
        (NOW - 2 * HOUR, ["a", "b", "late"]),
        (NOW - HOUR, ["a", "b", "late"])]
    assert states(conf, ["late", "a", "b"]) == dict.fromkeys(
        ["late", "a", "b"], NOW - HOUR)


def test_a_failing_scope_stops_alone_before_the_missing_period(
        conf: Any, make_rig: Any, caplog: pytest.LogCaptureFixture) -> None:
    scopes = ["a", "bad", "b"]
    seed(conf, {s: NOW - 4 * HOUR for s in scopes})
    rig = make_rig(scopes, TableCollector(conf, refused={("cpu", "bad")}))
    assert rig.loop.run_cycle() is False
    assert states(conf, scopes) == {"a": NOW - HOUR, "b": NOW - HOUR,
                                    "bad": NOW - 4 * HOUR}
    assert not any(scope == "bad" for scope, _ in stored_periods(conf))
    assert "Scope bad not rated further this cycle" in caplog.text


def test_a_metric_failing_for_every_scope_stores_nothing(
        conf: Any, make_rig: Any) -> None:
    scopes = ["a", "b", "c"]
    seed(conf, {s: NOW - 4 * HOUR for s in scopes})
    rig = make_rig(scopes, TableCollector(
        conf, refused={("ram", s) for s in scopes}))
    assert rig.loop.run_cycle() is False
    assert rig.calls == []
    assert stored_periods(conf) == {}
    assert states(conf, scopes) == dict.fromkeys(scopes, NOW - 4 * HOUR)


def test_a_scope_made_stale_meanwhile_is_dropped_and_retried(
        conf: Any, make_rig: Any) -> None:
    scopes = ["a", "b"]
    seed(conf, {s: NOW - 4 * HOUR for s in scopes})
    rig = make_rig(scopes)
    original = rig.rating.rate_frames
    moved: list[datetime.datetime] = []

    def move_b_first(begin: datetime.datetime, end: datetime.datetime,
                     items: list[ScopeFrame]) -> rpcapi.BatchReply:
        if not moved:
            # Someone else (a reset, a worker that lost its lock) moves
            # b's state before the batch is stored.
            StateManager(conf).set_last_processed_timestamp("b", begin)
            moved.append(begin)
        return original(begin, end, items)

    rig.rating.rate_frames = move_b_first  # type: ignore[method-assign]
    assert rig.loop.run_cycle() is False
    assert states(conf, scopes) == {"a": NOW - HOUR, "b": moved[0]}
    assert ("b", moved[0]) not in stored_periods(conf)
    # The next cycle takes b up from where it now is.
    assert rig.loop.run_cycle() is True
    assert states(conf, scopes) == dict.fromkeys(scopes, NOW - HOUR)
    assert sorted(stored_periods(conf)) == sorted(
        (s, NOW - h * HOUR) for s in scopes for h in (1, 2, 3)
        if (s, NOW - h * HOUR) != ("b", moved[0]))


def test_locked_and_inactive_scopes_stay_out_of_the_batch(
        conf: Any, make_rig: Any) -> None:
    scopes = ["a", "locked", "off"]
    seed(conf, {s: NOW - 3 * HOUR for s in scopes})
    StateManager(conf).update_state("off", active=False)
    rig = make_rig(scopes)
    key, fetcher, collector = StateManager(conf).current_keys()
    other = locks.Coordinator(conf)
    try:
        with other.try_lock(locks.scope_lock_name(
                "locked", collector, fetcher, key)) as taken:
            assert taken
            assert rig.loop.run_cycle() is True
    finally:
        other.stop()
    assert states(conf, scopes) == {"a": NOW - HOUR,
                                    "locked": NOW - 3 * HOUR,
                                    "off": NOW - 3 * HOUR}
    assert {s for _, batch in rig.calls for s in batch} == {"a"}


def test_frames_of_one_period_only_are_alive_at_a_time(
        conf: Any, make_rig: Any) -> None:
    scopes = [f"p{i}" for i in range(5)]
    periods = 16
    seed(conf, {s: NOW - (periods + 1) * HOUR for s in scopes})
    rig = make_rig(scopes, TableCollector(conf, resources=20))
    original = rig.rating.rate_frames
    alive: list[int] = []

    def counting(begin: datetime.datetime, end: datetime.datetime,
                 items: list[ScopeFrame]) -> rpcapi.BatchReply:
        gc.collect()
        # Only this test's frames: earlier tests' threads may still hold
        # theirs.
        alive.append(sum(
            isinstance(o, DataFrame) and any(
                p.groupby.get("project_id") in scopes
                for _, p in o.iterpoints())
            for o in gc.get_objects()))
        return original(begin, end, items)

    rig.rating.rate_frames = counting  # type: ignore[method-assign]
    assert rig.loop.run_cycle() is True
    assert len(alive) == periods
    # The batch's frames of the period in hand (and of the next one,
    # read ahead meanwhile), never the earlier ones.
    assert min(alive) >= len(scopes)
    assert max(alive) <= 2 * len(scopes), alive
    assert states(conf, scopes) == dict.fromkeys(scopes, NOW - HOUR)


def test_a_reset_waiting_for_a_lock_gets_it_during_a_long_catch_up(
        conf: Any, make_rig: Any) -> None:
    scopes = ["a", "b"]
    periods = 12
    seed(conf, {s: NOW - (periods + 1) * HOUR for s in scopes})
    rig = make_rig(scopes)
    rig.loop.LOCK_HOLD = 0.2
    original = rig.rating.rate_frames
    handed: list[datetime.datetime] = []
    fourth = threading.Event()

    def slow(begin: datetime.datetime, end: datetime.datetime,
             items: list[ScopeFrame]) -> rpcapi.BatchReply:
        time.sleep(0.1)
        reply = original(begin, end, items)
        handed.append(begin)
        if len(handed) >= 4:
            fourth.set()
        return reply

    rig.rating.rate_frames = slow  # type: ignore[method-assign]
    worker = threading.Thread(target=rig.loop.run_cycle)
    worker.start()
    assert fourth.wait(20)
    coordinator = locks.Coordinator(conf)
    reset_to = NOW - (periods - 1) * HOUR
    try:
        # Far shorter than what is left of the catch-up.
        reset.reset_scopes(conf, [reset.ScopeRef("b")], reset_to,
                           coordinator=coordinator, lock_timeout=1.0)
    finally:
        coordinator.stop()
        worker.join(30)
    assert not worker.is_alive()
    assert states(conf, scopes) == {"a": NOW - HOUR, "b": NOW - HOUR}
    # b was rated again from the reset on (it had gone past it): every
    # period stored once, nothing lost.
    assert handed.count(reset_to) == 2
    assert sorted(stored_periods(conf)) == sorted(
        (s, NOW - h * HOUR) for s in scopes for h in range(1, periods + 1))


# -- the wire ---------------------------------------------------------------

class OldRatingEndpoint(endpoints.RatingWorkerEndpoint):
    """A rating worker of RPC 1.1: no ``rate_frames``."""

    target = messaging.Target(version="1.1")
    rate_frames = None  # type: ignore[assignment]


def test_rate_frames_falls_back_to_rate_frame_on_a_1_1_worker(
        conf: Any) -> None:
    begin = NOW - 3 * HOUR
    seed(conf, {"a": begin - HOUR, "b": begin})
    collector = TableCollector(conf)
    unit = RatingUnit(conf, get_storage(conf),
                      skip_mod.load_skip_expressions(conf, METRICS))
    target = messaging.Target(topic=rpcapi.RATING_TOPIC, server="old")
    server = messaging.get_rpc_server(
        rpcapi.get_transport(conf), target, [OldRatingEndpoint(unit)],
        executor="threading")
    server.start()
    try:
        with futures.ThreadPoolExecutor(2) as pool:
            frames = collect_frames(collector, ["a", "b"], begin,
                                    begin + HOUR, pool=pool,
                                    timeout=30).frames
        client = rpcapi.RatingClient(conf, timeout=30)
        reply = client.rate_frames(begin, begin + HOUR, [
            ScopeFrame("a", frames["a"], begin - HOUR),
            ScopeFrame("b", frames["b"], begin - HOUR)])
    finally:
        server.stop()
        server.wait()
    assert reply.stored == {"a": 4}
    assert list(reply.stale) == ["b"] and reply.failed == {}
    assert stored_periods(conf) == {("a", begin): 4}


def test_a_malformed_batch_is_refused_whole(conf: Any) -> None:
    unit = RatingUnit(conf, get_storage(conf),
                      skip_mod.load_skip_expressions(conf, METRICS))
    endpoint = endpoints.RatingWorkerEndpoint(unit)
    reply = endpoint.rate_frames({}, NOW.isoformat(),
                                 (NOW + HOUR).isoformat(),
                                 [{"scope_id": "a"}])
    assert reply["status"] == "error" and "malformed" in reply["reason"]
    with pytest.raises(exceptions.InvalidInput):
        rpcapi.frame_from_wire({"period": {}})
