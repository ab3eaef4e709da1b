"""Contract: summaries on a month of data, every query shape (those rollups
answer and those that need the points) against the reference model,
before and after every kind of change."""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cloudkitty.dataframe import DataFrame
from cloudkitty.storage.state import ReprocessingSchedules
from cloudkitty.storage.v2 import base
from cloudkitty.storage.v2.base import ScopePeriod
from cloudkitty.tests.storage_contract._data import count
from cloudkitty.tests.storage_contract.model import MemoryStorage
from cloudkitty.tests.storage_factory import HOUR, T0, UTC, frame, point

__all__ = ["SHAPES", "TestSummaryShapes"]


JULY = T0
AUGUST = datetime.datetime(2019, 8, 1, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
PROJECTS = ("p1", "p2", "p3")
HOURS = (0, 7, 23)
#: Days around July 2019 (-2 is June 29th, 32 is August 2nd); those from
#: REPLACED_FROM on are stored through the processor's unit of work, the
#: others pushed.
DAYS = range(-2, 33)
REPLACED_FROM = 27


def month_frame(start: datetime.datetime, project: str,
                factor: str = "1") -> DataFrame:
    """One project's points of the period at ``start``; quantities and
    prices are multiples of 1/8, exact in any representation, so the
    sums test grouping, not rounding."""
    index = start.toordinal() + start.hour + int(project[1:])
    qty = Decimal(1 + index % 4) / 2
    price = qty * Decimal("0.25") * (1 + index % 3) * Decimal(factor)
    usage = {"cpu": [point(qty, price, project_id=project,
                           flavor="tiny" if index % 2 else "big",
                           metadata={"zone": "z1" if start.hour < 12
                                     else "z2"})]}
    if start.hour == 7:
        usage["ram"] = [point(qty * 2, price * 2, project_id=project,
                              unit="GiB")]
    return frame(start, usage)


def month_starts(days: Iterable[int]) -> list[datetime.datetime]:
    return [JULY + day * DAY + hour * HOUR for day in days for hour in HOURS]


#: ``name: total() arguments`` on the month of data: first the shapes that
#: rollups (sums per scope, type, period and collector time keys) can
#: answer, windows aligned to midnight or not, then those that need the
#: points themselves. All are compared with the reference model.
SHAPES: dict[str, dict[str, Any]] = {
    "none": {"begin": JULY, "end": AUGUST},
    "type": {"begin": JULY, "end": AUGUST, "groupby": ["type"]},
    "project": {"begin": JULY, "end": AUGUST, "groupby": ["project_id"]},
    "type+project": {"begin": JULY, "end": AUGUST,
                     "groupby": ["type", "project_id"]},
    "project+type": {"begin": JULY, "end": AUGUST,
                     "groupby": ["project_id", "type"]},
    "time-d": {"begin": JULY, "end": AUGUST, "groupby": ["time-d"]},
    "time-d+type": {"begin": JULY, "end": AUGUST,
                    "groupby": ["time-d", "type"]},
    "time-m+project": {"begin": JULY, "end": AUGUST,
                       "groupby": ["time-m", "project_id"]},
    "ten days time-d": {"begin": JULY + 9 * DAY, "end": JULY + 19 * DAY,
                        "groupby": ["time-d"]},
    "one day": {"begin": JULY + 14 * DAY, "end": JULY + 15 * DAY,
                "groupby": ["type"]},
    "unbounded type": {"groupby": ["type"]},
    "project filter": {"begin": JULY, "end": AUGUST, "groupby": ["type"],
                       "filters": {"project_id": ["p1", "p3"]}},
    "metric type": {"begin": JULY, "end": AUGUST,
                    "groupby": ["project_id"], "metric_types": "ram"},
    "type filter": {"begin": JULY, "end": AUGUST, "filters": {"type": "cpu"}},
    "paged type+project": {"begin": JULY, "end": AUGUST,
                           "groupby": ["type", "project_id"], "offset": 2,
                           "limit": 3, "paginate": True},
    "custom fields": {"begin": JULY, "end": AUGUST, "groupby": ["project_id"],
                      "custom_fields": "SUM(price) AS cost, COUNT(qty) AS n"},
    # Only the points can answer these:
    "time": {"begin": JULY, "end": AUGUST, "groupby": ["time"]},
    "time+project": {"begin": JULY + 9 * DAY, "end": JULY + 12 * DAY,
                     "groupby": ["time", "project_id"]},
    "metadata filter": {"begin": JULY, "end": AUGUST, "groupby": ["type"],
                        "filters": {"zone": "z1"}},
    "groupby key": {"begin": JULY, "end": AUGUST,
                    "groupby": ["flavor", "project_id"]},
    "groupby key filter": {"begin": JULY, "end": AUGUST,
                           "filters": {"flavor": "tiny"}},
    "unaligned": {"begin": JULY + 5 * HOUR, "end": AUGUST - 6 * HOUR,
                  "groupby": ["type"]},
    "unaligned time-d": {"begin": JULY + 5 * HOUR, "end": AUGUST - 6 * HOUR,
                         "groupby": ["time-d", "project_id"]},
}


def summaries(backend: base.BaseStorage) -> dict[str, base.TotalResult]:
    return {name: backend.total(**{"paginate": False, **kwargs})
            for name, kwargs in SHAPES.items()}


def _first_difference(got: base.TotalResult, want: base.TotalResult) -> str:
    if got["total"] != want["total"]:
        return f"total {got['total']}, expected {want['total']}"
    for index, (row, expected) in enumerate(
            zip(got["results"], want["results"], strict=False)):
        if row != expected:
            return f"row {index} is {row}, expected {expected}"
    return (f"{len(got['results'])} rows, expected "
            f"{len(want['results'])}")


def assert_same_summaries(storage: base.BaseStorage,
                          model: MemoryStorage) -> None:
    got, want = summaries(storage), summaries(model)
    for name in SHAPES:
        assert want[name]["results"], f"shape {name!r} selects no data"
    differ = [name for name in SHAPES if got[name] != want[name]]
    assert differ == [], "\n".join(
        f"{name}: {_first_difference(got[name], want[name])}"
        for name in differ)


def load_month(storage: base.BaseStorage, conf: Any) -> MemoryStorage:
    """The month of data in ``storage`` (pushed, then through
    ``replace_scope_periods``); returns the same data in the model."""
    model = MemoryStorage(conf)
    pushed = [month_frame(start, project)
              for start in month_starts(d for d in DAYS if d < REPLACED_FROM)
              for project in PROJECTS]
    storage.push(pushed)
    model.push(pushed)
    progress: dict[str, datetime.datetime | None] = dict.fromkeys(PROJECTS)
    for start in month_starts(d for d in DAYS if d >= REPLACED_FROM):
        items = [ScopePeriod(project, [month_frame(start, project)],
                             progress[project]) for project in PROJECTS]
        assert storage.replace_scope_periods(start, start + HOUR,
                                             items) == []
        for item in items:
            model.push(item.frames)
            progress[item.scope_id] = start
    return model


class TestSummaryShapes:
    def test_every_shape_sums_the_stored_points(self, storage, conf):
        model = load_month(storage, conf)
        assert count(storage) == count(model) == len(model.rows)
        assert_same_summaries(storage, model)

    def test_shapes_agree_with_each_other(self, storage, conf):
        load_month(storage, conf)
        window = {"begin": JULY, "end": AUGUST, "paginate": False}
        [whole] = storage.total(**window)["results"]
        for groupby in (["type"], ["project_id"], ["type", "project_id"],
                        ["time-d"], ["time"], ["flavor"]):
            rows = storage.total(groupby=groupby, **window)["results"]
            assert (sum(r["qty"] for r in rows),
                    sum(r["rate"] for r in rows)) == (whole["qty"],
                                                      whole["rate"]), groupby
        days = storage.total(groupby=["time-d"], **window)["results"]
        periods = storage.total(groupby=["time"], **window)["results"]
        by_day: dict[str, Decimal] = {}
        for row in periods:
            key = str(row["begin"].timetuple().tm_yday)
            by_day[key] = by_day.get(key, Decimal(0)) + row["rate"]
        assert {r["day_of_the_year"]: r["rate"] for r in days} == by_day
        assert len(days) == 31

    def test_shapes_stay_exact_through_every_change(self, storage, conf):
        model = load_month(storage, conf)
        # Reprocessing one period of one project at other prices.
        start = JULY + 14 * DAY + 7 * HOUR
        new = [month_frame(start, "p2", factor="3")]
        storage.replace_scope_period("p2", start, start + HOUR, new)
        model.delete(start, start + HOUR, {"project_id": "p2"})
        model.push(new)
        # The bulk unit of work, one scope stale.
        start = JULY + 20 * DAY
        items = [ScopePeriod("p1", [month_frame(start, "p1", "2")]),
                 ScopePeriod("p3", [], base.UNCHECKED),
                 ScopePeriod("p2", [month_frame(start, "p2", "5")],
                             JULY - 9 * DAY)]
        assert storage.replace_scope_periods(start, start + HOUR,
                                             items) == ["p2"]
        for item in items[:2]:
            model.delete(start, start + HOUR, {"project_id": item.scope_id})
            model.push(item.frames)
        # A reprocessing schedule's unit of work.
        [task] = ReprocessingSchedules(conf).create(
            "p3", JULY + 2 * DAY, JULY + 3 * DAY, "fix prices")
        start = JULY + 2 * DAY + 7 * HOUR
        new = [month_frame(start, "p3", factor="7")]
        storage.replace_scope_period("p3", start, start + HOUR, new,
                                     schedule_id=task.id)
        model.delete(start, start + HOUR, {"project_id": "p3"})
        model.push(new)
        # Deletes: by scope over a day, by type over half a day, by a
        # groupby key and by a metadata key over unaligned windows.
        deletes: list[tuple[datetime.datetime, datetime.datetime,
                            dict[str, Any]]] = [
            (JULY + 9 * DAY, JULY + 10 * DAY, {"project_id": "p3"}),
            (JULY + 6 * DAY, JULY + 6 * DAY + 12 * HOUR, {"type": "ram"}),
            (JULY + 3 * DAY + 5 * HOUR, JULY + 5 * DAY, {"flavor": "tiny"}),
            (JULY + 11 * DAY, JULY + 13 * DAY + 20 * HOUR,
             {"zone": "z2", "project_id": ["p1", "p2"]})]
        for begin, end, filters in deletes:
            storage.delete(begin, end, filters)
            model.delete(begin, end, filters)
        storage.reset_scope("p1", JULY + 25 * DAY)
        model.delete(JULY + 25 * DAY, None, {"project_id": "p1"})
        assert count(storage) == count(model)
        assert_same_summaries(storage, model)
