"""HashMap pricing: the arithmetic, with no database and no framework.

Standard library only (besides the project's equally pure ``dataframe``
and ``exceptions`` modules). :class:`RuleSetBuilder` receives rules in loading
order (global rules first, then the scope's) and merges them the way the
hashmap module always has; :class:`Pricer` compiles the result into lookup
tables and prices points.

Per point of metric type ``T`` (rated by the service named ``T``), each
group accumulates a ``flat`` (starts at 0, replaced only by a strictly
greater flat mapping, so flats <= 0 never apply), a ``rate`` (starts at 1,
multiplied by every rate mapping) and the reached threshold with the
highest level (strictly greater than the previous best, which starts at
-1). Then::

    field threshold:    flat += cost            (flat type)
                        rate *= cost            (rate type)
    g = rate * flat * qty
    service threshold:  g += cost               (flat type, added once)
                        g *= cost               (rate type)
    price = incoming price + g(group 1) + g(group 2) + ...

Groups are summed in the order they were first touched by a matching rule,
and every operation runs in the default decimal context (28 significant
digits, half-even), so results match upstream CloudKitty to the last digit.
"""
from __future__ import annotations

import dataclasses
import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.exceptions import RatingError

__all__ = ["DEFAULT_GROUP", "FLAT", "RATE", "MAP_TYPES", "Cost",
           "FieldRules", "ServiceRules", "RuleSet", "RuleSetBuilder",
           "Pricer", "CONTEXT"]

FLAT = "flat"
RATE = "rate"
MAP_TYPES = (FLAT, RATE)
#: Bucket of the rules that belong to no group. Rules are bucketed by group
#: *name*, so a group literally named ``_DEFAULT_`` shares this bucket, as
#: it always has.
DEFAULT_GROUP = "_DEFAULT_"
#: Python's default context, fixed here so that a caller's context
#: (threads, ``localcontext``) cannot change a price.
CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN,
                          traps=[decimal.InvalidOperation,
                                 decimal.DivisionByZero, decimal.Overflow])

_ZERO = Decimal(0)
_ONE = Decimal(1)
_ZERO_FLAT = (_ZERO, _ZERO)
_NO_LEVEL = Decimal(-1)
_MISSING: Any = object()


@dataclasses.dataclass(frozen=True, slots=True)
class Cost:
    """What a mapping or a threshold does: its type and its cost."""

    map_type: str
    cost: Decimal

    def __post_init__(self) -> None:
        if self.map_type not in MAP_TYPES:
            raise ValueError(f"map_type must be one of {MAP_TYPES}, not "
                             f"{self.map_type!r}")
        if not isinstance(self.cost, Decimal):
            raise TypeError("cost must be a Decimal")


@dataclasses.dataclass
class FieldRules:
    """Rules of one field: ``mappings[group][value]``,
    ``thresholds[group][level]``."""

    mappings: dict[str, dict[str, Cost]] = dataclasses.field(
        default_factory=dict)
    thresholds: dict[str, dict[Decimal, Cost]] = dataclasses.field(
        default_factory=dict)


@dataclasses.dataclass
class ServiceRules:
    """Rules of one service: at most one mapping per group, thresholds per
    group and level, and its fields in loading order."""

    mappings: dict[str, Cost] = dataclasses.field(default_factory=dict)
    thresholds: dict[str, dict[Decimal, Cost]] = dataclasses.field(
        default_factory=dict)
    fields: dict[str, FieldRules] = dataclasses.field(default_factory=dict)


#: Service name -> its rules.
RuleSet = dict[str, ServiceRules]


def _group(name: str | None) -> str:
    return name if name else DEFAULT_GROUP


class RuleSetBuilder:
    """Merges rules given in loading order into a :data:`RuleSet`.

    The loading order decides who wins: load global rules (no tenant)
    before the scope's, each in a stable order (the loader uses the rows'
    primary keys). A rule whose key is already present in its group --
    the value of a field mapping, the level of a threshold, or nothing for
    a service mapping (one per group) -- replaces the earlier one and keeps
    its position; so the scope's rules override global ones, and among
    rules of the same kind the last one loaded wins.
    """

    def __init__(self) -> None:
        self._rules: RuleSet = {}

    def add_service(self, service: str) -> ServiceRules:
        """Declare a service (services without rules price nothing)."""
        return self._rules.setdefault(service, ServiceRules())

    def add_field(self, service: str, field: str) -> FieldRules:
        """Declare a field; fields are applied in declaration order."""
        return self.add_service(service).fields.setdefault(
            field, FieldRules())

    def add_mapping(self, service: str, field: str | None,
                    group: str | None, value: str | None, map_type: str,
                    cost: Decimal) -> None:
        """A service mapping (``field`` None) or a field mapping.

        A field mapping without a value can never match (the API refuses
        to create one) and is ignored.
        """
        rule = Cost(map_type, cost)
        if field is None:
            self.add_service(service).mappings[_group(group)] = rule
        elif value:
            field_rules = self.add_field(service, field)
            field_rules.mappings.setdefault(_group(group), {})[value] = rule

    def add_threshold(self, service: str, field: str | None,
                      group: str | None, level: Decimal | None,
                      map_type: str, cost: Decimal) -> None:
        """A service threshold (``field`` None) or a field threshold.

        A threshold without a level can never be reached and is ignored.
        """
        if level is None:
            return
        rule = Cost(map_type, cost)
        if field is None:
            target = self.add_service(service).thresholds
        else:
            target = self.add_field(service, field).thresholds
        target.setdefault(_group(group), {})[level] = rule

    def build(self) -> RuleSet:
        return self._rules


# Compiled forms: plain tuples and dicts, read in the hot loop without
# attribute lookups or calls.
#
# A group's flat is held as a pair (flat, flat + 0): upstream adds the cost
# 0 of its "no threshold" placeholder to the flat, which rounds it to the
# context; the pair does that addition once per rule instead of per point.
_Flat = tuple[Decimal, Decimal]
# A mapping "hit" is (group, is_rate, cost, start) where ``start`` is what
# the group's value becomes when this is the first rule touching it: for a
# rate, ``1 * cost`` (rounded once, here); for a flat, its pair if the cost
# is positive, else the pair of 0.
_Hit = tuple[str, bool, Decimal, Any]
# A kept threshold: (level, is_rate, cost, on_service).
_Kept = tuple[Decimal, bool, Decimal, bool]
# Thresholds of one group, highest level first.
_Levels = tuple[str, tuple[_Kept, ...]]
# Per group, the highest reached threshold of one field.
_Reached = tuple[tuple[str, _Kept], ...]

#: Distinct values of one field whose reached thresholds are remembered.
_CACHE_SIZE = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class _CompiledField:
    name: str
    values: Mapping[str, tuple[_Hit, ...]]
    thresholds: tuple[_Levels, ...] | None
    #: str value -> what it reaches (only used when there are thresholds).
    reached: dict[str, _Reached]


@dataclasses.dataclass(frozen=True, slots=True)
class _CompiledService:
    name: str
    #: Group flats and rates once the service mappings applied; their
    #: order is the order the groups were touched in.
    flats: dict[str, _Flat]
    rates: dict[str, Decimal]
    thresholds: tuple[_Levels, ...]
    fields: tuple[_CompiledField, ...]


def _hit(group: str, rule: Cost) -> _Hit:
    if rule.map_type == RATE:
        return group, True, rule.cost, CONTEXT.multiply(_ONE, rule.cost)
    if rule.cost > 0:
        return group, False, rule.cost, (rule.cost,
                                         CONTEXT.add(rule.cost, _ZERO))
    return group, False, rule.cost, _ZERO_FLAT


def _levels(by_group: dict[str, dict[Decimal, Cost]],
            on_service: bool) -> tuple[_Levels, ...]:
    # Levels are unique per group (they are the keys), so "highest reached"
    # is the same as "strictly greater, first wins" over the group's list.
    return tuple(
        (group, tuple(sorted(
            ((level, rule.map_type == RATE, rule.cost, on_service)
             for level, rule in levels.items()),
            key=lambda kept: kept[0], reverse=True)))
        for group, levels in by_group.items() if levels)


def _reached(thresholds: tuple[_Levels, ...], level: Decimal) -> _Reached:
    reached = []
    for group, levels in thresholds:
        for kept in levels:
            if level >= kept[0]:
                reached.append((group, kept))
                break
    return tuple(reached)


def _compile_field(name: str, rules: FieldRules) -> _CompiledField:
    values: dict[str, list[_Hit]] = {}
    # Group order first, as upstream scans the rules group by group.
    for group, by_value in rules.mappings.items():
        for value, rule in by_value.items():
            values.setdefault(value, []).append(_hit(group, rule))
    thresholds = _levels(rules.thresholds, on_service=False)
    return _CompiledField(
        name, {value: tuple(hits) for value, hits in values.items()},
        thresholds or None, {})


def _compile_service(name: str, rules: ServiceRules) -> _CompiledService:
    flats: dict[str, _Flat] = {}
    rates: dict[str, Decimal] = {}
    for group, rule in rules.mappings.items():
        _, is_rate, _cost, start = _hit(group, rule)
        flats[group] = _ZERO_FLAT if is_rate else start
        if is_rate:
            rates[group] = start
    fields = tuple(_compile_field(field_name, field_rules)
                   for field_name, field_rules in rules.fields.items()
                   if field_rules.mappings or field_rules.thresholds)
    return _CompiledService(
        name, flats, rates, _levels(rules.thresholds, on_service=True),
        fields)


def _field_level(service: str, field: str, value: Any) -> Decimal:
    """A field value as a threshold level; floats go through ``str()``."""
    try:
        level = Decimal(str(value) if isinstance(value, float) else value)
    except (decimal.InvalidOperation, TypeError, ValueError):
        level = _MISSING
    if level is _MISSING or level.is_nan():
        raise RatingError(
            f"hashmap: field '{field}' of service '{service}' has thresholds"
            f" but its value {value!r} is not a number.",
            module="hashmap", service=service, field=field, value=value)
    return level


def _field_reached(service: _CompiledService, name: str,
                   value: Any) -> _Reached:
    """The thresholds ``value`` of field ``name`` reaches, per group
    (remembered for string values)."""
    field = next(f for f in service.fields if f.name == name)
    assert field.thresholds is not None
    reached = _reached(field.thresholds,
                       _field_level(service.name, name, value))
    if value.__class__ is str:
        if len(field.reached) >= _CACHE_SIZE:
            field.reached.clear()
        field.reached[value] = reached
    return reached


class Pricer:
    """Prices frames with a :data:`RuleSet`.

    The rules are compiled once, here; afterwards only a bounded memo of
    which thresholds a field value reaches changes, so an instance may be
    shared by threads.
    """

    def __init__(self, rules: RuleSet) -> None:
        self._services = {
            name: _compile_service(name, service_rules)
            for name, service_rules in rules.items()
            if service_rules.mappings or service_rules.thresholds
            or any(f.mappings or f.thresholds
                   for f in service_rules.fields.values())}

    @property
    def services(self) -> frozenset[str]:
        """Names of the services that have at least one rule."""
        return frozenset(self._services)

    def price_frame(self, frame: DataFrame) -> DataFrame:
        """A frame whose points of rated services carry their new price.

        Points of other metric types are kept as they are; the frame itself
        is returned when none of its metric types has rules.
        """
        usage: dict[str, Iterable[DataPoint]] = {}
        changed = False
        with decimal.localcontext(CONTEXT):
            for metric_type, points in frame.itertypes():
                service = self._services.get(metric_type)
                if service is None:
                    usage[metric_type] = points
                    continue
                changed = True
                usage[metric_type] = _price_points(service, points)
        if not changed:
            return frame
        return DataFrame(frame.start, frame.end, usage)

    def price_point(self, metric_type: str, point: DataPoint) -> DataPoint:
        """``point`` priced as a point of ``metric_type``."""
        service = self._services.get(metric_type)
        if service is None:
            return point
        with decimal.localcontext(CONTEXT):
            return _price_points(service, (point,))[0]


def _price_points(service: _CompiledService,
                  points: Iterable[DataPoint]) -> list[DataPoint]:
    """Price points of one service; runs inside ``localcontext(CONTEXT)``.

    The hot loop of the module, written flat on purpose (no helper calls
    per rule). ``flats`` doubles as the record of the groups touched by a
    matching rule, in first-touch order, which is the summation order.
    """
    zero_flat = _ZERO_FLAT
    one = _ONE
    no_level = _NO_LEVEL
    base_flats = service.flats
    base_rates = service.rates
    service_thresholds = service.thresholds
    fields = tuple((f.name, f.values or None, f.thresholds, f.reached)
                   for f in service.fields)
    out: list[DataPoint] = []
    append = out.append
    for point in points:
        flats = base_flats.copy()
        rates = base_rates.copy() if base_rates else {}
        best: dict[str, _Kept] = {}
        qty = point.qty

        for group, levels in service_thresholds:
            for kept in levels:
                if qty >= kept[0]:
                    if group not in flats:
                        flats[group] = zero_flat
                    if kept[0] > no_level:
                        best[group] = kept
                    break

        # ``in`` then ``[]`` is cheaper than mappingproxy.get().
        groupby = point.groupby
        metadata = point.metadata
        for name, values, thresholds, cache in fields:
            if name in groupby:
                value = groupby[name]
            elif name in metadata:
                value = metadata[name]
            else:
                continue
            is_str = value.__class__ is str
            hits = values and values.get(value if is_str else str(value))
            if hits:
                for group, is_rate, cost, start in hits:
                    if is_rate:
                        rate = rates.get(group)
                        if rate is None:
                            rates[group] = start
                            if group not in flats:
                                flats[group] = zero_flat
                        else:
                            rates[group] = rate * cost
                    else:
                        held = flats.get(group)
                        if held is None or cost > held[0]:
                            flats[group] = start
            if thresholds is not None:
                reached = cache.get(value) if is_str else None
                if reached is None:
                    reached = _field_reached(service, name, value)
                for group, kept in reached:
                    if group not in flats:
                        flats[group] = zero_flat
                    current = best.get(group)
                    if kept[0] > (no_level if current is None
                                  else current[0]):
                        best[group] = kept

        if not flats:
            append(point)
            continue
        price = point.price
        for group, (flat, flat_plus_0) in flats.items():
            if not best or group not in best:
                if rates and group in rates:
                    price += rates[group] * flat_plus_0 * qty
                else:
                    price += flat_plus_0 * qty
                continue
            _level, is_rate, cost, on_service = best[group]
            rate = rates[group] if rates and group in rates else one
            if on_service:
                subtotal = rate * flat * qty
                price += subtotal * cost if is_rate else subtotal + cost
            else:
                if is_rate:
                    rate *= cost
                else:
                    flat += cost
                price += rate * flat * qty
        append(point.set_price(price))
    return out
