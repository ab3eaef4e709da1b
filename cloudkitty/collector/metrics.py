"""The metrics definition file (``metrics.yml``): reading and validation.

The file says which metrics the collector fetches and how a raw value
becomes a rated quantity. Its shape (COMPAT.md §5.1, §5.2)::

    metrics:
      <metric>:                 # a mapping, or a list of mappings
        unit: <str>             # required
        alt_name: <str>         # rated type; several entries of a list
        ...                     # are told apart by it

:func:`validate_metrics` returns a flat dict keyed by ``<metric>@#<alt_name>``
(or ``<metric>`` when no ``alt_name`` is given), each value normalised with
every key present (see :func:`validate_metrics`). Every problem raises
:class:`~cloudkitty.exceptions.InvalidMetricsConfig` naming the file, the
metric (as the section) and the key (as the option).

Only :func:`load_metrics` and :func:`check_metrics_conf` know about
oslo.config; the rest works on plain data.
"""
from __future__ import annotations

import decimal
import fractions
import importlib.metadata
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import voluptuous as vol
import yaml

from cloudkitty import exceptions, skip_expression

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = [
    "KEY_SEPARATOR",
    "MUTATIONS",
    "ExtraArgsValidator",
    "check_metrics_conf",
    "collector_extra_args_schema",
    "convert_quantity",
    "load_metrics",
    "metric_name",
    "metrics_path",
    "mutate",
    "read_metrics_file",
    "to_decimal",
    "validate_metrics",
]

#: Separates the source metric name from ``alt_name`` in composite keys.
KEY_SEPARATOR = "@#"

MUTATIONS = ("NONE", "NUMBOOL", "NOTNUMBOOL", "FLOOR", "CEIL", "MAP")

#: Collector-specific validation of a metric's ``extra_args``: receives the
#: mapping given in the file (``{}`` when absent) and returns it validated,
#: with defaults filled in. A ``voluptuous.Schema`` is one. It signals a bad
#: value by raising ``voluptuous.Invalid``, ``ValueError`` or ``TypeError``.
ExtraArgsValidator = Callable[[Mapping[str, Any]], Mapping[str, Any]]

_ZERO = decimal.Decimal(0)
_ONE = decimal.Decimal(1)


# -- reading -----------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping.

    PyYAML keeps the last value silently, which would drop a metric
    definition without a word.
    """

    def construct_mapping(self, node: yaml.MappingNode,
                          deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            # "<<" merge keys may legitimately bring keys that the mapping
            # then overrides; only keys written in the mapping itself count.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable: SafeLoader reports it itself
                break
            if duplicate:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} at line "
                    f"{mark.line + 1}", mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        reason = f"invalid YAML: {exc.problem}"
        mark = exc.problem_mark
        if mark is not None and "line" not in exc.problem:
            reason += f" (line {mark.line + 1}, column {mark.column + 1})"
        return reason
    return "invalid YAML: " + " ".join(str(exc).split())


def read_metrics_file(path: str) -> dict[str, Any]:
    """Parse ``path`` as YAML and return the mapping it holds, unvalidated.

    Raises :class:`InvalidMetricsConfig` when the file cannot be read, is
    not YAML (a key repeated in one mapping counts as invalid), or does not
    hold a mapping.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            raw = yaml.load(stream, Loader=_StrictLoader)  # noqa: S506
    except OSError as exc:
        raise exceptions.InvalidMetricsConfig(
            f"cannot read the file: {exc.strerror or exc}", file=path
        ) from None
    except UnicodeDecodeError:
        raise exceptions.InvalidMetricsConfig(
            "the file is not UTF-8 text", file=path) from None
    except yaml.YAMLError as exc:
        raise exceptions.InvalidMetricsConfig(
            _yaml_reason(exc), file=path) from None
    if raw is None:
        raise exceptions.InvalidMetricsConfig("the file is empty", file=path)
    if not isinstance(raw, dict):
        raise exceptions.InvalidMetricsConfig(
            "the top level must be a mapping with a 'metrics' key",
            file=path)
    return raw


# -- values ------------------------------------------------------------

def to_decimal(value: Any) -> decimal.Decimal:
    """``value`` (int, float, Decimal or a ``"a/b"`` / decimal string) as a
    Decimal. Floats go through their shortest repr so ``0.1`` stays 0.1.

    Raises ``ValueError`` for anything else, including booleans.
    """
    if isinstance(value, bool):
        raise ValueError("expected a number or an 'a/b' fraction, not a "
                         "boolean")
    if isinstance(value, decimal.Decimal):
        result = value
    elif isinstance(value, int):
        result = decimal.Decimal(value)
    elif isinstance(value, float):
        result = decimal.Decimal(repr(value))
    elif isinstance(value, str):
        try:
            frac = fractions.Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"expected a number or an 'a/b' fraction, got {value!r}"
            ) from None
        result = (decimal.Decimal(frac.numerator)
                  / decimal.Decimal(frac.denominator))
    else:
        raise ValueError("expected a number or an 'a/b' fraction, got "
                         f"{type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _number(value: Any) -> decimal.Decimal:
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise vol.Invalid(str(exc)) from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("expected a non-empty string")
    return value


def _name(value: Any) -> str:
    value = _text(value)
    if KEY_SEPARATOR in value:
        raise vol.Invalid(f"must not contain '{KEY_SEPARATOR}'")
    return value


def _text_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise vol.Invalid("expected a list of non-empty strings")
    result: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise vol.Invalid(
                f"expected a list of non-empty strings, got item {item!r}")
        if item not in result:
            result.append(item)
    return result


def _mutate_map(value: Any) -> dict[decimal.Decimal, decimal.Decimal]:
    # Keys are compared with the (Decimal) quantity, so both sides become
    # Decimals: a key written "1" or 1.0 matches a quantity of 1.
    if not isinstance(value, dict) or not value:
        raise vol.Invalid("expected a non-empty mapping of number to number")
    result: dict[decimal.Decimal, decimal.Decimal] = {}
    for key, mapped in value.items():
        try:
            result[to_decimal(key)] = to_decimal(mapped)
        except ValueError as exc:
            raise vol.Invalid(f"entry {key!r}: {exc}") from None
    return result


def _mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise vol.Invalid("expected a mapping")
    return dict(value)


_METRIC_SCHEMA = vol.Schema({
    vol.Required("unit"): _text,
    vol.Optional("factor", default=1): _number,
    vol.Optional("offset", default=0): _number,
    vol.Optional("alt_name"): _name,
    vol.Optional("groupby", default=list): _text_list,
    vol.Optional("metadata", default=list): _text_list,
    vol.Optional("mutate", default="NONE"): vol.In(
        MUTATIONS, msg=f"expected one of {', '.join(MUTATIONS)}"),
    vol.Optional("mutate_map"): _mutate_map,
    vol.Optional("extra_args", default=dict): _mapping,
    vol.Optional("description"): _text,
    vol.Optional("skip_datapoints_expression"): _text,
})

_KNOWN_KEYS = sorted(str(k) for k in _METRIC_SCHEMA.schema)


# -- validation --------------------------------------------------------

def _invalid_reason(error: vol.Invalid) -> str:
    if isinstance(error, vol.RequiredFieldInvalid):
        return "required key is missing"
    if error.msg == "extra keys not allowed":
        return f"unknown key (known keys: {', '.join(_KNOWN_KEYS)})"
    return " ".join(str(error.msg).split())


def _all_errors(exc: vol.Invalid) -> list[vol.Invalid]:
    if isinstance(exc, vol.MultipleInvalid) and exc.errors:
        # The order of voluptuous' errors follows dict iteration; sort them
        # by key so messages are stable.
        return sorted(exc.errors, key=lambda e: [str(p) for p in e.path])
    return [exc]


def _raise_all(problems: list[exceptions.InvalidMetricsConfig]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise exceptions.InvalidMetricsConfigProblems(problems)


class _Context:
    """Builds errors that name the file and the metric being validated."""

    def __init__(self, file: str | None) -> None:
        self.file = file

    def error(self, reason: str, section: str | None = None,
              option: str | None = None) -> exceptions.InvalidMetricsConfig:
        return exceptions.InvalidMetricsConfig(
            reason, file=self.file, section=section, option=option)


def _section(name: str, entry: Any, index: int | None) -> str:
    if index is None:
        return name
    alt = entry.get("alt_name") if isinstance(entry, dict) else None
    if isinstance(alt, str) and alt:
        return f"{name}{KEY_SEPARATOR}{alt}"
    return f"{name} (entry {index + 1})"


def _validate_extra_args(ctx: _Context, section: str, given: dict[str, Any],
                         schema: ExtraArgsValidator) -> dict[str, Any]:
    try:
        return dict(schema(given))
    except vol.Invalid as exc:
        problems = []
        for error in _all_errors(exc):
            path = ".".join(str(p) for p in error.path)
            option = f"extra_args.{path}" if path else "extra_args"
            problems.append(ctx.error(_invalid_reason(error), section,
                                      option))
        _raise_all(problems)
        raise AssertionError("unreachable") from None
    except (ValueError, TypeError) as exc:
        raise ctx.error(" ".join(str(exc).split()) or "invalid value",
                        section, "extra_args") from None


def _validate_entry(ctx: _Context, name: str, entry: Any, index: int | None,
                    scope_key: str,
                    extra_args_schema: ExtraArgsValidator | None,
                    ) -> tuple[str, dict[str, Any]]:
    section = _section(name, entry, index)
    if not isinstance(entry, dict):
        raise ctx.error("expected a mapping of metric options"
                        + (" or a list of them" if index is None else ""),
                        section)
    try:
        metric: dict[str, Any] = _METRIC_SCHEMA(entry)
    except vol.Invalid as exc:
        _raise_all([
            ctx.error(_invalid_reason(error), section,
                      str(error.path[0]) if error.path else None)
            for error in _all_errors(exc)])
        raise AssertionError("unreachable") from None

    if "skip_datapoints_expression" in metric:
        try:
            skip_expression.SkipExpression.parse(
                metric["skip_datapoints_expression"])
        except skip_expression.InvalidExpression as exc:
            raise ctx.error(f"invalid skip expression: {exc}", section,
                            "skip_datapoints_expression") from None

    if metric["mutate"] == "MAP" and "mutate_map" not in metric:
        raise ctx.error("required when mutate is MAP", section, "mutate_map")
    if metric["mutate"] != "MAP" and "mutate_map" in metric:
        raise ctx.error(f"only used when mutate is MAP, not "
                        f"{metric['mutate']}", section, "mutate_map")

    if scope_key not in metric["groupby"]:
        metric["groupby"].append(scope_key)
    both = [k for k in metric["metadata"] if k in metric["groupby"]]
    if both:
        raise ctx.error(
            f"{', '.join(repr(k) for k in both)} also in groupby (scope key "
            f"'{scope_key}' is always a groupby key); a key is either "
            "groupby or metadata", section, "metadata")

    if extra_args_schema is not None:
        metric["extra_args"] = _validate_extra_args(
            ctx, section, metric["extra_args"], extra_args_schema)

    key = name
    if "alt_name" in metric:
        key = f"{name}{KEY_SEPARATOR}{metric['alt_name']}"
    else:
        metric["alt_name"] = name
    metric.setdefault("mutate_map", {})
    metric.setdefault("description", None)
    metric.setdefault("skip_datapoints_expression", None)
    return key, metric


def validate_metrics(raw: Any, *, scope_key: str, file: str | None = None,
                     extra_args_schema: ExtraArgsValidator | None = None,
                     ) -> dict[str, dict[str, Any]]:
    """Validate the parsed content of a metrics file.

    Returns ``{composite key: metric}`` in file order, where each metric has
    every key: ``unit`` (str), ``factor`` and ``offset`` (Decimal),
    ``alt_name`` (str; the metric name when not given), ``groupby`` and
    ``metadata`` (lists of str without duplicates; ``scope_key`` is
    appended to ``groupby`` if missing), ``mutate`` (one of
    :data:`MUTATIONS`), ``mutate_map`` (``{Decimal: Decimal}``, empty unless
    ``mutate`` is MAP), ``extra_args`` (dict, validated by
    ``extra_args_schema`` when given), ``description`` and
    ``skip_datapoints_expression`` (str or None).

    Raises :class:`InvalidMetricsConfig` with ``file``, ``section`` (the
    metric; ``<metric>@#<alt_name>`` or ``<metric> (entry N)`` for an entry
    of a list), ``option`` (the key) and a reason; when the file has
    several problems, :class:`InvalidMetricsConfigProblems` carrying one
    such error per problem.
    """
    ctx = _Context(file)
    if not isinstance(raw, dict):
        raise ctx.error("the top level must be a mapping with a 'metrics' "
                        "key")
    unknown = sorted(str(k) for k in raw if k != "metrics")
    if unknown:
        raise ctx.error("unknown top-level key; only 'metrics' is allowed",
                        option=unknown[0])
    metrics = raw.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise ctx.error("required: a non-empty mapping of metric name to "
                        "definition", option="metrics")

    result: dict[str, dict[str, Any]] = {}
    problems: list[exceptions.InvalidMetricsConfig] = []
    for name, definition in metrics.items():
        try:
            _validate_metric(ctx, name, definition, scope_key,
                             extra_args_schema, result)
        except exceptions.InvalidMetricsConfigProblems as exc:
            problems.extend(exc.problems)
        except exceptions.InvalidMetricsConfig as exc:
            problems.append(exc)
    _raise_all(problems)
    return result


def _validate_metric(ctx: _Context, name: Any, definition: Any,
                     scope_key: str,
                     extra_args_schema: ExtraArgsValidator | None,
                     result: dict[str, dict[str, Any]]) -> None:
    """Validate one metric (all its entries) into ``result``; every
    problem found is raised together."""
    if not isinstance(name, str) or not name.strip():
        raise ctx.error("a metric name must be a non-empty string",
                        section=str(name), option="metrics")
    if KEY_SEPARATOR in name:
        raise ctx.error(f"a metric name must not contain "
                        f"'{KEY_SEPARATOR}'", section=name)
    entries: list[tuple[int | None, Any]]
    if isinstance(definition, list):
        if not definition:
            raise ctx.error("an empty list defines nothing", name)
        entries = list(enumerate(definition))
    else:
        entries = [(None, definition)]
    problems: list[exceptions.InvalidMetricsConfig] = []
    for index, entry in entries:
        try:
            key, metric = _validate_entry(ctx, name, entry, index, scope_key,
                                          extra_args_schema)
            if key in result:
                raise ctx.error(
                    f"duplicate metric '{key}': give each entry of "
                    "this metric a different alt_name",
                    _section(name, entry, index), "alt_name")
        except exceptions.InvalidMetricsConfigProblems as exc:
            problems.extend(exc.problems)
            continue
        except exceptions.InvalidMetricsConfig as exc:
            problems.append(exc)
            continue
        result[key] = metric
    _raise_all(problems)


def metric_name(key: str) -> str:
    """The source metric name of a composite key (the part before ``@#``)."""
    return key.split(KEY_SEPARATOR, 1)[0]


# -- quantities --------------------------------------------------------

def mutate(value: decimal.Decimal, mode: str,
           mutate_map: Mapping[decimal.Decimal, decimal.Decimal] | None = None,
           ) -> decimal.Decimal:
    """Apply a ``mutate`` mode of :data:`MUTATIONS` to a quantity."""
    if mode == "NONE":
        return value
    if mode == "NUMBOOL":
        return _ONE if value != 0 else _ZERO
    if mode == "NOTNUMBOOL":
        return _ZERO if value != 0 else _ONE
    if mode == "FLOOR":
        return value.to_integral_value(rounding=decimal.ROUND_FLOOR)
    if mode == "CEIL":
        return value.to_integral_value(rounding=decimal.ROUND_CEILING)
    if mode == "MAP":
        return (mutate_map or {}).get(value, _ZERO)
    raise ValueError(f"unknown mutate mode {mode!r}")


def convert_quantity(value: Any, metric: Mapping[str, Any]
                     ) -> decimal.Decimal:
    """Raw collected ``value`` → rated quantity of a validated ``metric``:
    ``value × factor + offset``, then ``mutate``."""
    qty = to_decimal(value) * metric["factor"] + metric["offset"]
    return mutate(qty, metric["mutate"], metric.get("mutate_map"))


# -- configuration -----------------------------------------------------

def metrics_path(conf: cfg.ConfigOpts) -> str:
    """The path of the metrics file: ``[collect] metrics_conf``, where a
    relative path set in a configuration file is taken relative to that
    file's directory. Use it with :func:`read_metrics_file` to serve the
    raw file."""
    path: str = conf.collect.metrics_conf
    if os.path.isabs(path):
        return path
    location = conf.get_location("metrics_conf", "collect")
    detail = getattr(location, "detail", None)
    if detail and os.path.isfile(detail):
        return os.path.join(os.path.dirname(os.path.abspath(detail)), path)
    return path


def collector_extra_args_schema(conf: cfg.ConfigOpts
                                ) -> ExtraArgsValidator | None:
    """The ``extra_args_schema`` attribute of the configured collector's
    class (entry point ``cloudkitty.collector.backends``), if it has one.

    A collector that is not installed gives None: whether it exists is the
    collector loader's check, not the metrics file's.
    """
    name = conf.collect.collector
    for entry in importlib.metadata.entry_points(
            group="cloudkitty.collector.backends"):
        if entry.name != name:
            continue
        try:
            plugin = entry.load()
        except Exception as exc:  # any import failure of a plugin
            raise exceptions.ConfigError(
                f"cannot load collector '{name}': {exc}",
                section="collect", option="collector") from exc
        schema = getattr(plugin, "extra_args_schema", None)
        return schema if callable(schema) else None
    return None


_FROM_COLLECTOR: Any = object()


def load_metrics(conf: cfg.ConfigOpts,
                 extra_args_schema: ExtraArgsValidator | None
                 = _FROM_COLLECTOR) -> dict[str, dict[str, Any]]:
    """Read and validate ``[collect] metrics_conf`` with ``[collect]
    scope_key``; see :func:`validate_metrics` for the result.

    ``extra_args`` are checked by the configured collector's schema unless
    ``extra_args_schema`` is given (None: not checked).
    """
    if extra_args_schema is _FROM_COLLECTOR:
        extra_args_schema = collector_extra_args_schema(conf)
    path = metrics_path(conf)
    return validate_metrics(read_metrics_file(path),
                            scope_key=conf.collect.scope_key, file=path,
                            extra_args_schema=extra_args_schema)


def check_metrics_conf(conf: cfg.ConfigOpts) -> None:
    """Start-up check: the metrics file exists and validates.

    Raises :class:`InvalidMetricsConfig` naming file, metric, key and reason.
    """
    load_metrics(conf)
