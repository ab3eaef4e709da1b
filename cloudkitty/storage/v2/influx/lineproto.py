"""InfluxDB line protocol encoding, with the escaping each part needs.

Measurement: commas and spaces escaped; tag keys, tag values and field
keys: commas, equal signs and spaces; string field values: double quotes
and backslashes, inside double quotes. InfluxDB 1.x keeps other
backslashes of names and tags as they are, so a name or tag that ends
with a backslash, has one before a space, comma or equal sign, or holds a
newline cannot be written: :func:`representable` says so, and callers
keep such text out of names and tags (see
:mod:`cloudkitty.storage.v2.influx.points`).
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

__all__ = ["FieldValue", "line", "fields", "measurement", "key",
           "field_value",
           "representable"]

FieldValue = str | bool | int | float

_INT64 = 2 ** 63


_UNWRITABLE = re.compile(r"\\(?:[ ,=]|\Z)|[\n\r]")


def representable(text: str) -> bool:
    """Whether ``text`` can be a name or tag value (non-empty too)."""
    return bool(text) and _UNWRITABLE.search(text) is None


def measurement(name: str) -> str:
    return name.replace(",", "\\,").replace(" ", "\\ ")


def key(name: str) -> str:
    """A tag key, tag value or field key (see :func:`representable`)."""
    if "," in name or "=" in name or " " in name:
        return (name.replace(",", "\\,").replace("=", "\\=")
                .replace(" ", "\\ "))
    return name


_key = functools.lru_cache(maxsize=4096)(key)


def field_value(value: FieldValue) -> str:
    if type(value) is str:
        if "\\" in value or '"' in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError(f"integer {value} does not fit InfluxDB's int64")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be stored in InfluxDB")
        return repr(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fields(values: Mapping[str, FieldValue]) -> str:
    """The field set of a line, in ``values`` order."""
    return ",".join([f"{_key(k)}={field_value(v)}"
                     for k, v in values.items()])


def line(name: str, tags: Mapping[str, str],
         values: Mapping[str, FieldValue], time_ns: int) -> str:
    """One point; tags sorted by key, as InfluxDB prefers them."""
    parts = [measurement(name)]
    for tag in sorted(tags):
        parts.append(f"{_key(tag)}={key(tags[tag])}")
    return f"{','.join(parts)} {fields(values)} {time_ns}"
