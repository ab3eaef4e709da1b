#!/usr/bin/env python3
"""Throughput of the ``sqlalchemy`` v2 storage backend.

Stores ``--scopes`` × ``--periods`` scope-periods through the processor's
unit of work (``replace_scope_period``: delete the window, insert, advance
the state, one transaction), then times the summary queries the API runs.

    python benchmarks/storage_sqlalchemy.py                       # SQLite
    python benchmarks/storage_sqlalchemy.py --url postgresql+psycopg2://...

The database named by ``--url`` must be empty (SQLite: a new file is made
under a temporary directory when ``--url`` is omitted).
"""
from __future__ import annotations

import argparse
import datetime
import pathlib
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from oslo_config import cfg

from cloudkitty import service
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.db import migration
from cloudkitty.storage.v2.sqlalchemy import SQLAlchemyStorage

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 1, 1, tzinfo=UTC)
METRICS = ("instance", "volume.size", "ip.floating")


def _frame(scope: str, start: datetime.datetime, period: int,
           points: int, rnd: random.Random) -> DataFrame:
    keys = {
        "project_id": scope,
        "week_of_the_year": start.strftime("%U"),
        "day_of_the_year": str(start.timetuple().tm_yday),
        "month": str(start.month),
        "year": start.strftime("%Y"),
    }
    usage = {
        metric: [
            DataPoint("unit", Decimal(rnd.randint(1, 100)),
                      Decimal(rnd.randint(1, 10_000)) / 1000,
                      {**keys, "id": f"{metric}-{scope}-{i}"},
                      {"flavor_name": rnd.choice(("m1.tiny", "m1.small"))})
            for i in range(points)]
        for metric in METRICS}
    return DataFrame(start, start + datetime.timedelta(seconds=period), usage)


def _timed(label: str, func: Callable[[], Any],
           results: list[tuple[str, float, str]], note: str = "") -> Any:
    began = time.perf_counter()
    value = func()
    results.append((label, time.perf_counter() - began, note))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="empty database URL (default: SQLite)")
    parser.add_argument("--scopes", type=int, default=20)
    parser.add_argument("--periods", type=int, default=48)
    parser.add_argument("--points", type=int, default=10,
                        help="points per metric per scope-period")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="ck-bench-"))
    url = args.url or f"sqlite:///{workdir}/bench.sqlite"
    conf_file = workdir / "cloudkitty.conf"
    conf_file.write_text(
        f"[database]\nconnection = {url}\n[storage]\nbackend = sqlalchemy\n"
        "[fetcher]\nbackend = source\n[collect]\ncollector = prometheus\n")
    conf = service.prepare_service(["--config-file", str(conf_file)],
                                   conf=cfg.ConfigOpts(), setup_logging=False)
    engine = db_api.get_engine(conf)
    migration.upgrade(engine)
    storage = SQLAlchemyStorage(conf)
    rnd = random.Random(args.seed)
    period = 3600
    results: list[tuple[str, float, str]] = []

    frames = [(f"scope-{s:04d}", START + datetime.timedelta(hours=p))
              for p in range(args.periods) for s in range(args.scopes)]
    total_points = len(frames) * len(METRICS) * args.points
    tracemalloc.start()

    def store_all() -> None:
        for scope, start in frames:
            frame = _frame(scope, start, period, args.points, rnd)
            storage.replace_scope_period(
                scope, start, start + datetime.timedelta(seconds=period),
                [frame])

    _timed("replace_scope_period (all)", store_all, results,
           f"{len(frames)} scope-periods, {total_points} points")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    end = START + datetime.timedelta(hours=args.periods)
    _timed("total() no groupby", lambda: storage.total(
        begin=START, end=end), results)
    rows = _timed("total() groupby project_id,type", lambda: storage.total(
        groupby=["project_id", "type"], begin=START, end=end,
        paginate=False), results)
    _timed("total() groupby time-d,type", lambda: storage.total(
        groupby=["time-d", "type"], begin=START, end=end), results)
    _timed("total() one scope, groupby id", lambda: storage.total(
        groupby=["id"], begin=START, end=end,
        filters={"project_id": "scope-0001"}, paginate=False), results)
    _timed("retrieve() first page of 100", lambda: storage.retrieve(
        begin=START, end=end, limit=100), results)

    print(f"database: {engine.dialect.name}   scopes={args.scopes} "
          f"periods={args.periods} points/metric={args.points} "
          f"metrics={len(METRICS)}")
    for label, seconds, note in results:
        print(f"  {label:<36} {seconds * 1000:10.1f} ms  {note}")
    per_point = results[0][1] / total_points * 1e6
    print(f"  store: {total_points / results[0][1]:,.0f} points/s "
          f"({per_point:.1f} µs/point), peak traced memory "
          f"{peak / 2**20:.1f} MiB")
    print(f"  groups in project_id,type summary: {rows['total']}")
    engine.dispose()


if __name__ == "__main__":
    main()
