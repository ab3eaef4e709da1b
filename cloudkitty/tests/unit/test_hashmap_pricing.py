"""HashMap pricing arithmetic (pure: no database).

Every case states its rules, its point and the expected price, with the
price worked out by hand in the ``why`` column from the formula of
COMPAT.md §8.3::

    per group: g = rate × flat × qty   (flat: most expensive flat mapping,
    plus a field flat threshold; rate: product of the rate mappings, times
    a field rate threshold), then + service flat threshold or × service
    rate threshold; price = incoming price + Σ g.
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.rating.hash.pricing import (
    DEFAULT_GROUP,
    Cost,
    Pricer,
    RuleSetBuilder,
)

D = Decimal
SERVICE = "compute"
Rule = Callable[[RuleSetBuilder], None]


# Rule factories: each returns what to add to a builder.
def svc_map(cost: str, map_type: str = "flat", group: str | None = None,
            service: str = SERVICE) -> Rule:
    return lambda b: b.add_mapping(service, None, group, None, map_type,
                                   D(cost))


def field_map(field: str, value: str, cost: str, map_type: str = "flat",
              group: str | None = None) -> Rule:
    return lambda b: b.add_mapping(SERVICE, field, group, value, map_type,
                                   D(cost))


def svc_thr(level: str, cost: str, map_type: str = "flat",
            group: str | None = None) -> Rule:
    return lambda b: b.add_threshold(SERVICE, None, group, D(level),
                                     map_type, D(cost))


def field_thr(field: str, level: str, cost: str, map_type: str = "flat",
              group: str | None = None) -> Rule:
    return lambda b: b.add_threshold(SERVICE, field, group, D(level),
                                     map_type, D(cost))


def declare_field(field: str) -> Rule:
    return lambda b: (b.add_field(SERVICE, field), None)[1]


def pricer(*rules: Rule) -> Pricer:
    builder = RuleSetBuilder()
    for rule in rules:
        rule(builder)
    return Pricer(builder.build())


def pt(qty: str = "1", price: str = "0",
       groupby: Mapping[str, Any] | None = None,
       metadata: Mapping[str, Any] | None = None) -> DataPoint:
    return DataPoint("unit", qty, price, groupby or {}, metadata or {})


@dataclasses.dataclass
class Case:
    id: str
    rules: tuple[Rule, ...]
    point: DataPoint
    expected: str
    why: str


CASES = [
    # --- The probe results of COMPAT.md §8.3 -----------------------------
    Case("probe-service-flat-field-rate",
         (svc_map("1"), field_map("flavor", "m1", "2", "rate")),
         pt("3", groupby={"flavor": "m1"}), "6",
         "flat 1, rate 2 in _DEFAULT_: 2 × 1 × 3 = 6"),
    Case("probe-field-does-not-match",
         (svc_map("1"), field_map("flavor", "m1", "2", "rate")),
         pt("3", groupby={"flavor": "m2"}), "3",
         "only the service flat: 1 × 1 × 3 = 3"),
    Case("probe-two-flats-most-expensive",
         (field_map("flavor", "m1", "5"), field_map("image", "i1", "7")),
         pt("2", groupby={"flavor": "m1", "image": "i1"}), "14",
         "max(5, 7) = 7; 1 × 7 × 2 = 14"),
    Case("probe-service-and-field-flats",
         (svc_map("5"), field_map("flavor", "m1", "7")),
         pt("2", groupby={"flavor": "m1"}), "14",
         "max(5, 7) × 2 = 14"),
    Case("probe-service-threshold-not-reached",
         (svc_map("1"), svc_thr("10", "100"), svc_thr("20", "0.5", "rate")),
         pt("5"), "5", "no level <= 5: 1 × 1 × 5 = 5"),
    Case("probe-service-threshold-flat",
         (svc_map("1"), svc_thr("10", "100"), svc_thr("20", "0.5", "rate")),
         pt("10"), "110", "level 10 kept: 1 × 10 = 10, + 100 once = 110"),
    Case("probe-service-threshold-rate",
         (svc_map("1"), svc_thr("10", "100"), svc_thr("20", "0.5", "rate")),
         pt("25"), "12.5",
         "levels 10, 20 reached, 20 kept: 1 × 25 = 25, × 0.5 = 12.5"),
    Case("probe-service-threshold-level-is-inclusive",
         (svc_map("1"), svc_thr("10", "100"), svc_thr("20", "0.5", "rate")),
         pt("20"), "10", "qty 20 >= 20: 20 × 0.5 = 10"),
    Case("probe-composite-34.4",
         (svc_map("1"),
          field_map("vcpus", "8", "16", group="instance_uptime_flavor"),
          field_thr("memory", "64", "0.15", group="memory"),
          field_thr("memory", "128", "0.2", group="memory")),
         pt("2", groupby={"vcpus": "8", "memory": "512"}), "34.4",
         "group instance_uptime_flavor 16 × 2 = 32; _DEFAULT_ 1 × 2 = 2; "
         "group memory: 128 kept, flat 0 + 0.2 = 0.2 × 2 = 0.4; "
         "32 + 2 + 0.4 = 34.4"),
    Case("composite-field-threshold-in-default-group",
         (svc_map("1"), field_map("vcpus", "8", "16", group="flavor"),
          field_thr("memory", "128", "0.2")),
         pt("2", groupby={"vcpus": "8", "memory": "128"}), "34.4",
         "flavor 16 × 2 = 32; _DEFAULT_ (1 + 0.2) × 2 = 2.4; 34.4"),
    # --- Groups ------------------------------------------------------------
    Case("rate-only-group-prices-zero",
         (field_map("flavor", "m1", "2", "rate"),),
         pt("3", groupby={"flavor": "m1"}), "0",
         "rate 2, flat stays 0: 2 × 0 × 3 = 0"),
    Case("rate-in-other-group-than-flat-prices-zero",
         (svc_map("1"), field_map("flavor", "m1", "2", "rate", group="g")),
         pt("3", groupby={"flavor": "m1"}), "3",
         "_DEFAULT_ 1 × 3 = 3; g: 2 × 0 × 3 = 0; 3"),
    Case("groups-are-summed",
         (field_map("flavor", "m1", "2", group="a"),
          field_map("image", "i1", "3", group="b"), svc_map("0.5")),
         pt("2", groupby={"flavor": "m1", "image": "i1"}), "11",
         "_DEFAULT_ 0.5 × 2 = 1; a 2 × 2 = 4; b 3 × 2 = 6; 11"),
    Case("multiple-rates-multiply",
         (svc_map("2"), field_map("flavor", "m1", "1.5", "rate"),
          field_map("image", "i1", "3", "rate")),
         pt("1", groupby={"flavor": "m1", "image": "i1"}), "9",
         "1.5 × 3 × 2 × 1 = 9"),
    Case("service-rate-and-field-rate-multiply",
         (svc_map("0.5", "rate"), field_map("flavor", "m1", "4"),
          field_map("image", "i1", "3", "rate")),
         pt("2", groupby={"flavor": "m1", "image": "i1"}), "12",
         "rate 0.5 × 3 = 1.5, flat 4: 1.5 × 4 × 2 = 12"),
    Case("service-mappings-in-two-groups",
         (svc_map("1"), svc_map("2", group="g")), pt("3"), "9",
         "_DEFAULT_ 1 × 3 + g 2 × 3 = 9"),
    # --- Flats -------------------------------------------------------------
    Case("negative-flat-is-ignored",
         (svc_map("1"), field_map("flavor", "m1", "-5")),
         pt("2", groupby={"flavor": "m1"}), "2",
         "-5 is not > 1: 1 × 2 = 2"),
    Case("negative-flat-alone-prices-zero",
         (field_map("flavor", "m1", "-5"),),
         pt("2", groupby={"flavor": "m1"}), "0",
         "-5 is not > 0: flat 0 × 2 = 0"),
    Case("zero-flat-with-rate-prices-zero",
         (field_map("flavor", "m1", "0"), field_map("image", "i1", "5",
                                                     "rate")),
         pt("2", groupby={"flavor": "m1", "image": "i1"}), "0",
         "flat 0, rate 5: 5 × 0 × 2 = 0"),
    Case("cheaper-flat-after-dearer-one-is-ignored",
         (field_map("flavor", "m1", "7"), field_map("image", "i1", "5")),
         pt("1", groupby={"flavor": "m1", "image": "i1"}), "7",
         "7 then 5 (not > 7): 7 × 1 = 7"),
    # --- Thresholds ------------------------------------------------------
    Case("highest-reached-field-threshold-only",
         (svc_map("1"), field_thr("memory", "64", "0.15"),
          field_thr("memory", "128", "0.2")),
         pt("1", groupby={"memory": "256"}), "1.2",
         "64 and 128 reached, 128 kept: (1 + 0.2) × 1 = 1.2"),
    Case("field-threshold-below-level",
         (svc_map("1"), field_thr("memory", "64", "0.15")),
         pt("1", groupby={"memory": "63.99"}), "1",
         "63.99 < 64: 1 × 1 = 1"),
    Case("field-threshold-rate",
         (svc_map("2"), field_thr("memory", "64", "0.5", "rate")),
         pt("3", groupby={"memory": "64"}), "3",
         "rate 1 × 0.5, flat 2: 0.5 × 2 × 3 = 3"),
    Case("field-threshold-flat-alone",
         (field_thr("memory", "64", "0.5"),),
         pt("3", groupby={"memory": "100"}), "1.5",
         "flat 0 + 0.5 = 0.5 × 3 = 1.5"),
    Case("service-threshold-flat-alone-added-once",
         (svc_thr("10", "100"),), pt("10"), "100",
         "flat 0 × 10 = 0, + 100 = 100"),
    Case("service-threshold-rate-alone",
         (svc_thr("10", "3", "rate"),), pt("10"), "0",
         "0 × 10 = 0, × 3 = 0"),
    Case("service-threshold-rate-with-field-rate",
         (svc_map("2"), field_map("flavor", "m1", "3", "rate"),
          svc_thr("1", "0.1", "rate")),
         pt("4", groupby={"flavor": "m1"}), "2.4",
         "3 × 2 × 4 = 24, × 0.1 = 2.4"),
    Case("tie-service-threshold-wins",
         (svc_map("1"), svc_thr("10", "100"),
          field_thr("memory", "10", "5")),
         pt("10", groupby={"memory": "10"}), "110",
         "both level 10, service first and field not strictly greater: "
         "1 × 10 + 100 = 110"),
    Case("higher-field-threshold-beats-service-threshold",
         (svc_map("1"), svc_thr("10", "100"),
          field_thr("memory", "11", "5")),
         pt("10", groupby={"memory": "11"}), "60",
         "field level 11 > 10 kept: (1 + 5) × 10 = 60, no +100"),
    Case("tie-between-fields-first-field-wins",
         (svc_map("1"), field_thr("memory", "8", "2"),
          field_thr("disk", "8", "3")),
         pt("1", groupby={"memory": "8", "disk": "8"}), "3",
         "memory declared first, disk's 8 not > 8: (1 + 2) × 1 = 3"),
    Case("thresholds-of-other-groups-apply-separately",
         (svc_map("1"), field_thr("memory", "8", "2", group="g"),
          svc_thr("1", "10")),
         pt("2", groupby={"memory": "8"}), "16",
         "_DEFAULT_ 1 × 2 + 10 = 12; g (0 + 2) × 2 = 4; 16"),
    Case("threshold-level-minus-one-never-kept",
         (svc_map("1"), svc_thr("-1", "100")), pt("2"), "2",
         "a kept level must be > -1: 1 × 2 = 2"),
    Case("integer-desc-value-compared-as-number",
         (svc_map("1"), field_thr("memory", "64", "1")),
         pt("1", metadata={"memory": 64}), "2", "(1 + 1) × 1 = 2"),
    Case("float-desc-value-goes-through-str",
         (svc_map("1"), field_thr("ratio", "0.3", "1")),
         pt("1", metadata={"ratio": 0.3}), "2",
         "Decimal('0.3') >= 0.3 (not the binary 0.29999...): "
         "(1 + 1) × 1 = 2"),
    # --- Field values --------------------------------------------------------
    Case("groupby-wins-over-metadata",
         (svc_map("1"), field_map("flavor", "g", "2", "rate"),
          field_map("flavor", "m", "5", "rate")),
         pt("1", groupby={"flavor": "g"}, metadata={"flavor": "m"}), "2",
         "desc flavor = 'g': 2 × 1 × 1 = 2"),
    Case("field-in-metadata-only",
         (svc_map("1"), field_map("flavor", "m", "5", "rate")),
         pt("1", metadata={"flavor": "m"}), "5", "5 × 1 × 1 = 5"),
    Case("values-compared-as-strings",
         (svc_map("1"), field_map("vcpus", "8", "2", "rate")),
         pt("1", metadata={"vcpus": 8}), "2", "str(8) == '8': 2 × 1 = 2"),
    Case("float-value-string-form",
         (svc_map("1"), field_map("vcpus", "8", "2", "rate")),
         pt("1", metadata={"vcpus": 8.0}), "1",
         "str(8.0) == '8.0' != '8': 1 × 1 = 1"),
    Case("field-absent-from-point",
         (svc_map("1"), field_map("flavor", "m1", "2", "rate"),
          field_thr("memory", "1", "5")),
         pt("1"), "1", "no flavor, no memory: 1 × 1 = 1"),
    # --- Incoming price and Decimal exactness --------------------------------
    Case("price-is-added-to-incoming-price",
         (svc_map("1"), field_map("flavor", "m1", "2", "rate")),
         pt("3", "1.5", groupby={"flavor": "m1"}), "7.5", "1.5 + 6 = 7.5"),
    Case("twenty-eight-decimal-places",
         (svc_map("0.1234567890123456789012345678"),),
         pt("3"), "0.3703703670370370367037037034",
         "0.1234567890123456789012345678 × 3, 28 digits: exact"),
    Case("rounding-to-28-significant-digits",
         (svc_map("0.3333333333333333333333333333"),
          field_map("flavor", "m1", "0.3333333333333333333333333333",
                    "rate")),
         pt("1", groupby={"flavor": "m1"}),
         "0.1111111111111111111111111111",
         "0.33…3 × 0.33…3 = 0.111…1 (55 digits) rounded half-even to 28"),
    Case("placeholder-threshold-rounds-long-flat",
         (svc_map("1.4341925412248244757710465634"),
          field_map("flavor", "m1", "3", "rate")),
         pt("1", groupby={"flavor": "m1"}),
         "4.302577623674473427313139689",
         "upstream adds its 'no threshold' cost 0 to the flat first: "
         "1.4341925412248244757710465634 + 0 = "
         "1.434192541224824475771046563 (28 digits, …63|4 rounds down); "
         "× 3 = 4.302577623674473427313139689 (3 × the 29-digit flat "
         "would round to …690)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_price(case: Case) -> None:
    rated = pricer(*case.rules).price_point(SERVICE, case.point)
    assert rated.price == D(case.expected), case.why
    assert isinstance(rated.price, Decimal)
    # Everything but the price is the point's.
    assert dataclasses.replace(rated, price=case.point.price) == case.point


class TestLoadingOrder:
    """How RuleSetBuilder merges global and scope rules (loading order:
    global first)."""

    def test_scope_rule_overrides_global_with_same_value(self):
        global_only = pricer(svc_map("1"), field_map("flavor", "m1", "1"))
        with_scope = pricer(field_map("flavor", "m1", "1"),
                            field_map("flavor", "m1", "3"))
        point = pt("1", groupby={"flavor": "m1"})
        # 3 replaces 1 (not "most expensive of both": a rate would show it)
        assert global_only.price_point(SERVICE, point).price == 1
        assert with_scope.price_point(SERVICE, point).price == 3
        overridden_by_rate = pricer(field_map("flavor", "m1", "1"),
                                    field_map("flavor", "m1", "3", "rate"))
        assert overridden_by_rate.price_point(SERVICE, point).price == 0

    def test_same_value_in_other_group_is_not_overridden(self):
        p = pricer(field_map("flavor", "m1", "1"),
                   field_map("flavor", "m1", "3", group="g"))
        # _DEFAULT_ 1 + g 3
        assert p.price_point(SERVICE, pt(
            "1", groupby={"flavor": "m1"})).price == 4

    def test_last_service_mapping_of_a_group_wins(self):
        p = pricer(svc_map("5"), svc_map("2", "rate"), svc_map("3"))
        assert p.price_point(SERVICE, pt("2")).price == 6  # 3 × 2

    def test_scope_threshold_overrides_same_level(self):
        p = pricer(svc_map("1"), svc_thr("10", "100"), svc_thr("10", "7"))
        assert p.price_point(SERVICE, pt("10")).price == 17  # 10 + 7

    def test_level_keys_compare_as_numbers(self):
        b = RuleSetBuilder()
        b.add_threshold(SERVICE, None, None, D("10"), "flat", D("1"))
        b.add_threshold(SERVICE, None, None, D("10.00000000"), "flat",
                        D("2"))
        assert list(b.build()[SERVICE].thresholds[DEFAULT_GROUP].values()
                    ) == [Cost("flat", D("2"))]

    def test_ungrouped_rules_share_the_default_group_name(self):
        b = RuleSetBuilder()
        b.add_mapping(SERVICE, None, None, None, "flat", D("1"))
        b.add_mapping(SERVICE, None, DEFAULT_GROUP, None, "flat", D("2"))
        assert b.build()[SERVICE].mappings == {
            DEFAULT_GROUP: Cost("flat", D("2"))}

    def test_field_mapping_without_value_is_ignored(self):
        b = RuleSetBuilder()
        b.add_field(SERVICE, "flavor")
        b.add_mapping(SERVICE, "flavor", None, None, "flat", D("1"))
        b.add_mapping(SERVICE, "flavor", None, "", "flat", D("1"))
        assert b.build()[SERVICE].fields["flavor"].mappings == {}

    def test_threshold_without_level_is_ignored(self):
        b = RuleSetBuilder()
        b.add_service(SERVICE)
        b.add_threshold(SERVICE, None, None, None, "flat", D("1"))
        assert b.build()[SERVICE].thresholds == {}

    def test_fields_apply_in_declaration_order(self):
        # disk declared before memory: its level-8 threshold wins the tie.
        p = pricer(declare_field("disk"), svc_map("1"),
                   field_thr("memory", "8", "2"), field_thr("disk", "8", "3"))
        assert p.price_point(SERVICE, pt(
            "1", groupby={"memory": "8", "disk": "8"})).price == 4

    def test_bad_map_type_is_refused(self):
        with pytest.raises(ValueError):
            Cost("percent", D(1))


class TestErrors:
    def test_non_numeric_value_with_thresholds_names_field_and_value(self):
        p = pricer(svc_map("1"), field_thr("memory", "64", "1"))
        with pytest.raises(exceptions.RatingError) as err:
            p.price_point(SERVICE, pt(groupby={"memory": "lots"}))
        assert "'memory'" in err.value.message
        assert "'lots'" in err.value.message
        assert "hashmap" in err.value.message
        assert err.value.details["field"] == "memory"

    @pytest.mark.parametrize("value", ["NaN", "sNaN", None, [1]])
    def test_other_unusable_levels(self, value):
        p = pricer(field_thr("memory", "64", "1"))
        with pytest.raises(exceptions.RatingError):
            p.price_point(SERVICE, pt(metadata={"memory": value}))

    def test_non_numeric_value_without_thresholds_is_fine(self):
        p = pricer(svc_map("1"), field_map("memory", "64", "2", "rate"))
        assert p.price_point(SERVICE, pt(
            groupby={"memory": "lots"})).price == 1

    def test_error_is_raised_again_for_the_same_value(self):
        p = pricer(field_thr("memory", "64", "1"))
        for _ in range(2):
            with pytest.raises(exceptions.RatingError):
                p.price_point(SERVICE, pt(groupby={"memory": "x"}))


class TestFrames:
    START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

    def frame(self, usage: Mapping[str, list[DataPoint]]) -> DataFrame:
        return DataFrame(self.START,
                         self.START + datetime.timedelta(hours=1), usage)

    def test_unknown_services_keep_their_points(self):
        kept = pt("3", "1.25", groupby={"flavor": "m1"})
        frame = self.frame({SERVICE: [pt("3")], "volume": [kept]})
        rated = pricer(svc_map("2")).price_frame(frame)
        assert rated.usage[SERVICE][0].price == 6
        assert rated.usage["volume"][0] is kept
        assert (rated.start, rated.end) == (frame.start, frame.end)
        assert list(rated.usage) == [SERVICE, "volume"]

    def test_frame_without_rated_service_is_returned_as_is(self):
        frame = self.frame({"volume": [pt("3")]})
        assert pricer(svc_map("2")).price_frame(frame) is frame

    def test_service_without_rules_is_unknown(self):
        p = pricer(declare_field("flavor"))
        assert p.services == frozenset()
        point = pt("3", "1")
        assert p.price_point(SERVICE, point) is point

    def test_point_matching_nothing_keeps_its_price(self):
        point = pt("3", "1", groupby={"flavor": "m9"})
        p = pricer(field_map("flavor", "m1", "2"))
        assert p.price_point(SERVICE, point) is point

    def test_every_point_is_priced_on_its_own(self):
        p = pricer(svc_map("1"), field_map("flavor", "m1", "2", "rate"),
                   field_thr("memory", "64", "10"))
        frame = self.frame({SERVICE: [
            pt("3", groupby={"flavor": "m1"}),
            pt("3", groupby={"flavor": "m2"}),
            pt("1", groupby={"memory": "64"}),
            pt("1", groupby={"memory": "63"}),
        ]})
        prices = [x.price for x in p.price_frame(frame).usage[SERVICE]]
        # 2 × 1 × 3; 1 × 3; (1 + 10) × 1; 1 × 1
        assert prices == [6, 3, 11, 1]

    def test_caller_decimal_context_does_not_matter(self):
        import decimal
        p = pricer(svc_map("0.3333333333333333333333333333"),
                   field_map("flavor", "m1", "0.3333333333333333333333333333",
                             "rate"))
        point = pt("1", groupby={"flavor": "m1"})
        with decimal.localcontext(decimal.Context(prec=5)):
            price = p.price_point(SERVICE, point).price
        assert price == D("0.1111111111111111111111111111")


def reference_price(builder: RuleSetBuilder, point: DataPoint) -> Decimal:
    """COMPAT.md §8.3 written as literally as possible: per-group dicts
    created on first use, every rule scanned, no precomputation. The
    optimised Pricer must agree with it to the last digit and exponent."""
    import decimal

    service = builder.build().get(SERVICE)
    if service is None:
        return point.price
    result: dict[str, dict[str, Any]] = {}

    def update(group, map_type, cost, level=None, scope=None):
        entry = result.setdefault(group, {
            "flat": 0, "rate": 1,
            "threshold": {"level": -1, "cost": 0, "type": "flat",
                          "scope": "field"}})
        if scope is not None:
            if level > entry["threshold"]["level"]:
                entry["threshold"] = {"level": level, "cost": cost,
                                      "type": map_type, "scope": scope}
        elif map_type == "rate":
            entry["rate"] *= cost
        elif cost > entry["flat"]:
            entry["flat"] = cost

    with decimal.localcontext(decimal.Context()):
        for group, rule in service.mappings.items():
            update(group, rule.map_type, rule.cost)
        for group, levels in service.thresholds.items():
            for level, rule in levels.items():
                if point.qty >= level:
                    update(group, rule.map_type, rule.cost, level, "service")
        desc = point.desc
        for name, field in service.fields.items():
            if name not in desc:
                continue
            value = desc[name]
            for group, by_value in field.mappings.items():
                for mapped, rule in by_value.items():
                    if str(value) == mapped:
                        update(group, rule.map_type, rule.cost)
            if field.thresholds:
                level_of_value = Decimal(str(value))
                for group, levels in field.thresholds.items():
                    for level, rule in levels.items():
                        if level_of_value >= level:
                            update(group, rule.map_type, rule.cost, level,
                                   "field")
        price = point.price
        for entry in result.values():
            rate, flat = entry["rate"], entry["flat"]
            threshold = entry["threshold"]
            if threshold["scope"] == "field":
                if threshold["type"] == "flat":
                    flat += threshold["cost"]
                else:
                    rate *= threshold["cost"]
            subtotal = rate * flat
            subtotal *= point.qty
            if threshold["scope"] == "service":
                if threshold["type"] == "flat":
                    subtotal += threshold["cost"]
                else:
                    subtotal *= threshold["cost"]
            price += subtotal
        return price


COSTS = ["0", "1", "2", "-1", "0.5", "1.5000000000000000000000000000",
         "0.3333333333333333333333333333", "1.4341925412248244757710465634",
         "7.25", "12.0000000000000000000000000001", "3", "0.1"]
LEVELS = ["-2", "-1", "0", "1", "2.5", "4", "4.00000000", "8", "10"]
VALUES = ["x", "y", "z", "1", "4", "8"]
GROUPS = [None, "a", "b", DEFAULT_GROUP]
FIELDS = ["f0", "f1", "f2"]


@pytest.mark.parametrize("seed", range(40))
def test_matches_literal_algorithm_on_random_rules(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    builder = RuleSetBuilder()
    numeric = rnd.choice(FIELDS)  # the only field given thresholds
    for field in rnd.sample(FIELDS, len(FIELDS)):
        builder.add_field(SERVICE, field)
    for _ in range(rnd.randint(0, 25)):
        kind = rnd.random()
        group = rnd.choice(GROUPS)
        cost = D(rnd.choice(COSTS))
        map_type = rnd.choice(["flat", "rate"])
        if kind < 0.15:
            builder.add_mapping(SERVICE, None, group, None, map_type, cost)
        elif kind < 0.7:
            builder.add_mapping(SERVICE, rnd.choice(FIELDS), group,
                                rnd.choice(VALUES), map_type, cost)
        elif kind < 0.85:
            builder.add_threshold(SERVICE, None, group,
                                  D(rnd.choice(LEVELS)), map_type, cost)
        else:
            builder.add_threshold(SERVICE, numeric, group,
                                  D(rnd.choice(LEVELS)), map_type, cost)
    engine = Pricer(builder.build())
    for _ in range(60):
        groupby: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        for field in FIELDS:
            value = rnd.choice(["1", "4", "8", "10", "2.5"] if field == numeric
                               else VALUES)
            where = rnd.random()
            if where < 0.4:
                groupby[field] = value
            elif where < 0.8:
                metadata[field] = value
            elif where < 0.9:
                groupby[field] = value
                metadata[field] = rnd.choice(VALUES)
        point = pt(rnd.choice(["0", "1", "2.5", "4", "8", "10", "11"]),
                   rnd.choice(["0", "1.25"]), groupby, metadata)
        expected = reference_price(builder, point)
        got = engine.price_point(SERVICE, point).price
        assert (got, str(got)) == (expected, str(expected)), (point, seed)
