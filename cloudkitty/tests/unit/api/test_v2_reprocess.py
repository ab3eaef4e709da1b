"""/v2/task/reprocesses[/<scope_id>] (COMPAT.md §3.2), on SQLite."""
from __future__ import annotations

import datetime
from typing import Any

import pytest
import webtest

from cloudkitty.api import app
from cloudkitty.api.v2 import task
from cloudkitty.storage.state import ReprocessingSchedules, StateManager
from cloudkitty.tests.storage_factory import at
from cloudkitty.tests.unit.api.test_v2_scope import (  # noqa: F401
    ADMIN,
    MEMBER,
    conf_fixture,
    make_api_conf_fixture,
)

URL = "/v2/task/reprocesses"
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def client(conf) -> webtest.TestApp:
    return webtest.TestApp(app.build_wsgi_app(conf))


@pytest.fixture
def states(conf) -> StateManager:
    return StateManager(conf)


@pytest.fixture
def schedules(conf) -> ReprocessingSchedules:
    return ReprocessingSchedules(conf)


@pytest.fixture
def scopes(states) -> None:
    """Scopes a and b processed up to at(10), c (inactive) up to at(4)."""
    states.create_state("a", at(10))
    states.create_state("b", at(10))
    states.create_state("c", at(4), active=False)


def body(scope_ids: Any = ("a",), start: Any = None, end: Any = None,
         reason: Any = "new prices") -> dict[str, Any]:
    return {"scope_ids": list(scope_ids) if isinstance(scope_ids, tuple)
            else scope_ids,
            "start_reprocess_time": start or at(1).isoformat(),
            "end_reprocess_time": end or at(3).isoformat(),
            "reason": reason}


def windows(schedules: ReprocessingSchedules) -> list[tuple]:
    return [(s.scope_id, s.start_reprocess_time, s.end_reprocess_time,
             s.reason)
            for s in schedules.list_schedules(order="asc")]


@pytest.mark.usefixtures("scopes")
class TestPost:
    def test_one_schedule_per_scope(self, client, schedules) -> None:
        response = client.post_json(URL, body(("a", "b", "a")))
        assert response.status_int == 202
        assert response.json == {}
        assert windows(schedules) == [("a", at(1), at(3), "new prices"),
                                      ("b", at(1), at(3), "new prices")]

    def test_all_means_every_active_scope(self, client, schedules) -> None:
        client.post_json(URL, body("ALL"), status=202)
        assert [w[0] for w in windows(schedules)] == ["a", "b"]

    def test_a_named_inactive_scope_is_scheduled(self, client,
                                                 schedules) -> None:
        client.post_json(URL, body(("c",)), status=202)
        assert [w[0] for w in windows(schedules)] == ["c"]

    def test_times_with_offsets_and_the_clients_format(
            self, client, schedules) -> None:
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        client.post_json(URL, body(
            "a,b", start=at(1).astimezone(plus2).isoformat(),
            end="2019-07-01T03:00:00Z"), status=202)
        client.post_json(URL, body(
            "c", start="2019-07-01T01:00:00", end="2019-07-01T02:00:00"),
            status=202)
        assert windows(schedules) == [
            ("a", at(1), at(3), "new prices"),
            ("b", at(1), at(3), "new prices"),
            ("c", at(1), at(2), "new prices")]

    def test_start_equal_end_is_one_period(self, client, schedules) -> None:
        client.post_json(URL, body(start=at(2).isoformat(),
                                   end=at(2).isoformat()), status=202)
        assert windows(schedules) == [("a", at(2), at(2), "new prices")]

    def test_bounds_may_reach_the_last_processed_period(
            self, client, schedules) -> None:
        client.post_json(URL, body(start=at(10).isoformat(),
                                   end=at(10).isoformat()), status=202)
        assert len(windows(schedules)) == 1

    @pytest.mark.parametrize("request_body, field, text", [
        (body(("ALL", "a")), "scope_ids", "Cannot use 'ALL' with"),
        (body([]), "scope_ids", "must name at least one scope"),
        (body(reason="   "), "reason", "Empty or blank reason"),
        (body(start=at(3).isoformat(), end=at(1).isoformat()),
         "end_reprocess_time", "cannot be before start"),
        (body(("a", "nope", "b", "zz")), "scope_ids",
         "Scopes ['nope', 'zz'] scheduled to reprocess"),
        (body(start=at(11).isoformat(), end=at(11).isoformat()),
         "start_reprocess_time", "only processed up to"),
        (body(end=at(11).isoformat()), "end_reprocess_time",
         "only processed up to"),
        (body(("a", "c"), end=at(5).isoformat()), "end_reprocess_time",
         "Cannot reprocess scope 'c' up to end="),
    ])
    def test_refusals(self, client, schedules, request_body, field,
                      text) -> None:
        response = client.post_json(URL, request_body, status=400)
        assert text in response.json["message"]
        assert windows(schedules) == []

    @pytest.mark.parametrize("start, end, suggested", [
        (at(1) + 10 * datetime.timedelta(minutes=1), at(3),
         (at(1), at(3))),
        (at(1), at(3) + datetime.timedelta(seconds=1), (at(1), at(3))),
        (at(1) + datetime.timedelta(minutes=5),
         at(1) + datetime.timedelta(minutes=50), (at(1), at(2))),
    ])
    def test_unaligned_window_gets_a_suggestion(
            self, client, schedules, start, end, suggested) -> None:
        response = client.post_json(URL, body(start=start.isoformat(),
                                              end=end.isoformat()),
                                    status=400)
        message = response.json["message"]
        assert "(3600 seconds)" in message
        assert (f"start_reprocess_time={suggested[0].isoformat()}, "
                f"end_reprocess_time={suggested[1].isoformat()}") in message
        assert windows(schedules) == []

    def test_alignment_follows_the_configured_period(self, make_api_conf,
                                                     schedules) -> None:
        client = webtest.TestApp(app.build_wsgi_app(
            make_api_conf(collect={"period": 7200})))
        response = client.post_json(URL, body(start=at(1).isoformat(),
                                              end=at(4).isoformat()),
                                    status=400)
        assert (f"start_reprocess_time={at(0).isoformat()}, "
                f"end_reprocess_time={at(4).isoformat()}"
                ) in response.json["message"]
        client.post_json(URL, body(start=at(2).isoformat(),
                                   end=at(4).isoformat()), status=202)

    def test_overlap_with_an_unfinished_schedule(self, client,
                                                 schedules) -> None:
        client.post_json(URL, body(start=at(2).isoformat(),
                                   end=at(4).isoformat()), status=202)
        for start, end in ((0, 2), (4, 6), (3, 3), (0, 8)):
            response = client.post_json(URL, body(
                start=at(start).isoformat(), end=at(end).isoformat()),
                status=400)
            assert "already has an unfinished schedule" in \
                response.json["message"]
        # Other scopes and disjoint windows are free.
        client.post_json(URL, body(("b",), start=at(2).isoformat(),
                                   end=at(4).isoformat()), status=202)
        client.post_json(URL, body(start=at(5).isoformat(),
                                   end=at(6).isoformat()), status=202)
        assert len(windows(schedules)) == 3

    def test_a_finished_schedule_does_not_block(self, client,
                                                schedules) -> None:
        client.post_json(URL, body(), status=202)
        (done,) = schedules.list_schedules()
        schedules.set_current_time(done.id, at(3))
        client.post_json(URL, body(), status=202)
        assert len(windows(schedules)) == 2

    @pytest.mark.parametrize("request_body, field", [
        ({k: v for k, v in body().items() if k != "reason"}, "reason"),
        ({k: v for k, v in body().items() if k != "scope_ids"},
         "scope_ids"),
        (body(start="last tuesday"), "start_reprocess_time"),
        (body(end=12), "end_reprocess_time"),
        (body(reason=None), "reason"),
        ({**body(), "force": True}, "force"),
        # Found by the fuzz run: 0 was read as the scope id "0".
        (body(scope_ids=[0]), "scope_ids"),
    ])
    def test_bad_body_names_the_field(self, client, request_body,
                                      field) -> None:
        message = client.post_json(URL, request_body,
                                   status=400).json["message"]
        assert f"(path: '['{field}']')" in message


class TestGet:
    @pytest.fixture
    def three(self, schedules) -> None:
        schedules.create(["a"], at(0), at(2), "first")
        schedules.create(["b"], at(1), at(3), "second")
        (third,) = schedules.create(["a"], at(4), at(5), "third")
        schedules.set_current_time(third.id, at(4))

    def test_empty(self, client) -> None:
        assert client.get(URL).json == {"results": []}

    @pytest.mark.usefixtures("three")
    def test_documents_newest_first(self, client) -> None:
        assert client.get(URL).json == {"results": [
            {"scope_id": "a", "reason": "third",
             "start_reprocess_time": "2019-07-01T04:00:00",
             "end_reprocess_time": "2019-07-01T05:00:00",
             "current_reprocess_time": "2019-07-01T04:00:00"},
            {"scope_id": "b", "reason": "second",
             "start_reprocess_time": "2019-07-01T01:00:00",
             "end_reprocess_time": "2019-07-01T03:00:00",
             "current_reprocess_time": ""},
            {"scope_id": "a", "reason": "first",
             "start_reprocess_time": "2019-07-01T00:00:00",
             "end_reprocess_time": "2019-07-01T02:00:00",
             "current_reprocess_time": ""},
        ]}

    @pytest.mark.usefixtures("three")
    @pytest.mark.parametrize("path, reasons", [
        ("?order=asc", ["first", "second", "third"]),
        ("?order=DESC", ["third", "second", "first"]),
        ("?order=Asc&offset=1&limit=1", ["second"]),
        ("?scope_ids=a", ["third", "first"]),
        ("?scope_ids=b&scope_ids=a&order=ASC", ["first", "second", "third"]),
        ("?scope_ids=b,zz", ["second"]),
        ("/a", ["third", "first"]),
        ("/a?order=asc&limit=1", ["first"]),
        ("/b?scope_ids=a", ["second"]),
        ("/zz", []),
    ])
    def test_filters_order_and_pages(self, client, path, reasons) -> None:
        results = client.get(URL + path).json["results"]
        assert [r["reason"] for r in results] == reasons

    @pytest.mark.parametrize("query, field", [
        ("order=up", "order"), ("order=asc&order=desc", "order"),
        ("limit=0", "limit"), ("offset=x", "offset"), ("scope=a", "scope"),
    ])
    def test_bad_query(self, client, query, field) -> None:
        message = client.get(f"{URL}?{query}", status=400).json["message"]
        assert f"(path: '['{field}']')" in message

    @pytest.mark.usefixtures("three")
    def test_pagination_beyond_64_bits(self, client) -> None:
        # Found by the fuzz run: the database driver overflowed (500).
        huge = 10 ** 20
        assert len(client.get(f"{URL}?limit={huge}").json["results"]) == 3
        assert client.get(f"{URL}/a?offset={huge}").json == {"results": []}


@pytest.mark.usefixtures("scopes")
class TestPolicies:
    @pytest.fixture
    def keystone(self, make_api_conf) -> webtest.TestApp:
        return webtest.TestApp(app.setup_app(make_api_conf("keystone")))

    @pytest.mark.parametrize("method, path", [
        ("POST", ""), ("GET", ""), ("GET", "/a")])
    def test_admin_only(self, keystone, schedules, method, path) -> None:
        def send(headers: dict[str, str]) -> webtest.TestResponse:
            if method == "POST":
                return keystone.post_json(URL, body(), headers=headers,
                                          expect_errors=True)
            return keystone.get(URL + path, headers=headers,
                                expect_errors=True)

        response = send(MEMBER)
        assert response.status_int == 403
        assert response.json == {
            "message": "You are not authorized to perform this action"}
        assert windows(schedules) == []
        assert send(ADMIN).status_int in (200, 202)


def test_aligned_window() -> None:
    assert task.aligned_window(at(1), at(2), 3600) is None
    assert task.aligned_window(at(1), at(1) + HOUR / 2, 3600) == (
        at(1), at(2))
