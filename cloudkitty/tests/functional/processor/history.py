"""The usage history the processor tests rate, and the rating it must give.

:class:`History` invents, for a few projects, two days of OpenStack-like
usage ending at the current hour: instances (a flavor each, alive for a
whole number of hours), volumes (a type each, a size that grows in steps
on hour boundaries) and network ports (byte counters growing at a constant
rate). It renders them as Prometheus series for
``prometheus_fixture.BackfilledPrometheus`` and, independently of
CloudKitty's collector and rating code, says what every scope-period must
hold once rated with :data:`PRICES`:

* instances: ``max(max_over_time(uptime))`` then ``NUMBOOL`` → 1 per
  instance alive during the hour;
* volumes: ``max(max_over_time(size))`` → the hour's size;
* ports: ``sum(delta(bytes))`` — recomputed here with Prometheus 2.x's
  extrapolation — read as a 9-digit decimal and scaled to MB.

Samples sit every :data:`STEP` seconds, :data:`OFFSET` seconds after a
multiple of the step, so none lies on a period boundary.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import uuid
from collections.abc import Iterator
from decimal import Decimal

from cloudkitty.tests.functional import prometheus_fixture as pf

__all__ = ["HOUR", "HOURS", "History", "METRICS_YML", "PRICES", "Point",
           "PriceList", "current_hour"]

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
#: Hours of history; the processor rates them from ``History.t0`` on.
HOURS = 48
STEP = 300
OFFSET = 30

INSTANCE_METRIC = "ck_proc_instance_uptime_seconds"
VOLUME_METRIC = "ck_proc_volume_size_gb"
NETWORK_METRIC = "ck_proc_network_bytes"
#: Only the broken project has series of it, two that ``label_replace``
#: in :data:`BROKEN_METRIC_YML` makes identical: Prometheus refuses to
#: answer ("vector cannot contain metrics with the same labelset").
BROKEN_METRIC = "ck_proc_duplicated"
BROKEN_SCOPE = "broken-project"

METRICS_YML = f"""\
metrics:
  {INSTANCE_METRIC}:
    alt_name: instance
    unit: instance
    mutate: NUMBOOL
    groupby: [instance_id, project_id]
    metadata: [flavor_name]
    extra_args: {{aggregation_method: max}}
  {VOLUME_METRIC}:
    alt_name: volume.size
    unit: GiB
    groupby: [volume_id, project_id]
    metadata: [volume_type]
    extra_args: {{aggregation_method: max}}
  {NETWORK_METRIC}:
    alt_name: network.bytes
    unit: MB
    factor: 1/1000000
    groupby: [port_id, project_id]
    extra_args: {{aggregation_method: sum, range_function: delta}}
"""

BROKEN_METRIC_YML = f"""\
  {BROKEN_METRIC}:
    alt_name: duplicated
    unit: thing
    groupby: [thing_id, project_id]
    extra_args:
      aggregation_method: max
      query_prefix: label_replace(
      query_suffix: ', "thing_id", "same", "thing_id", ".*")'
"""

FLAVORS = ("m1.tiny", "m1.small", "m1.large")
VOLUME_TYPES = ("standard", "ssd")


def current_hour() -> datetime.datetime:
    return datetime.datetime.now(UTC).replace(minute=0, second=0,
                                              microsecond=0)


@dataclasses.dataclass(frozen=True)
class PriceList:
    """The hashmap rules the tests create (with the real client) and the
    prices they imply, computed here by hand.

    * ``instance``: field ``flavor_name``, one flat mapping per flavor;
      ``tenant_flavor`` overrides one flavor for one project;
    * ``volume.size``: service flat (per GiB), field ``volume_type`` rate
      mapping for ``ssd``, service threshold of type rate from
      ``volume_threshold_level`` GiB on;
    * ``network.bytes``: service flat (per MB).
    """

    flavor_flat: dict[str, Decimal]
    tenant_flavor: tuple[str, str, Decimal]  # project, flavor, cost
    volume_flat: Decimal
    ssd_rate: Decimal
    volume_threshold_level: Decimal
    volume_threshold_rate: Decimal
    network_flat: Decimal

    def price(self, metric_type: str, qty: Decimal,
              desc: dict[str, str]) -> Decimal:
        if metric_type == "instance":
            project, flavor, cost = self.tenant_flavor
            if (desc["project_id"], desc["flavor_name"]) == (project, flavor):
                return qty * cost
            return qty * self.flavor_flat[desc["flavor_name"]]
        if metric_type == "volume.size":
            price = qty * self.volume_flat
            if desc["volume_type"] == "ssd":
                price *= self.ssd_rate
            if qty >= self.volume_threshold_level:
                price *= self.volume_threshold_rate
            return price
        if metric_type == "network.bytes":
            return qty * self.network_flat
        raise AssertionError(f"no price for {metric_type}")

    def with_threshold_rate(self, cost: Decimal) -> PriceList:
        return dataclasses.replace(self, volume_threshold_rate=cost)


def _project_id(index: int) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ck-processor-test-{index}").hex


PROJECTS = [_project_id(i) for i in range(6)]

PRICES = PriceList(
    flavor_flat={"m1.tiny": Decimal("0.25"), "m1.small": Decimal("0.5"),
                 "m1.large": Decimal("2")},
    tenant_flavor=(PROJECTS[1], "m1.small", Decimal("0.75")),
    volume_flat=Decimal("0.01"),
    ssd_rate=Decimal("1.5"),
    volume_threshold_level=Decimal("100"),
    volume_threshold_rate=Decimal("0.8"),
    network_flat=Decimal("0.02"),
)


@dataclasses.dataclass(frozen=True)
class Instance:
    project: str
    id: str
    flavor: str
    start: int  # first hour alive (relative to t0)
    end: int    # first hour gone


@dataclasses.dataclass(frozen=True)
class Volume:
    project: str
    id: str
    type: str
    start: int
    end: int
    base: int

    def size(self, hour: int) -> int:
        return self.base + 10 * (hour // 16)


@dataclasses.dataclass(frozen=True)
class Port:
    project: str
    id: str
    rate: int  # bytes per second
    base: int


@dataclasses.dataclass(frozen=True)
class Point:
    """What one rated data point must be."""

    metric_type: str
    qty: Decimal
    price: Decimal
    desc: tuple[tuple[str, str], ...]


def _delta(samples: list[tuple[int, float]], start: int, end: int) -> float:
    """PromQL ``delta`` (Prometheus 2.x): the increase between the first
    and last sample of ``[start, end]``, extrapolated to the range ends
    when they are near (float arithmetic in Prometheus' order)."""
    (t_first, first), (t_last, last) = samples[0], samples[-1]
    result = last - first
    sampled = float(t_last - t_first)
    average = sampled / (len(samples) - 1)
    threshold = average * 1.1
    interval = sampled
    to_start = float(t_first - start)
    to_end = float(end - t_last)
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return result * (interval / sampled)


def _as_qty(value: float) -> Decimal:
    """A Prometheus value as the collector reads it: 9 digits, half up."""
    with decimal.localcontext() as ctx:
        ctx.prec = 9
        ctx.rounding = decimal.ROUND_HALF_UP
        return +Decimal(repr(value))


class History:
    """Usage of ``projects`` over ``[t0, t0 + HOURS h)``."""

    def __init__(self, t0: datetime.datetime,
                 projects: list[str] | None = None) -> None:
        self.t0 = t0
        self.projects = list(projects or PROJECTS)
        self.instances: list[Instance] = []
        self.volumes: list[Volume] = []
        self.ports: list[Port] = []
        for p, project in enumerate(self.projects):
            for k in range(3):
                start = 0 if k == 0 else (7 * p + 5 * k) % 20
                life = 6 + (9 * p + 4 * k) % 30
                end = HOURS if k == 0 else min(HOURS, start + life)
                self.instances.append(Instance(
                    project, f"{project[:8]}-vm{k}",
                    FLAVORS[(p + k) % len(FLAVORS)], start, end))
            for k in range(2):
                start = 0 if k == 0 else 3 + p
                end = HOURS if k == 0 else HOURS - 2 * p
                self.volumes.append(Volume(
                    project, f"{project[:8]}-vol{k}", VOLUME_TYPES[k],
                    start, end, base=(20, 80, 95, 5, 150, 60)[p] + 5 * k))
            for k in range(2):
                self.ports.append(Port(project, f"{project[:8]}-port{k}",
                                       rate=1000 * (p + 1) + 250 * k,
                                       base=10 ** 9 * (k + 1)))

    @property
    def end(self) -> datetime.datetime:
        return self.t0 + HOURS * HOUR

    def hours(self) -> list[datetime.datetime]:
        """Start of every period of the history."""
        return [self.t0 + h * HOUR for h in range(HOURS)]

    def _times(self, first_hour: int, end_hour: int) -> list[int]:
        origin = int(self.t0.timestamp())
        return [t for t in range(origin + first_hour * 3600 + OFFSET,
                                 origin + end_hour * 3600, STEP)]

    def _counter(self, port: Port) -> list[tuple[int, float]]:
        origin = int(self.t0.timestamp())
        return [(t, float(port.base + port.rate * (t - origin)))
                for t in self._times(0, HOURS)]

    def series(self) -> list[pf.Series]:
        out: list[pf.Series] = []
        for vm in self.instances:
            boot = int(self.t0.timestamp()) + vm.start * 3600 - 1000
            out.append(pf.Series(INSTANCE_METRIC, {
                "project_id": vm.project, "instance_id": vm.id,
                "flavor_name": vm.flavor},
                [(t, float(t - boot)) for t in self._times(vm.start,
                                                           vm.end)]))
        for vol in self.volumes:
            origin = int(self.t0.timestamp())
            out.append(pf.Series(VOLUME_METRIC, {
                "project_id": vol.project, "volume_id": vol.id,
                "volume_type": vol.type},
                [(t, float(vol.size((t - origin) // 3600)))
                 for t in self._times(vol.start, vol.end)]))
        for port in self.ports:
            out.append(pf.Series(NETWORK_METRIC, {
                "project_id": port.project, "port_id": port.id},
                self._counter(port)))
        for k in range(2):
            out.append(pf.Series(BROKEN_METRIC, {
                "project_id": BROKEN_SCOPE, "thing_id": f"thing{k}"},
                [(t, 1.0) for t in self._times(0, HOURS)]))
        return out

    # -- what the rating must give ----------------------------------------

    def points(self, project: str, begin: datetime.datetime,
               prices: PriceList = PRICES) -> list[Point]:
        """The rated points of ``project`` for the period at ``begin``."""
        hour = round((begin - self.t0) / HOUR)
        if not 0 <= hour < HOURS:
            return []
        raw: list[tuple[str, Decimal, dict[str, str]]] = []
        for vm in self.instances:
            if vm.project == project and vm.start <= hour < vm.end:
                raw.append(("instance", Decimal(1), {
                    "project_id": project, "instance_id": vm.id,
                    "flavor_name": vm.flavor}))
        for vol in self.volumes:
            if vol.project == project and vol.start <= hour < vol.end:
                raw.append(("volume.size", Decimal(vol.size(hour)), {
                    "project_id": project, "volume_id": vol.id,
                    "volume_type": vol.type}))
        start = int(begin.timestamp())
        for port in self.ports:
            if port.project != project:
                continue
            window = [(t, v) for t, v in self._counter(port)
                      if start <= t <= start + 3600]
            qty = _as_qty(_delta(window, start, start + 3600)) \
                / Decimal(1_000_000)
            raw.append(("network.bytes", qty, {
                "project_id": project, "port_id": port.id}))
        return [Point(t, qty, prices.price(t, qty, desc),
                      tuple(sorted(desc.items())))
                for t, qty, desc in raw]

    def iter_points(self, projects: list[str] | None = None,
                    prices: PriceList = PRICES,
                    ) -> Iterator[tuple[str, datetime.datetime, Point]]:
        for project in projects or self.projects:
            for begin in self.hours():
                for point in self.points(project, begin, prices):
                    yield project, begin, point

    def totals(self, projects: list[str] | None = None,
               prices: PriceList = PRICES,
               ) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """``{(project, type): (qty, price)}`` over the whole history."""
        out: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        for project, _begin, point in self.iter_points(projects, prices):
            key = (project, point.metric_type)
            qty, price = out.get(key, (Decimal(0), Decimal(0)))
            out[key] = (qty + point.qty, price + point.price)
        return out

    def period_counts(self, projects: list[str] | None = None,
                      ) -> dict[tuple[str, datetime.datetime, str], int]:
        """``{(project, period start, type): number of points}``."""
        out: dict[tuple[str, datetime.datetime, str], int] = {}
        for project, begin, point in self.iter_points(projects):
            key = (project, begin, point.metric_type)
            out[key] = out.get(key, 0) + 1
        return out

    def period_sums(self, projects: list[str] | None = None,
                    prices: PriceList = PRICES,
                    ) -> dict[tuple[str, datetime.datetime, str],
                              tuple[Decimal, Decimal]]:
        """``{(project, period start, type): (qty, price)}``, summed."""
        out: dict[tuple[str, datetime.datetime, str],
                  tuple[Decimal, Decimal]] = {}
        for project, begin, point in self.iter_points(projects, prices):
            key = (project, begin, point.metric_type)
            qty, price = out.get(key, (Decimal(0), Decimal(0)))
            out[key] = (qty + point.qty, price + point.price)
        return out
