"""Deterministic rated points for the summary benchmark.

Standard library only: the loader imports it under upstream's virtualenv
as well as ours, so both sides store exactly the same points.

Every project owns a fixed set of resources (instances, volumes, images,
ports counted twice for in/out traffic, floating IPs), alive for the whole
window; each resource gives one rated point per hour, already priced with
the benchmarks' flat price list. Groupby keys are the ones the collector
stamps (resource id, ``project_id`` and the four calendar keys), so
``groupby=time-d`` works on both sides.
"""
from __future__ import annotations

import datetime
import hashlib
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

#: Per metric type: (id label, unit, resources per project, unit price,
#: metadata key, quantity range).
METRICS: dict[str, tuple[str, str, int, str, str, tuple[float, float]]] = {
    "instance": ("instance_id", "instance", 6, "0.05", "flavor_name",
                 (1, 1)),
    "volume.size": ("volume_id", "GiB", 4, "0.002", "volume_type",
                    (1, 500)),
    "image.size": ("image_id", "MiB", 2, "0.0001", "disk_format",
                   (10, 4000)),
    "network.incoming.bytes": ("port_id", "MB", 3, "0.00001",
                               "instance_id", (0, 900)),
    "network.outgoing.bytes": ("port_id", "MB", 3, "0.00002",
                               "instance_id", (0, 300)),
    "ip.floating": ("floating_ip_id", "ip", 2, "0.01",
                    "floating_ip_address", (1, 1)),
}

#: Price per unit of each metric type: the hashmap flat rules both sides
#: get (a flat mapping prices each point at cost × qty).
PRICES = {name: spec[3] for name, spec in METRICS.items()}

POINTS_PER_PROJECT_HOUR = sum(spec[2] for spec in METRICS.values())


class Point(NamedTuple):
    metric_type: str
    unit: str
    qty: Decimal
    price: Decimal
    groupby: dict[str, str]
    metadata: dict[str, str]


def _uid(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:32]


def project_ids(projects: int, seed: int = 1) -> list[str]:
    return [_uid("project", seed, i) for i in range(projects)]


def calendar_groupby(start: datetime.datetime) -> dict[str, str]:
    """The calendar keys the collector adds to every point."""
    return {"week_of_the_year": start.strftime("%U"),
            "day_of_the_year": str(start.timetuple().tm_yday),
            "month": str(start.month), "year": start.strftime("%Y")}


def project_points(project: str, start: datetime.datetime,
                   seed: int = 1) -> Iterator[Point]:
    """The rated points of one project for the hour at ``start``."""
    rng = random.Random(f"{seed}/{project}/{start.isoformat()}")
    calendar = calendar_groupby(start)
    for metric_type, (key, unit, count, price, meta_key,
                      (low, high)) in METRICS.items():
        unit_price = Decimal(price)
        for index in range(count):
            resource = _uid(project, metric_type, index)
            if low == high:
                qty = Decimal(low)
            else:
                qty = Decimal(f"{rng.uniform(low, high):.3f}")
            yield Point(metric_type, unit, qty, qty * unit_price,
                        {key: resource, "project_id": project, **calendar},
                        {meta_key: f"{meta_key}-{index % 3}"})


def hours(begin: datetime.datetime, count: int
          ) -> Iterator[datetime.datetime]:
    for offset in range(count):
        yield begin + datetime.timedelta(hours=offset)


def spec_points(spec: dict[str, Any]) -> int:
    return (spec["projects"] * spec["hours"]
            * POINTS_PER_PROJECT_HOUR)
