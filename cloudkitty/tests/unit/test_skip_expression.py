"""The skip-expression language and its application to rated frames."""
from __future__ import annotations

import datetime
import decimal
import logging
from decimal import Decimal
from typing import Any

import pytest

from cloudkitty import exceptions
from cloudkitty.collector import metrics as metrics_conf
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.processor import skip
from cloudkitty.skip_expression import (
    MAX_DEPTH,
    MAX_LENGTH,
    EvaluationError,
    InvalidExpression,
    SkipExpression,
)

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
END = START + datetime.timedelta(hours=1)

POINTS = [
    DataPoint("instance", 1, "0.5", {"project_id": "abc", "id": "i-1"},
              {"flavor_name": "m1.tiny", "vcpus": 1, "ratio": 0.5,
               "tags": None}),
    DataPoint("GiB", 0, 0, {"project_id": "def"},
              {"flavor_name": "m1.large"}),
    DataPoint("GiB", "12.5", "-1.25", {"project_id": "abc", "id": ""}, {}),
    DataPoint("", "3", "2", {"project_id": "xyz", "id": "v-9"},
              {"flavor_name": "m1.nano", "size": "10"}),
]


def python_eval(text: str, point: DataPoint) -> bool | Exception:
    """The independent oracle: what upstream's eval() gives on the
    mutable dict form (test-only)."""
    try:
        return bool(eval(text, {"__builtins__": {}},
                         {"datapoint": point.as_dict(mutable=True)}))
    except Exception as exc:
        return exc


def ours(expression: SkipExpression, point: DataPoint
         ) -> tuple[bool | str, bool | str]:
    """(matches on the dict form, matches_point); "error" on failure."""
    results: list[bool | str] = []
    for call in (lambda: expression.matches(point.as_dict(mutable=True)),
                 lambda: expression.matches_point(point)):
        try:
            results.append(call())
        except EvaluationError:
            results.append("error")
    return results[0], results[1]


# -- the language agrees with Python on what it accepts -----------------

SAME_AS_PYTHON = [
    "False", "True", "None", "0", "1", "''", "'x'", "[]", "[0]", "{}",
    "()", "-1", "not 0",
    'datapoint.get("vol", {}).get("qty", 0) == 0',
    'datapoint["groupby"]["project_id"] == "abc"',
    'datapoint["metadata"].get("flavor_name") in ["m1.tiny", "m1.nano"]',
    "datapoint['rating']['price'] <= 0 and not "
    "datapoint['groupby'].get('id')",
    'datapoint["metadata"].get("flavor_name") not in ("m1.tiny",)',
    'datapoint["metadata"].get("flavor_name") in {"m1.tiny", "m1.large"}',
    'datapoint["vol"]["unit"] == "GiB"',
    'datapoint["vol"]["unit"] != "undefined"',
    'datapoint["vol"]["qty"] > 2',
    'datapoint["vol"]["qty"] >= 3',
    'datapoint["vol"]["qty"] < 1',
    'datapoint["vol"]["qty"] <= 0',
    '0 < datapoint["vol"]["qty"] <= 12.5',
    '0 <= datapoint["vol"]["qty"] < datapoint["rating"]["price"] < 3',
    'datapoint["vol"]["qty"] * datapoint["rating"]["price"] < 0',
    'datapoint["vol"]["qty"] + 1 == 2',
    '- datapoint["rating"]["price"] > 0',
    '+datapoint["vol"]["qty"] == 3',
    'datapoint["vol"]["qty"] / 2 > 1',
    'datapoint["rating"]["price"] / datapoint["vol"]["qty"] > 0',
    '"id" in datapoint["groupby"]',
    '"id" not in datapoint["groupby"]',
    'datapoint["groupby"].get("id") is None',
    'datapoint["groupby"].get("id") is not None',
    'datapoint["metadata"].get("tags", 1) is None',
    'None is datapoint["metadata"].get("tags", 1)',
    '(datapoint["vol"]["qty"] > 1) is True',
    'datapoint["groupby"]["id"] == "i-1"',
    'datapoint["metadata"]["size"] > 5',
    'datapoint["groupby"].get("id") or datapoint["metadata"].get("vcpus")',
    'datapoint["groupby"].get("id") and datapoint["metadata"]',
    'not datapoint["metadata"]',
    'datapoint["metadata"] == {}',
    'datapoint["vol"] == {"unit": "GiB", "qty": 0}',
    'datapoint["rating"] != {"price": 2}',
    'datapoint == {"vol": {"unit": "GiB", "qty": 0}, "rating": '
    '{"price": 0}, "groupby": {"project_id": "def"}, "metadata": '
    '{"flavor_name": "m1.large"}}',
    '"vol" in datapoint',
    'datapoint["rating"]["price"] in [0, 2]',
    'datapoint["metadata"].get("vcpus", 0) >= 1',
    'datapoint["metadata"].get("ratio") == 0.5',
    'datapoint["groupby"]["project_id"][0] == "a"',
    'datapoint["groupby"]["project_id"][-1] == "z"',
    'datapoint["groupby"]["project_id"] in "abcdef"',
    'datapoint["groupby"][datapoint["metadata"].get("k", "project_id")]'
    ' == "abc"',
    'datapoint.get("groupby").get("project_id") == "abc"',
    'datapoint["metadata"].get("flavor_name", datapoint["vol"]["unit"])'
    ' == "GiB"',
    'datapoint.get("vol", datapoint["groupby"]["id"])["qty"] == 1',
    'datapoint["vol"]["qty"] > 1 or datapoint["rating"]["price"] > 1 or '
    'datapoint["groupby"]["project_id"] == "xyz"',
    'datapoint["vol"]["qty"] > 1 and datapoint["rating"]["price"] > 0 '
    'and "id" in datapoint["groupby"]',
    '[datapoint["vol"]["qty"], 1] == [1, 1]',
    '(datapoint["vol"]["qty"],) == (3,)',
    '{1, datapoint["vol"]["qty"]} == {1}',
    '{datapoint["groupby"]["project_id"]: 1}.get("abc") == 1',
    'datapoint["metadata"].get("flavor_name") < "m1.m"',
    'datapoint["vol"]["qty"] == "1"',
    'datapoint["metadata"].get("tags") in [None]',
    'datapoint["groupby"] in [{}, {"project_id": "def"}]',
    'datapoint["metadata"] in {1: 2}',
    'datapoint["groupby"].get("id", "")',
    'datapoint["vol"]["unit"].get("x")',
    '1 in {1: 2}',
    '(1, 2) < (1, 3)',
    '"abc" < "abd" != "x"',
]


@pytest.mark.parametrize("text", SAME_AS_PYTHON)
def test_accepted_expressions_behave_as_python_eval(text: str) -> None:
    expression = SkipExpression.parse(text)
    for point in POINTS:
        expected = python_eval(text, point)
        if isinstance(expected, Exception):
            assert ours(expression, point) == ("error", "error"), point
        else:
            assert ours(expression, point) == (expected, expected), point


def test_the_oracle_table_exercises_both_outcomes_and_errors() -> None:
    outcomes = {type(python_eval(text, point)).__name__
                for text in SAME_AS_PYTHON for point in POINTS}
    assert {"bool", "KeyError", "TypeError"} <= outcomes


# -- deliberate differences from Python ---------------------------------

@pytest.mark.parametrize(("text", "point", "expected"), [
    # Float literals are decimal numbers...
    ('datapoint["vol"]["qty"] == 0.1', DataPoint("u", "0.1"), True),
    ('datapoint["vol"]["qty"] - 0.5 == 0.5', DataPoint("u", 1), True),
    # ...and so are floats found in the data.
    ('datapoint["metadata"]["r"] == 0.1',
     DataPoint("u", 1, metadata={"r": 0.1}), True),
    ('datapoint["metadata"]["r"] + 0.2 == 0.3',
     DataPoint("u", 1, metadata={"r": 0.1}), True),
    ('datapoint["metadata"]["r"] in [0.1, 7]',
     DataPoint("u", 1, metadata={"r": 0.1}), True),
    ('0 < datapoint["metadata"]["r"] <= 0.1',
     DataPoint("u", 1, metadata={"r": 0.1}), True),
    ('datapoint["metadata"]["r"] == datapoint["metadata"]["s"]',
     DataPoint("u", 1, metadata={"r": 0.1, "s": Decimal("0.1")}), True),
    # Division gives Decimals.
    ('datapoint["vol"]["qty"] / 3 == 1 / 3', DataPoint("u", 1), True),
])
def test_numbers_are_decimals(text: str, point: DataPoint,
                              expected: bool) -> None:
    expression = SkipExpression.parse(text)
    assert ours(expression, point) == (expected, expected)


@pytest.mark.parametrize("text", [
    '"a" + datapoint["vol"]["unit"]',
    'datapoint["groupby"]["project_id"] * 2',
    '-datapoint["vol"]["unit"]',
    'datapoint["metadata"]["flag"] + 1',
])
def test_arithmetic_only_on_numbers(text: str) -> None:
    point = DataPoint("u", 1, groupby={"project_id": "p"},
                      metadata={"flag": True})
    expression = SkipExpression.parse(text)
    assert ours(expression, point) == ("error", "error")
    with pytest.raises(EvaluationError, match="arithmetic needs numbers"):
        expression.matches_point(point)


# -- refused texts ---------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("__import__('os')", "column 1: calling '__import__' is not allowed "
     "(the only call is .get(key[, default]) on a mapping)"),
    ("__import__('os').system('id')", "column 1: calling '__import__' is "
     "not allowed"),
    ("open('/etc/passwd')", "column 1: calling 'open' is not allowed"),
    ("getattr(datapoint, 'x')", "column 1: calling 'getattr' is not "
     "allowed"),
    ("(lambda: 1)()", "column 2: lambda is not allowed"),
    ("datapoint['groupby']()", "column 1: calling 'datapoint['groupby']' "
     "is not allowed"),
    ("datapoint.__class__", "column 11: attribute '.__class__' is not "
     "allowed (the only method is .get(key[, default]) on a mapping)"),
    ("datapoint['groupby'].__class__.__mro__", "column 22: attribute "
     "'.__class__' is not allowed"),
    ("datapoint.get.__self__", "column 11: attribute '.get' is not "
     "allowed"),
    ("datapoint['groupby'].keys()", "column 22: calling '.keys()' is not "
     "allowed"),
    ("datapoint['groupby'].get(key='x')", "column 26: keyword arguments "
     "are not allowed"),
    ("datapoint.get()", "column 1: .get() takes a key and an optional "
     "default, not 0 arguments"),
    ("datapoint.get('vol', {}, 1)", "column 1: .get() takes a key and an "
     "optional default, not 3 arguments"),
    ("datapoint.get(*['vol'])", "column 15: unpacking (*) is not allowed"),
    ("lambda: datapoint", "column 1: lambda is not allowed"),
    ("[p for p in datapoint]", "column 1: comprehensions are not allowed"),
    ("{k: 1 for k in datapoint}", "column 1: comprehensions are not "
     "allowed"),
    ("{k for k in datapoint}", "column 1: comprehensions are not allowed"),
    ("any(k for k in datapoint)", "column 1: calling 'any' is not "
     "allowed"),
    ("f'{datapoint}' == ''", "column 1: f-strings are not allowed"),
    ("(y := 1) == 1", "column 2: assignment expressions (:=) are not "
     "allowed"),
    ("1 if datapoint else 0", "column 1: conditional expressions (x if c "
     "else y) are not allowed"),
    ("x", "column 1: unknown name 'x' (the only variable is "
     "'datapoint')"),
    ("__builtins__", "column 1: unknown name '__builtins__'"),
    ("datapoint['vol']['qty'] ** 2", "column 1: operator '**' is not "
     "allowed (only + - * / on numbers)"),
    ("datapoint['vol']['qty'] // 2", "column 1: operator '//' is not "
     "allowed"),
    ("'%s' % datapoint", "column 1: operator '%' is not allowed"),
    ("1 << 2", "column 1: operator '<<' is not allowed"),
    ("1 | 2", "column 1: operator '|' is not allowed"),
    ("1 & 2", "column 1: operator '&' is not allowed"),
    ("1 ^ 2", "column 1: operator '^' is not allowed"),
    ("datapoint @ datapoint", "column 1: operator '@' is not allowed"),
    ("~1", "column 1: operator '~' is not allowed"),
    ("x ** 2", "column 1: unknown name 'x'"),
    ("datapoint['groupby']['id'][1:2]", "column 28: slices are not "
     "allowed"),
    ("[*datapoint]", "column 2: unpacking (*) is not allowed"),
    ("{**datapoint}", "column 4: dict unpacking (**) is not allowed"),
    ("b'x'", "column 1: bytes literals are not allowed"),
    ("1j", "column 1: complex numbers are not allowed"),
    ("...", "column 1: '...' is not allowed"),
    ("(yield)", "column 2: 'yield' is not allowed"),
    ("await datapoint", "column 1: 'await' is not allowed"),
    ("datapoint is 1", "column 14: 'is' and 'is not' only compare with "
     "None, True or False"),
    ("datapoint['qty']", "column 11: datapoint has no key 'qty' (keys: "
     "groupby, metadata, rating, vol)"),
    ("datapoint.get('desc', {})", "column 15: datapoint has no key "
     "'desc'"),
    ("datapoint['vol']['price']", "column 18: datapoint['vol'] has no key "
     "'price' (keys: qty, unit)"),
    ("datapoint['rating'].get('qty', 0)", "column 25: "
     "datapoint['rating'] has no key 'qty' (keys: price)"),
    ("datapoint[0]", "column 11: datapoint has no key 0"),
    ("datapoint[[]]", "column 11: datapoint has no key []"),
    ("1 / 0", "column 1: always fails: division by zero"),
    ("0 / 0 == 1", "column 1: always fails: invalid arithmetic "
     "(InvalidOperation)"),
    ("'a' < 1", "column 1: always fails: '<' not supported between "
     "instances of 'str' and 'int'"),
    ("{[]: 1}", "column 1: always fails: unhashable type: 'list'"),
    ("[1] in {1}", "column 1: always fails: unhashable type: 'list'"),
    ("True + 1", "column 1: always fails: arithmetic needs numbers, not "
     "bool"),
    ("{'a': 1}['b']", "column 1: always fails: key 'b' not found"),
    ("1e999 > 0", "column 1: number out of range"),
    ("datapoint ==", "column 13: invalid syntax: the expression is "
     "incomplete"),
    ("x = 1", "column 3: invalid syntax"),
    ("import os", "column 1: invalid syntax"),
    ("", "the expression is empty"),
    (" \t ", "the expression is empty"),
    ("datapoint\0", "the expression contains a NUL character"),
])
def test_refused_text_names_what_and_where(text: str, message: str
                                           ) -> None:
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse(text)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError)


def test_error_gives_reason_line_and_column_apart() -> None:
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse("datapoint.__class__")
    assert (info.value.line, info.value.column) == (1, 11)
    assert info.value.reason.startswith("attribute '.__class__'")


def test_columns_count_characters_not_bytes() -> None:
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse("'été' == été")
    assert str(info.value) == ("column 10: unknown name 'été' (the only "
                               "variable is 'datapoint')")


def test_leading_blanks_are_ignored_as_eval_does() -> None:
    assert SkipExpression.parse("  \tdatapoint['vol']['qty'] == 0") \
        .matches_point(DataPoint("u", 0))
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse("   x")
    assert info.value.column == 4


def test_multiline_text_in_brackets_names_line_and_column() -> None:
    expression = SkipExpression.parse(
        "(datapoint['vol']['qty'] == 0\n or datapoint['rating']['price']"
        " > 1)")
    assert expression.matches_point(DataPoint("u", 0))
    assert not expression.matches_point(DataPoint("u", 1, 1))
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse("(datapoint['vol']['qty'] == 0\n or foo)")
    assert str(info.value) == ("line 2, column 5: unknown name 'foo' (the "
                               "only variable is 'datapoint')")
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse("datapoint['vol']['qty'] == 0\n or True")
    assert str(info.value).startswith("line 2, column 1: invalid syntax")


def test_a_trailing_line_break_keeps_a_text_single_line() -> None:
    # YAML block scalars ("|") end with a line break.
    assert SkipExpression.parse("datapoint['vol']['qty'] == 0\n") \
        .matches_point(DataPoint("u", 0))
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse("x\n")
    assert str(info.value).startswith("column 1: unknown name 'x'")


def test_a_non_string_is_refused() -> None:
    with pytest.raises(InvalidExpression, match="expected a string, not "
                       "NoneType"):
        SkipExpression.parse(None)  # type: ignore[arg-type]


# -- size limits -----------------------------------------------------------

def test_longest_accepted_text() -> None:
    term = "datapoint['vol']['qty'] == 1 or "
    body = term * ((MAX_LENGTH - 5) // len(term))
    text = body + "False"
    text += " " * (MAX_LENGTH - len(text))
    assert len(text) == MAX_LENGTH
    expression = SkipExpression.parse(text)
    assert expression.matches_point(DataPoint("u", 1))
    assert not expression.matches_point(DataPoint("u", 2))
    with pytest.raises(InvalidExpression) as info:
        SkipExpression.parse(text + " ")
    assert str(info.value) == (f"the expression is longer than "
                               f"{MAX_LENGTH} characters")


@pytest.mark.parametrize("text", [
    "not " * 1000 + "datapoint",
    "-" * 3000 + "1",
    "1" + " + 1" * (MAX_DEPTH + 1),
    "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2),
    "datapoint" + "['a']" * (MAX_DEPTH + 1),
])
def test_deep_nesting_is_refused_without_recursion_error(text: str
                                                         ) -> None:
    assert len(text) <= MAX_LENGTH
    with pytest.raises(InvalidExpression, match=f"nested more than "
                       f"{MAX_DEPTH} levels deep"):
        SkipExpression.parse(text)


def test_nesting_just_under_the_limit_is_accepted() -> None:
    text = "1" + " + 1" * (MAX_DEPTH - 2) + f" == {MAX_DEPTH - 1}"
    assert SkipExpression.parse(text).always


def test_too_many_parentheses_are_a_syntax_error() -> None:
    with pytest.raises(InvalidExpression, match="invalid syntax"):
        SkipExpression.parse("(" * 250 + "1" + ")" * 250)


# -- constants, matches and keep ------------------------------------------

@pytest.mark.parametrize(("text", "never", "always"), [
    ("False", True, False),
    ("0", True, False),
    ("None", True, False),
    ("[]", True, False),
    ("1 > 2", True, False),
    ("not True or 0", True, False),
    ("True", False, True),
    ("'x'", False, True),
    ("1 < 2 < 3", False, True),
    ("datapoint['vol']['qty'] == 0", False, False),
])
def test_constant_expressions_are_known_in_advance(
        text: str, never: bool, always: bool) -> None:
    expression = SkipExpression.parse(text)
    assert (expression.never, expression.always) == (never, always)
    for point in POINTS:
        if never or always:
            assert expression.matches_point(point) is always


def test_points_are_read_without_building_their_dict(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("as_dict() called")
    monkeypatch.setattr(DataPoint, "as_dict", refuse)
    expression = SkipExpression.parse(
        'datapoint.get("vol", {}).get("qty", 0) == 0 or '
        'datapoint["rating"]["price"] < 0 or '
        'datapoint["metadata"].get("flavor_name") in ["m1.nano"] or '
        'datapoint["groupby"]["project_id"] == "def"')
    assert [expression.matches_point(p) for p in POINTS] == [
        False, True, True, True]


def test_keep_reports_failures_and_keeps_those_points() -> None:
    expression = SkipExpression.parse('datapoint["groupby"]["id"] == ""')
    failures: list[tuple[DataPoint, str]] = []
    kept = expression.keep(
        POINTS, lambda point, error: failures.append((point, error.reason)))
    assert kept == [POINTS[0], POINTS[1], POINTS[3]]
    assert failures == [(POINTS[1], "key 'id' not found")]


def test_evaluation_error_says_why() -> None:
    point = DataPoint("u", 1, metadata={"size": "10"})
    with pytest.raises(EvaluationError) as info:
        SkipExpression.parse('datapoint["metadata"]["size"] > 5') \
            .matches_point(point)
    assert info.value.reason == ("'>' not supported between instances of "
                                 "'str' and 'int'")
    with pytest.raises(EvaluationError, match="division by zero"):
        SkipExpression.parse('1 / datapoint["vol"]["qty"] > 0') \
            .matches_point(DataPoint("u", 0))
    with pytest.raises(EvaluationError,
                       match=r"\.get\(\) needs a mapping, not str"):
        SkipExpression.parse('datapoint["vol"]["unit"].get("x")') \
            .matches_point(point)


def test_decimal_context_errors_are_evaluation_errors() -> None:
    expression = SkipExpression.parse(
        'datapoint["vol"]["qty"] * 1e300 * 1e300 * 1e300 * 1e300 > 0')
    with decimal.localcontext() as ctx:
        ctx.Emax = 999
        with pytest.raises(EvaluationError, match="invalid arithmetic"):
            expression.matches_point(DataPoint("u", 1))


def test_expressions_compare_by_text() -> None:
    assert SkipExpression.parse("False") == SkipExpression.parse("False")
    assert SkipExpression.parse("False") != SkipExpression.parse("0")
    assert repr(SkipExpression.parse("False")) == "SkipExpression('False')"


# -- Skipper ---------------------------------------------------------------

def frame(**usage: list[DataPoint]) -> DataFrame:
    return DataFrame(START, END, usage)


def qty_points(*quantities: int) -> list[DataPoint]:
    return [DataPoint("u", q, groupby={"project_id": f"p{q}"})
            for q in quantities]


def test_skipper_drops_matching_points_and_empty_types() -> None:
    skipper = skip.Skipper(SkipExpression.parse(
        'datapoint["vol"]["qty"] == 0'))
    given = frame(instance=qty_points(1, 0, 2), volume=qty_points(0, 0),
                  image=qty_points(3))
    result = skipper.apply(given)
    assert dict(result.usage) == {
        "instance": tuple(qty_points(1, 2)),
        "image": tuple(qty_points(3)),
    }
    assert (result.start, result.end) == (START, END)
    assert list(result.usage) == ["instance", "image"]


def test_skipper_returns_the_same_frame_when_nothing_is_dropped() -> None:
    given = frame(instance=qty_points(1, 2))
    skipper = skip.Skipper(SkipExpression.parse(
        'datapoint["vol"]["qty"] == 0'))
    assert not skipper.never
    assert skipper.apply(given) is given


def test_skipper_that_never_matches_does_not_look_at_points() -> None:
    skipper = skip.Skipper(SkipExpression.parse("False"),
                           {"volume": SkipExpression.parse("0")})
    assert skipper.never
    given = frame(instance=qty_points(0))
    assert skipper.apply(given) is given


def test_always_drops_everything() -> None:
    skipper = skip.Skipper(SkipExpression.parse("True"))
    assert len(skipper.apply(frame(a=qty_points(1), b=qty_points(2)))) == 0
    assert dict(skipper.apply(frame(a=qty_points(1))).usage) == {}


def test_a_metric_expression_replaces_the_global_one_for_its_type() -> None:
    skipper = skip.Skipper(
        SkipExpression.parse('datapoint["vol"]["qty"] == 0'),
        {"volume": SkipExpression.parse(
            'datapoint["groupby"]["project_id"] == "p2"'),
         "image": SkipExpression.parse("False")})
    result = skipper.apply(frame(instance=qty_points(0, 2),
                                 volume=qty_points(0, 2),
                                 image=qty_points(0)))
    assert dict(result.usage) == {
        "instance": tuple(qty_points(2)),
        "volume": tuple(qty_points(0)),
        "image": tuple(qty_points(0)),
    }
    assert skipper.expression_for("other") is skipper.default


def test_failing_points_are_kept_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    text = 'datapoint["groupby"]["id"] == "x"'
    skipper = skip.Skipper(SkipExpression.parse(text))
    points = [DataPoint("u", 1, groupby={"id": "x"}),
              DataPoint("u", 2), DataPoint("u", 3)]
    with caplog.at_level(logging.WARNING, logger=skip.__name__):
        first = skipper.apply(frame(instance=points))
        second = skipper.apply(frame(volume=points))
    assert dict(first.usage) == {"instance": tuple(points[1:])}
    assert dict(second.usage) == {"volume": tuple(points[1:])}
    warnings = [r for r in caplog.records if r.name == skip.__name__]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert text in message
    assert "key 'id' not found" in message
    assert "type instance" in message
    assert skipper.failures == {text: 4}


# -- loading from the configuration ------------------------------------

def validated(definitions: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return metrics_conf.validate_metrics({"metrics": definitions},
                                         scope_key="project_id")


def test_default_configuration_never_skips(make_conf) -> None:
    skipper = skip.load_skip_expressions(
        make_conf(), validated({"cpu": {"unit": "vm"}}))
    assert skipper.never
    assert skipper.default.text == "False"
    assert skipper.by_type == {}


def test_expressions_come_from_the_option_and_metrics(make_conf) -> None:
    conf = make_conf({"orchestrator": {
        "skip_datapoints_expression":
            "datapoint['rating']['price'] <= 0 and not "
            "datapoint['groupby'].get('id')"}})
    skipper = skip.load_skip_expressions(conf, validated({
        "cpu": [{"unit": "vm", "alt_name": "instance",
                 "skip_datapoints_expression":
                     "datapoint['vol']['qty'] == 0"},
                {"unit": "vcpu", "alt_name": "vcpus"}],
        "ram": {"unit": "MB", "skip_datapoints_expression": "True"},
    }))
    assert skipper.default.text == conf.orchestrator.\
        skip_datapoints_expression
    assert {k: e.text for k, e in skipper.by_type.items()} == {
        "instance": "datapoint['vol']['qty'] == 0", "ram": "True"}
    assert skipper.expression_for("vcpus") is skipper.default
    result = skipper.apply(frame(
        instance=[DataPoint("u", 0), DataPoint("u", 1)],
        vcpus=[DataPoint("u", 0), DataPoint("u", 1, 1)],
        ram=[DataPoint("u", 1, 1)]))
    assert dict(result.usage) == {"instance": (DataPoint("u", 1),),
                                  "vcpus": (DataPoint("u", 1, 1),)}


def test_bad_option_names_file_section_option_and_reason(make_conf
                                                         ) -> None:
    conf = make_conf({"orchestrator": {
        "skip_datapoints_expression": "datapoint.__class__"}})
    with pytest.raises(exceptions.ConfigError) as info:
        skip.load_skip_expressions(conf, {})
    error = info.value
    assert not isinstance(error, exceptions.InvalidMetricsConfig)
    assert (error.file, error.section, error.option) == (
        conf.config_file[0], "orchestrator", "skip_datapoints_expression")
    assert error.reason == (
        "invalid skip expression: column 11: attribute '.__class__' is not "
        "allowed (the only method is .get(key[, default]) on a mapping)")
    assert str(error).startswith(f"file {conf.config_file[0]}, section "
                                 "[orchestrator], option "
                                 "skip_datapoints_expression: ")


def test_bad_metric_expression_is_a_metrics_error(make_conf, tmp_path
                                                  ) -> None:
    path = tmp_path / "metrics.yml"
    conf = make_conf({"collect": {"metrics_conf": str(path)}})
    given = validated({"cpu": {"unit": "vm"}, "ram": {"unit": "MB"}})
    # As if validation had been bypassed: load_skip_expressions checks too.
    given["ram"]["skip_datapoints_expression"] = "open('x')"
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        skip.load_skip_expressions(conf, given)
    assert (info.value.file, info.value.section, info.value.option) == (
        str(path), "ram", "skip_datapoints_expression")
    assert info.value.reason.startswith(
        "invalid skip expression: column 1: calling 'open'")


def test_metrics_of_one_type_need_the_same_expression(make_conf) -> None:
    same = validated({
        "cpu": {"unit": "vm", "alt_name": "instance",
                "skip_datapoints_expression": "True"},
        "vcpus": {"unit": "vm", "alt_name": "instance",
                  "skip_datapoints_expression": "True"}})
    assert skip.load_skip_expressions(make_conf(), same) \
        .expression_for("instance").always
    different = validated({
        "cpu": {"unit": "vm", "alt_name": "instance",
                "skip_datapoints_expression": "True"},
        "vcpus": {"unit": "vm", "alt_name": "instance"},
        "disk": {"unit": "GB", "alt_name": "instance"}})
    with pytest.raises(exceptions.InvalidMetricsConfigProblems) as info:
        skip.load_skip_expressions(make_conf(), different)
    assert [(p.section, p.option) for p in info.value.problems] == [
        ("vcpus@#instance", "skip_datapoints_expression"),
        ("disk@#instance", "skip_datapoints_expression")]
    assert info.value.problems[0].reason == (
        "'cpu@#instance' is rated as the same type 'instance' with "
        "skip_datapoints_expression 'True'; metrics of one rated type "
        "need the same one")
