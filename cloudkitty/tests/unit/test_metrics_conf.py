"""metrics.yml reading and validation (COMPAT.md §5.1, §5.2)."""
from __future__ import annotations

import pathlib
import sys
from decimal import Decimal
from typing import Any

import pytest
import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.collector import metrics


def validate(definitions: dict[str, Any], **kwargs: Any
             ) -> dict[str, dict[str, Any]]:
    kwargs.setdefault("scope_key", "project_id")
    kwargs.setdefault("file", "/etc/cloudkitty/metrics.yml")
    return metrics.validate_metrics({"metrics": definitions}, **kwargs)


def invalid(definitions: Any, **kwargs: Any
            ) -> exceptions.InvalidMetricsConfig:
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        if isinstance(definitions, dict) and "metrics" not in definitions:
            validate(definitions, **kwargs)
        else:
            metrics.validate_metrics(definitions, scope_key="project_id",
                                     file="/etc/cloudkitty/metrics.yml")
    return info.value


# -- defaults and normalisation ----------------------------------------------

def test_minimal_metric_gets_every_key_with_its_default() -> None:
    result = validate({"cpu": {"unit": "instance"}})
    assert result == {"cpu": {
        "unit": "instance", "factor": Decimal(1), "offset": Decimal(0),
        "alt_name": "cpu", "groupby": ["project_id"], "metadata": [],
        "mutate": "NONE", "mutate_map": {}, "extra_args": {},
        "description": None, "skip_datapoints_expression": None,
    }}


def test_alt_name_makes_a_composite_key() -> None:
    result = validate({"cpu": {"unit": "instance", "alt_name": "vm"}})
    assert list(result) == ["cpu@#vm"]
    assert result["cpu@#vm"]["alt_name"] == "vm"
    assert metrics.metric_name("cpu@#vm") == "cpu"
    assert metrics.metric_name("cpu") == "cpu"


def test_list_of_definitions_told_apart_by_alt_name() -> None:
    result = validate({"cpu": [
        {"unit": "instance", "alt_name": "instance"},
        {"unit": "vcpu", "alt_name": "vcpus", "factor": 2},
        {"unit": "raw"},
    ]})
    assert list(result) == ["cpu@#instance", "cpu@#vcpus", "cpu"]
    assert result["cpu@#vcpus"]["factor"] == Decimal(2)


def test_scope_key_appended_to_groupby_once() -> None:
    result = validate({
        "a": {"unit": "u", "groupby": ["id"]},
        "b": {"unit": "u", "groupby": ["tenant", "id"]},
    }, scope_key="tenant")
    assert result["a"]["groupby"] == ["id", "tenant"]
    assert result["b"]["groupby"] == ["tenant", "id"]


def test_repeated_groupby_and_metadata_entries_are_merged() -> None:
    result = validate({"a": {"unit": "u", "groupby": ["id", "id"],
                             "metadata": ["f", "g", "f"]}})
    assert result["a"]["groupby"] == ["id", "project_id"]
    assert result["a"]["metadata"] == ["f", "g"]


@pytest.mark.parametrize(("given", "expected"), [
    (2, Decimal(2)),
    (0.1, Decimal("0.1")),
    ("1/4", Decimal("0.25")),
    ("3/1000", Decimal("0.003")),
    ("2.5", Decimal("2.5")),
    (-3, Decimal(-3)),
])
def test_factor_and_offset_accept_int_float_and_fraction(
        given: Any, expected: Decimal) -> None:
    result = validate({"a": {"unit": "u", "factor": given,
                             "offset": given}})
    assert result["a"]["factor"] == expected
    assert result["a"]["offset"] == expected
    assert isinstance(result["a"]["factor"], Decimal)


def test_fraction_with_a_repeating_expansion_keeps_decimal_precision(
        ) -> None:
    result = validate({"a": {"unit": "u", "factor": "1/3"}})
    assert result["a"]["factor"] == Decimal(1) / Decimal(3)


def test_mutate_map_keys_and_values_become_decimals() -> None:
    result = validate({"a": {"unit": "u", "mutate": "MAP",
                             "mutate_map": {0: 1, "1": 0.5, 2.0: "1/2"}}})
    assert result["a"]["mutate_map"] == {
        Decimal(0): Decimal(1), Decimal(1): Decimal("0.5"),
        Decimal(2): Decimal("0.5")}


def test_optional_text_keys_are_kept() -> None:
    result = validate({"a": {
        "unit": "u", "description": "Things",
        "skip_datapoints_expression": "datapoint['vol']['qty'] == 0",
        "extra_args": {"aggregation_method": "sum"}}})
    assert result["a"]["description"] == "Things"
    assert result["a"]["skip_datapoints_expression"] == \
        "datapoint['vol']['qty'] == 0"
    assert result["a"]["extra_args"] == {"aggregation_method": "sum"}


def test_validation_does_not_change_its_input() -> None:
    raw = {"metrics": {"a": {"unit": "u", "groupby": ["id"]}}}
    metrics.validate_metrics(raw, scope_key="project_id")
    assert raw == {"metrics": {"a": {"unit": "u", "groupby": ["id"]}}}


# -- errors ------------------------------------------------------------

@pytest.mark.parametrize(("definition", "option", "reason"), [
    ({}, "unit", "required key is missing"),
    ({"unit": ""}, "unit", "expected a non-empty string"),
    ({"unit": 3}, "unit", "expected a non-empty string"),
    ({"unit": "u", "factor": "abc"}, "factor",
     "expected a number or an 'a/b' fraction, got 'abc'"),
    ({"unit": "u", "factor": "1/0"}, "factor",
     "expected a number or an 'a/b' fraction, got '1/0'"),
    ({"unit": "u", "offset": True}, "offset",
     "expected a number or an 'a/b' fraction, not a boolean"),
    ({"unit": "u", "factor": [1]}, "factor",
     "expected a number or an 'a/b' fraction, got list"),
    ({"unit": "u", "alt_name": ""}, "alt_name",
     "expected a non-empty string"),
    ({"unit": "u", "groupby": "id"}, "groupby",
     "expected a list of non-empty strings"),
    ({"unit": "u", "metadata": ["ok", ""]}, "metadata",
     "expected a list of non-empty strings, got item ''"),
    ({"unit": "u", "mutate": "ROUND"}, "mutate",
     "expected one of NONE, NUMBOOL, NOTNUMBOOL, FLOOR, CEIL, MAP"),
    ({"unit": "u", "mutate": "numbool"}, "mutate",
     "expected one of NONE, NUMBOOL, NOTNUMBOOL, FLOOR, CEIL, MAP"),
    ({"unit": "u", "mutate": "MAP"}, "mutate_map",
     "required when mutate is MAP"),
    ({"unit": "u", "mutate_map": {1: 2}}, "mutate_map",
     "only used when mutate is MAP, not NONE"),
    ({"unit": "u", "mutate": "MAP", "mutate_map": {"x": 1}}, "mutate_map",
     "entry 'x': expected a number or an 'a/b' fraction, got 'x'"),
    ({"unit": "u", "mutate": "MAP", "mutate_map": {}}, "mutate_map",
     "expected a non-empty mapping of number to number"),
    ({"unit": "u", "extra_args": ["x"]}, "extra_args",
     "expected a mapping"),
    ({"unit": "u", "description": ""}, "description",
     "expected a non-empty string"),
    ({"unit": "u", "skip_datapoints_expression": ""},
     "skip_datapoints_expression", "expected a non-empty string"),
    ({"unit": "u", "metadata": ["project_id"]}, "metadata",
     "'project_id' also in groupby (scope key 'project_id' is always a "
     "groupby key); a key is either groupby or metadata"),
    ({"unit": "u", "groupby": ["id"], "metadata": ["id"]}, "metadata",
     "'id' also in groupby (scope key 'project_id' is always a groupby "
     "key); a key is either groupby or metadata"),
])
def test_bad_key_is_named_with_file_metric_and_reason(
        definition: dict[str, Any], option: str, reason: str) -> None:
    error = invalid({"cpu": definition})
    assert (error.file, error.section, error.option, error.reason) == (
        "/etc/cloudkitty/metrics.yml", "cpu", option, reason)
    assert str(error) == (f"file /etc/cloudkitty/metrics.yml, section [cpu],"
                          f" option {option}: {reason}")


@pytest.mark.parametrize(("expression", "reason"), [
    ("datapoint['qty'] == 0",
     "column 11: datapoint has no key 'qty' (keys: groupby, metadata, "
     "rating, vol)"),
    ("__import__('os').system('true')",
     "column 1: calling '__import__' is not allowed (the only call is "
     ".get(key[, default]) on a mapping)"),
    ("datapoint.__class__",
     "column 11: attribute '.__class__' is not allowed (the only method "
     "is .get(key[, default]) on a mapping)"),
    ("datapoint['vol']['qty'] ==",
     "column 27: invalid syntax: the expression is incomplete"),
])
def test_bad_skip_expression_is_named_with_metric_key_and_reason(
        expression: str, reason: str) -> None:
    error = invalid({"cpu": {"unit": "u",
                             "skip_datapoints_expression": expression}})
    assert (error.file, error.section, error.option, error.reason) == (
        "/etc/cloudkitty/metrics.yml", "cpu", "skip_datapoints_expression",
        f"invalid skip expression: {reason}")
    assert str(error) == (
        "file /etc/cloudkitty/metrics.yml, section [cpu], option "
        f"skip_datapoints_expression: invalid skip expression: {reason}")


def test_bad_skip_expressions_of_several_metrics_are_all_reported(
        ) -> None:
    with pytest.raises(exceptions.InvalidMetricsConfigProblems) as info:
        validate({
            "cpu": {"unit": "u", "skip_datapoints_expression": "x"},
            "ram": [{"unit": "MB", "alt_name": "ok",
                     "skip_datapoints_expression":
                         "datapoint['vol']['qty'] == 0"},
                    {"unit": "MB", "alt_name": "bad",
                     "skip_datapoints_expression": "lambda: 1"}],
        })
    assert [(p.section, p.option, p.reason)
            for p in info.value.problems] == [
        ("cpu", "skip_datapoints_expression",
         "invalid skip expression: column 1: unknown name 'x' (the only "
         "variable is 'datapoint')"),
        ("ram@#bad", "skip_datapoints_expression",
         "invalid skip expression: column 1: lambda is not allowed"),
    ]


def test_valid_skip_expression_is_kept_verbatim() -> None:
    text = ("datapoint['rating']['price'] <= 0\n"
            "  and not datapoint['groupby'].get('id')")
    # Not valid: a line break outside brackets is a syntax error, as for
    # Python's eval(); the bracketed form is accepted.
    assert invalid({"a": {"unit": "u", "skip_datapoints_expression":
                          text}}).option == "skip_datapoints_expression"
    result = validate({"a": {"unit": "u", "skip_datapoints_expression":
                             f"({text})"}})
    assert result["a"]["skip_datapoints_expression"] == f"({text})"


def test_unknown_key_lists_the_known_ones() -> None:
    error = invalid({"cpu": {"unit": "u", "facter": 2}})
    assert error.option == "facter"
    assert error.reason.startswith("unknown key (known keys: alt_name, ")


def test_first_of_several_errors_is_reported_stably() -> None:
    error = invalid({"cpu": {"factor": "x", "unit": ""}})
    assert error.option == "factor"


def test_duplicate_composite_key_is_rejected() -> None:
    error = invalid({"cpu": [{"unit": "a", "alt_name": "vm"},
                             {"unit": "b", "alt_name": "vm"}]})
    assert (error.section, error.option) == ("cpu@#vm", "alt_name")
    assert error.reason.startswith("duplicate metric 'cpu@#vm'")


def test_two_list_entries_without_alt_name_are_duplicates() -> None:
    error = invalid({"cpu": [{"unit": "a"}, {"unit": "b"}]})
    assert error.section == "cpu (entry 2)"
    assert error.reason.startswith("duplicate metric 'cpu'")


def test_error_in_a_list_entry_names_the_entry() -> None:
    error = invalid({"cpu": [{"unit": "a", "alt_name": "x"},
                             {"alt_name": "y"}]})
    assert (error.section, error.option) == ("cpu@#y", "unit")
    error = invalid({"cpu": [{"unit": "a", "alt_name": "x"}, {}]})
    assert error.section == "cpu (entry 2)"


@pytest.mark.parametrize(("raw", "section", "option", "reason"), [
    ([], None, None, "the top level must be a mapping with a 'metrics' key"),
    ({}, None, "metrics",
     "required: a non-empty mapping of metric name to definition"),
    ({"metrics": {}}, None, "metrics",
     "required: a non-empty mapping of metric name to definition"),
    ({"metrics": ["cpu"]}, None, "metrics",
     "required: a non-empty mapping of metric name to definition"),
    ({"metrics": {"a": {"unit": "u"}}, "name": "x"}, None, "name",
     "unknown top-level key; only 'metrics' is allowed"),
    ({"metrics": {"cpu": None}}, "cpu", None,
     "expected a mapping of metric options or a list of them"),
    ({"metrics": {"cpu": "unit"}}, "cpu", None,
     "expected a mapping of metric options or a list of them"),
    ({"metrics": {"cpu": []}}, "cpu", None, "an empty list defines nothing"),
    ({"metrics": {"cpu": ["u"]}}, "cpu (entry 1)", None,
     "expected a mapping of metric options"),
    ({"metrics": {3: {"unit": "u"}}}, "3", "metrics",
     "a metric name must be a non-empty string"),
    ({"metrics": {"a@#b": {"unit": "u"}}}, "a@#b", None,
     "a metric name must not contain '@#'"),
])
def test_bad_structure(raw: Any, section: str | None, option: str | None,
                       reason: str) -> None:
    error = invalid(raw)
    assert (error.file, error.section, error.option, error.reason) == (
        "/etc/cloudkitty/metrics.yml", section, option, reason)


def test_error_without_file_names_metric_and_key_only() -> None:
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        metrics.validate_metrics({"metrics": {"cpu": {}}},
                                 scope_key="project_id")
    assert str(info.value) == \
        "section [cpu], option unit: required key is missing"


# -- extra_args hook ---------------------------------------------------------

_EXTRA = vol.Schema({
    vol.Optional("aggregation_method", default="max"):
        vol.In(["max", "sum"]),
    vol.Optional("query_suffix", default=""): str,
})


def test_extra_args_schema_fills_defaults() -> None:
    result = validate({"a": {"unit": "u"},
                       "b": {"unit": "u",
                             "extra_args": {"aggregation_method": "sum"}}},
                      extra_args_schema=_EXTRA)
    assert result["a"]["extra_args"] == {"aggregation_method": "max",
                                         "query_suffix": ""}
    assert result["b"]["extra_args"]["aggregation_method"] == "sum"


def test_extra_args_schema_error_names_the_nested_key() -> None:
    error = invalid({"a": {"unit": "u",
                           "extra_args": {"aggregation_method": "avg"}}},
                    extra_args_schema=_EXTRA)
    assert (error.section, error.option, error.reason) == (
        "a", "extra_args.aggregation_method", "value must be one of "
        "['max', 'sum']")
    error = invalid({"a": {"unit": "u", "extra_args": {"nope": 1}}},
                    extra_args_schema=_EXTRA)
    assert error.option == "extra_args.nope"


def test_extra_args_validator_may_raise_value_error() -> None:
    def refuse(args: Any) -> Any:
        raise ValueError("resource_type is required\nfor gnocchi")

    error = invalid({"a": {"unit": "u"}}, extra_args_schema=refuse)
    assert (error.option, error.reason) == (
        "extra_args", "resource_type is required for gnocchi")


# -- quantities --------------------------------------------------------

@pytest.mark.parametrize(("mode", "value", "expected"), [
    ("NONE", "2.5", "2.5"),
    ("NUMBOOL", "2.5", "1"),
    ("NUMBOOL", "0", "0"),
    ("NOTNUMBOOL", "2.5", "0"),
    ("NOTNUMBOOL", "0", "1"),
    ("FLOOR", "2.5", "2"),
    ("FLOOR", "-2.5", "-3"),
    ("CEIL", "2.1", "3"),
    ("CEIL", "-2.1", "-2"),
])
def test_mutate(mode: str, value: str, expected: str) -> None:
    assert metrics.mutate(Decimal(value), mode) == Decimal(expected)


def test_convert_quantity_applies_factor_offset_then_mutate() -> None:
    metric = validate({"a": {"unit": "u", "factor": "1/2", "offset": 1,
                             "mutate": "MAP",
                             "mutate_map": {2: 10, 3: 20}}})["a"]
    assert metrics.convert_quantity(2, metric) == Decimal(10)
    assert metrics.convert_quantity(Decimal(4), metric) == Decimal(20)
    assert metrics.convert_quantity(5, metric) == Decimal(0)
    plain = validate({"b": {"unit": "u", "factor": "1/1048576"}})["b"]
    assert metrics.convert_quantity(3 * 1048576, plain) == Decimal(3)


# -- files -------------------------------------------------------------

def test_read_metrics_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "metrics.yml"
    path.write_text("metrics:\n  cpu:\n    unit: instance\n")
    assert metrics.read_metrics_file(str(path)) == {
        "metrics": {"cpu": {"unit": "instance"}}}


@pytest.mark.parametrize(("text", "reason"), [
    ("", "the file is empty"),
    ("- a\n- b\n", "the top level must be a mapping with a 'metrics' key"),
    ("metrics: [\n", "invalid YAML: expected the node content, but found "
     "'<stream end>' (line 2, column 1)"),
    ("metrics:\n  cpu: {unit: a}\n  cpu: {unit: b}\n",
     "invalid YAML: duplicate key 'cpu' at line 3"),
])
def test_bad_file_content(tmp_path: pathlib.Path, text: str,
                          reason: str) -> None:
    path = tmp_path / "metrics.yml"
    path.write_text(text)
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        metrics.read_metrics_file(str(path))
    assert (info.value.file, info.value.reason) == (str(path), reason)
    assert "\n" not in str(info.value)


def test_anchors_and_merge_keys_may_be_overridden(tmp_path: pathlib.Path
                                                  ) -> None:
    path = tmp_path / "metrics.yml"
    path.write_text(
        "metrics:\n"
        "  a: &base\n    unit: GiB\n    groupby: [id]\n"
        "  b:\n    <<: *base\n    unit: MiB\n")
    raw = metrics.read_metrics_file(str(path))
    assert raw["metrics"]["b"] == {"unit": "MiB", "groupby": ["id"]}
    result = metrics.validate_metrics(raw, scope_key="project_id")
    assert (result["a"]["unit"], result["b"]["unit"]) == ("GiB", "MiB")


def test_missing_file(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "nope.yml")
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        metrics.read_metrics_file(path)
    assert str(info.value) == (
        f"file {path}: cannot read the file: No such file or directory")


# -- configuration -----------------------------------------------------

def test_load_metrics_reads_the_configured_file(make_conf: Any,
                                                tmp_path: pathlib.Path
                                                ) -> None:
    path = tmp_path / "m.yml"
    path.write_text("metrics:\n  cpu:\n    unit: instance\n"
                    "    groupby: [id]\n")
    conf = make_conf({"collect": {"metrics_conf": str(path),
                                  "scope_key": "tenant",
                                  "collector": "prometheus"}})
    result = metrics.load_metrics(conf)
    assert result["cpu"]["groupby"] == ["id", "tenant"]


def test_relative_metrics_path_is_next_to_the_config_file(
        make_conf: Any, tmp_path: pathlib.Path) -> None:
    (tmp_path / "m.yml").write_text("metrics:\n  cpu:\n    unit: vm\n")
    conf = make_conf({"collect": {"metrics_conf": "m.yml",
                                  "collector": "prometheus"}})
    assert metrics.metrics_path(conf) == str(tmp_path / "m.yml")
    assert list(metrics.load_metrics(conf)) == ["cpu"]


def test_absolute_and_default_metrics_paths_are_kept(make_conf: Any
                                                     ) -> None:
    assert metrics.metrics_path(make_conf()) == "/etc/cloudkitty/metrics.yml"
    conf = make_conf({"collect": {"metrics_conf": "/srv/m.yml"}})
    assert metrics.metrics_path(conf) == "/srv/m.yml"


def test_check_metrics_conf_raises_for_an_invalid_file(
        make_conf: Any, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.yml"
    path.write_text("metrics:\n  cpu:\n    unit: vm\n    mutate: MAP\n")
    conf = make_conf({"collect": {"metrics_conf": str(path)}})
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        metrics.check_metrics_conf(conf)
    assert str(info.value) == (f"file {path}, section [cpu], option "
                               "mutate_map: required when mutate is MAP")


def test_every_problem_of_a_file_is_reported(tmp_path: pathlib.Path
                                              ) -> None:
    path = tmp_path / "m.yml"
    raw = {"metrics": {
        "cpu": {"unit": "vm", "mutate": "MAP"},
        "ok": {"unit": "GiB"},
        "ram": [{"alt_name": "a", "factor": "x/y"},
                {"unit": "MB", "alt_name": "b", "colour": 1}],
    }}
    with pytest.raises(exceptions.InvalidMetricsConfigProblems) as info:
        metrics.validate_metrics(raw, scope_key="project_id", file=str(path))
    assert info.value.lines() == [
        f"file {path}, section [cpu], option mutate_map: required when "
        "mutate is MAP",
        f"file {path}, section [ram@#a], option factor: "
        + info.value.problems[1].reason,
        f"file {path}, section [ram@#a], option unit: required key is "
        "missing",
        f"file {path}, section [ram@#b], option colour: "
        + info.value.problems[3].reason,
    ]
    assert str(info.value).endswith("(and 3 more problems)")


def test_console_scripts_print_one_line_per_problem(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudkitty.cli import _run

    metrics_file = tmp_path / "m.yml"
    metrics_file.write_text("metrics:\n  cpu:\n    unit: vm\n"
                            "    mutate: MAP\n  ram: {}\n")
    conf_file = tmp_path / "cloudkitty.conf"
    conf_file.write_text(f"[collect]\ncollector = prometheus\n"
                         f"metrics_conf = {metrics_file}\n")

    def main() -> int:
        from oslo_config import cfg

        from cloudkitty import service
        service.prepare_service(["--config-file", str(conf_file)],
                                conf=cfg.ConfigOpts(), setup_logging=False,
                                checks=[metrics.check_metrics_conf])
        return 0

    monkeypatch.setattr(sys, "argv", ["cloudkitty-processor"])
    with pytest.raises(SystemExit) as info:
        _run.run(main)
    assert info.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"cloudkitty-processor: configuration error: file {metrics_file}, "
        "section [cpu], option mutate_map: required when mutate is MAP",
        f"cloudkitty-processor: configuration error: file {metrics_file}, "
        "section [ram], option unit: required key is missing",
    ]


def _install_collector(site: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                       module_text: str) -> None:
    """A real installed distribution declaring a collector entry point."""
    dist = site / "ck_fake_collector-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ck-fake-collector\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[cloudkitty.collector.backends]\n"
        "fakecollector = ck_fake_collector:Collector\n")
    (site / "ck_fake_collector.py").write_text(module_text)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "ck_fake_collector", raising=False)


def test_configured_collector_checks_extra_args(
        make_conf: Any, tmp_path: pathlib.Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _install_collector(tmp_path / "site", monkeypatch, (
        "import voluptuous as vol\n"
        "class Collector:\n"
        "    extra_args_schema = vol.Schema({\n"
        "        vol.Required('resource_type'): str,\n"
        "        vol.Optional('resource_key', default='id'): str})\n"))
    path = tmp_path / "m.yml"
    path.write_text("metrics:\n  cpu:\n    unit: vm\n"
                    "    extra_args: {resource_type: instance}\n")
    conf = make_conf({"collect": {"metrics_conf": str(path),
                                  "collector": "fakecollector"}})
    assert metrics.load_metrics(conf)["cpu"]["extra_args"] == {
        "resource_type": "instance", "resource_key": "id"}
    # An explicit None skips the collector's check.
    path.write_text("metrics:\n  cpu:\n    unit: vm\n")
    assert metrics.load_metrics(conf, None)["cpu"]["extra_args"] == {}
    with pytest.raises(exceptions.InvalidMetricsConfig) as info:
        metrics.check_metrics_conf(conf)
    assert str(info.value) == (f"file {path}, section [cpu], option "
                               "extra_args.resource_type: required key is "
                               "missing")


def test_collector_that_cannot_be_imported(
        make_conf: Any, tmp_path: pathlib.Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _install_collector(tmp_path / "site", monkeypatch,
                       "import ck_no_such_module\n")
    conf = make_conf({"collect": {"collector": "fakecollector"}})
    with pytest.raises(exceptions.ConfigError) as info:
        metrics.collector_extra_args_schema(conf)
    assert (info.value.section, info.value.option) == ("collect",
                                                       "collector")
    assert info.value.reason.startswith(
        "cannot load collector 'fakecollector': No module named")


def test_collector_not_installed_has_no_extra_args_check(make_conf: Any
                                                         ) -> None:
    conf = make_conf({"collect": {"collector": "not-installed"}})
    assert metrics.collector_extra_args_schema(conf) is None
