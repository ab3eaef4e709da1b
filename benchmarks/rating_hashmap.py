#!/usr/bin/env python3
"""Throughput of the hashmap rating module.

Writes ``--services`` hashmap services with ``--fields`` fields each,
``--mappings`` mappings (one flat service mapping per service, the rest
field mappings spread over three groups, flat and rate) and a few service
and field thresholds into a database, loads them with
``HashMap.reload_config`` and prices a frame of ``--points`` points spread
evenly over the services, each point carrying every field (some values
match no mapping). Prints points per second (best of ``--repeat`` runs) and
the peak memory the pricing allocates.

    python benchmarks/rating_hashmap.py                 # 100k points, SQLite
    python benchmarks/rating_hashmap.py --profile       # plus a cProfile
    python benchmarks/rating_hashmap.py --url postgresql+psycopg2://...

The database named by ``--url`` must be empty (SQLite: a new file is made
under a temporary directory when ``--url`` is omitted).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import pathlib
import pstats
import random
import resource
import tempfile
import time
import tracemalloc
import uuid
from decimal import Decimal

import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty import service
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import api as db_api
from cloudkitty.db import migration
from cloudkitty.db.models.hashmap import (
    HashMapField,
    HashMapGroup,
    HashMapMapping,
    HashMapService,
    HashMapThreshold,
)
from cloudkitty.rating.hash import HashMap

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 1, 1, tzinfo=UTC)
RULES_START = datetime.datetime(2025, 1, 1)
GROUPS = (None, "compute", "licence")
SCOPE = "bench-project"
#: Values per field; points also use VALUES + 3 values that match nothing.
VALUES = 10


def _uid() -> str:
    return str(uuid.uuid4())


def _cost(rnd: random.Random) -> Decimal:
    return Decimal(rnd.randint(1, 100_000)) / 10_000


def write_rules(engine: sa.Engine, args: argparse.Namespace,
                rnd: random.Random) -> tuple[int, int]:
    """Insert the benchmark's rules; returns (mappings, thresholds)."""
    mapping_rows: list[dict[str, object]] = []
    threshold_rows: list[dict[str, object]] = []

    def mapping(cost: Decimal, map_type: str, *, service_id: int | None = None,
                field_id: int | None = None, value: str | None = None,
                group_id: int | None = None) -> None:
        mapping_rows.append({
            "mapping_id": _uid(), "value": value, "cost": cost,
            "map_type": map_type, "service_id": service_id,
            "field_id": field_id, "group_id": group_id, "tenant_id": None,
            "name": uuid.uuid4().hex, "created_at": RULES_START,
            "start": RULES_START, "created_by": "bench"})

    def threshold(level: int, cost: Decimal, map_type: str, *,
                  service_id: int | None = None,
                  field_id: int | None = None,
                  group_id: int | None = None) -> None:
        threshold_rows.append({
            "threshold_id": _uid(), "level": Decimal(level), "cost": cost,
            "map_type": map_type, "service_id": service_id,
            "field_id": field_id, "group_id": group_id, "tenant_id": None})

    with engine.begin() as connection:
        group_ids: list[int | None] = [None]
        for name in GROUPS[1:]:
            group_ids.append(connection.execute(
                sa.insert(HashMapGroup).values(group_id=_uid(), name=name)
                .returning(HashMapGroup.id)).scalar_one())
        field_ids: list[int] = []
        for s in range(args.services):
            service_id = connection.execute(
                sa.insert(HashMapService).values(
                    service_id=_uid(), name=f"service-{s:02d}")
                .returning(HashMapService.id)).scalar_one()
            mapping(_cost(rnd), "flat", service_id=service_id)
            threshold(20, Decimal("5"), "flat", service_id=service_id,
                      group_id=group_ids[1])
            threshold(40, Decimal("0.9"), "rate", service_id=service_id)
            for f in range(args.fields):
                field_id = connection.execute(
                    sa.insert(HashMapField).values(
                        field_id=_uid(), name=f"field{f}",
                        service_id=service_id)
                    .returning(HashMapField.id)).scalar_one()
                field_ids.append(field_id)
                if f == args.fields - 1:  # the numeric field
                    for level in (8, 32, 64):
                        threshold(level, Decimal(level) / 100, "flat",
                                  field_id=field_id, group_id=group_ids[2])
        pairs = [(field_id, v) for v in range(VALUES)
                 for field_id in field_ids]
        for field_id, v in pairs[:max(0, args.mappings - args.services)]:
            mapping(_cost(rnd) if v % 3 else Decimal("1.5"),
                    "rate" if v % 3 == 0 else "flat", field_id=field_id,
                    value=f"v{v}", group_id=group_ids[v % len(GROUPS)])
        connection.execute(sa.insert(HashMapMapping), mapping_rows)
        connection.execute(sa.insert(HashMapThreshold), threshold_rows)
    return len(mapping_rows), len(threshold_rows)


def make_frame(args: argparse.Namespace, rnd: random.Random) -> DataFrame:
    keys = {"project_id": SCOPE, "week_of_the_year": "00",
            "day_of_the_year": "1", "month": "1", "year": "2026"}
    per_service = args.points // args.services
    usage: dict[str, list[DataPoint]] = {}
    for s in range(args.services):
        points = usage[f"service-{s:02d}"] = []
        for i in range(per_service):
            # Half of the fields in groupby, half in metadata, as collectors
            # split them; the last field carries a number.
            values = {f"field{f}": f"v{rnd.randrange(VALUES + 3)}"
                      for f in range(args.fields - 1)}
            values[f"field{args.fields - 1}"] = str(rnd.randint(1, 100))
            names = sorted(values)
            half = len(names) // 2
            points.append(DataPoint(
                "instance", Decimal(rnd.randint(1, 50)), 0,
                {**keys, "id": f"r-{s}-{i}",
                 **{n: values[n] for n in names[:half]}},
                {n: values[n] for n in names[half:]}))
    return DataFrame(START, START + datetime.timedelta(hours=1), usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="empty database URL (default: SQLite)")
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--fields", type=int, default=5)
    parser.add_argument("--mappings", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true",
                        help="print the 15 costliest functions (cProfile)")
    args = parser.parse_args()

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="ck-bench-"))
    url = args.url or f"sqlite:///{workdir}/bench.sqlite"
    conf_file = workdir / "cloudkitty.conf"
    conf_file.write_text(f"[database]\nconnection = {url}\n")
    conf = service.prepare_service(["--config-file", str(conf_file)],
                                   conf=cfg.ConfigOpts(), setup_logging=False)
    engine = db_api.get_engine(conf)
    migration.upgrade(engine)
    rnd = random.Random(args.seed)
    n_mappings, n_thresholds = write_rules(engine, args, rnd)
    frame = make_frame(args, rnd)

    module = HashMap(conf, scope_id=SCOPE, engine=engine)
    began = time.perf_counter()
    module.reload_config(START)
    load_seconds = time.perf_counter() - began

    # CPU time of this process: the figure for one core, not inflated when
    # other processes take the CPU away.
    timings = []
    walls = []
    for _ in range(args.repeat):
        gc.collect()
        began, began_wall = time.process_time(), time.perf_counter()
        rated = module.process(frame)
        timings.append(time.process_time() - began)
        walls.append(time.perf_counter() - began_wall)
        del rated
    best = min(timings)

    gc.collect()
    tracemalloc.start()
    rated = module.process(frame)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = sum(p.price for _t, p in rated.iterpoints())
    priced = sum(1 for _t, p in rated.iterpoints() if p.price)

    print(f"database: {engine.dialect.name}  services={args.services} "
          f"fields/service={args.fields} mappings={n_mappings} "
          f"thresholds={n_thresholds} points={len(frame)}")
    print(f"  reload_config: {load_seconds * 1000:.1f} ms")
    print(f"  process: best {best * 1000:.1f} ms CPU of {args.repeat} runs "
          f"-> {len(frame) / best:,.0f} points/s "
          f"({best / len(frame) * 1e6:.2f} µs/point); best wall time "
          f"{min(walls) * 1000:.1f} ms")
    print(f"  peak memory allocated while pricing: {peak / 2**20:.1f} MiB; "
          f"process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          f" MiB")
    print(f"  priced points: {priced}, sum of prices: {total}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        module.process(frame)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    engine.dispose()


if __name__ == "__main__":
    main()
