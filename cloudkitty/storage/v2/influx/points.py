"""A DataPoint as an InfluxDB point of upstream's layout, and back.

Upstream's layout (measurement ``dataframes``, time = frame start):

* tags: every groupby key, ``type`` (the metric type);
* fields: every metadata key, ``qty`` and ``price`` (floats), ``unit``,
  ``description``, ``groupby`` and ``metadata`` (the key names joined by
  ``|``), ``__ck_collect_period`` (the frame's length in seconds).

What we add, invisible to upstream (its readers use only the keys listed
in ``groupby``/``metadata``):

* fields ``__ck_qty``/``__ck_price``: the exact decimals, as text;
* field ``__ck_seq``: an increasing number giving the push order;
* field ``__ck_extra``: JSON ``{"g": {...}, "m": {...}}`` of the groupby
  and metadata entries the layout cannot hold as they are (reserved or
  clashing names, names with ``|``, empty strings and newlines in tags,
  non-string groupby values, nested values, integral floats);
* tag ``[collect]scope_key`` = the scope id given to ``push`` when the
  point's groupby lacks it, so scope filters and deletes see it;
* tag ``__ck_dup`` = n on the n-th copy of a point whose series and time
  are already taken (InfluxDB would overwrite it; pushes never
  deduplicate).

Points written by upstream have none of these: their qty and price are
read as ``Decimal(repr(float))``.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import json
import math
from collections.abc import Mapping
from typing import Any

from cloudkitty.dataframe import DataPoint
from cloudkitty.storage.v2.influx import lineproto
from cloudkitty.storage.v2.sqlalchemy.models import EXACT, quantize, tidy

__all__ = ["Encoded", "StoredPoint", "encode", "decode", "text_of",
           "DUP_TAG", "PERIOD", "QTY", "PRICE", "SEQ", "EXTRA",
           "RESERVED_TAGS", "RESERVED_FIELDS", "bad_name", "money",
           "money_text", "raw_money", "exact_sum"]

UTC = datetime.timezone.utc
PERIOD = "__ck_collect_period"
QTY = "__ck_qty"
PRICE = "__ck_price"
SEQ = "__ck_seq"
EXTRA = "__ck_extra"
DUP_TAG = "__ck_dup"
RESERVED_TAGS = frozenset({"type", "time", DUP_TAG})
RESERVED_FIELDS = frozenset({"qty", "price", "unit", "description",
                             "groupby", "metadata", "time", "type"})
_PLAIN = (str, int, float, bool, type(None))


def money_text(value: decimal.Decimal) -> str:
    """The exact text kept in ``__ck_qty``/``__ck_price``: rounded to the
    scale the SQL backend keeps, trailing zeros dropped."""
    return format(tidy(quantize(value)), "f")


def money(exact: str | None, approx: float | int | None) -> decimal.Decimal:
    """The exact value when present, else the float upstream wrote."""
    return tidy(raw_money(exact, approx))


def raw_money(exact: str | None, approx: float | int | None
              ) -> decimal.Decimal:
    """:func:`money` without tidying (for sums, tidied once)."""
    if exact is not None:
        return decimal.Decimal(exact)
    if approx is None:
        return decimal.Decimal(0)
    return decimal.Decimal(repr(float(approx)))


def _jsonable(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """As the SQL backend stores it: other types become strings."""
    data = dict(mapping)
    if all(isinstance(v, _PLAIN) for v in data.values()):
        return data
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def text_of(value: Any) -> str | None:
    """A value as the SQL backend compares and groups it (JSON text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(", ", ": "))


@functools.lru_cache(maxsize=4096)
def bad_name(name: str) -> bool:
    """Whether groupby/metadata key ``name`` must go to ``__ck_extra``
    (beyond the reserved names)."""
    return (not lineproto.representable(name) or "|" in name
            or name.startswith("__ck_"))


@dataclasses.dataclass
class Encoded:
    tags: dict[str, str]
    fields: dict[str, lineproto.FieldValue]


def encode(metric_type: str, point: DataPoint, period: int, seq: int,
           scope_key: str, scope_id: str | None) -> Encoded:
    """Tags and fields of ``point`` (see the module docstring)."""
    groupby = _jsonable(point.groupby)
    metadata = _jsonable(point.metadata)
    tags: dict[str, str] = {"type": metric_type}
    fields: dict[str, lineproto.FieldValue] = {}
    extra_g: dict[str, Any] = {}
    extra_m: dict[str, Any] = {}
    listed_g: list[str] = []
    for name, value in groupby.items():
        if bad_name(name) or name in RESERVED_TAGS:
            extra_g[name] = value
            continue
        listed_g.append(name)
        text = text_of(value)
        if value is None:
            continue
        if not isinstance(value, str):
            extra_g[name] = value
        if text is None or not lineproto.representable(text):
            extra_g[name] = value
            continue
        tags[name] = text
    # The scope as the SQL backend sees it (groupby, metadata, then the
    # pushed scope id) is always a tag, so scope filters and deletes work.
    if scope_key not in groupby and scope_key not in RESERVED_TAGS:
        scope = metadata.get(scope_key, scope_id)
        text = text_of(scope)
        if text is not None and lineproto.representable(text):
            tags[scope_key] = text
    listed_m: list[str] = []
    for name, value in metadata.items():
        if (bad_name(name) or name in RESERVED_FIELDS or name in tags
                or name in groupby):
            extra_m[name] = value
            continue
        listed_m.append(name)
        if value is None:
            continue
        if isinstance(value, str):
            if "\n" in value or "\r" in value:
                extra_m[name] = value
            else:
                fields[name] = value
        elif isinstance(value, bool):
            fields[name] = value
        elif isinstance(value, int):
            if -2 ** 63 <= value < 2 ** 63:
                fields[name] = value
            else:
                extra_m[name] = value
        elif isinstance(value, float):
            if math.isfinite(value):
                fields[name] = value
                if value.is_integer():
                    extra_m[name] = value  # JSON would read it back as int
            else:
                extra_m[name] = value
        else:
            extra_m[name] = value
    fields.update({
        "qty": float(point.qty), "price": float(point.price),
        "unit": point.unit,
    })
    if point.description is not None:
        fields["description"] = point.description
    fields.update({
        "groupby": "|".join(listed_g), "metadata": "|".join(listed_m),
        PERIOD: period, QTY: money_text(point.qty),
        PRICE: money_text(point.price), SEQ: seq,
    })
    if extra_g or extra_m:
        fields[EXTRA] = json.dumps({"g": extra_g, "m": extra_m},
                                   allow_nan=True)
    return Encoded(tags, fields)


@dataclasses.dataclass
class StoredPoint:
    """A point read back: what retrieve() needs to rebuild frames."""

    time_ns: int
    period: int | None
    seq: int | None
    metric_type: str
    point: DataPoint

    @property
    def start(self) -> datetime.datetime:
        return from_ns(self.time_ns)


def from_ns(value: int) -> datetime.datetime:
    seconds, rest = divmod(int(value), 1_000_000_000)
    return datetime.datetime.fromtimestamp(seconds, UTC) + \
        datetime.timedelta(microseconds=rest // 1000)


def _names(listing: Any) -> list[str]:
    return [name for name in str(listing or "").split("|") if name]


def load_extra(raw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if not raw:
        return {}, {}
    try:
        data = json.loads(raw)
        return dict(data.get("g") or {}), dict(data.get("m") or {})
    except (ValueError, AttributeError):
        return {}, {}


def decode(row: Mapping[str, Any], tags: Mapping[str, Any],
           fields: Mapping[str, Any]) -> StoredPoint:
    """A point from a query row. ``tags``/``fields`` give the row's value
    of each tag and field key (None when absent)."""
    extra_g, extra_m = load_extra(fields.get(EXTRA))
    groupby: dict[str, Any] = {}
    for name in _names(fields.get("groupby")):
        groupby[name] = tags.get(name)
    groupby.update(extra_g)
    metadata: dict[str, Any] = {}
    for name in _names(fields.get("metadata")):
        metadata[name] = fields.get(name)
    metadata.update(extra_m)
    unit = fields.get("unit")
    description = fields.get("description")
    point = DataPoint(
        unit if unit is not None else "undefined",
        money(fields.get(QTY), fields.get("qty")),
        money(fields.get(PRICE), fields.get("price")),
        groupby, metadata, description)
    period = fields.get(PERIOD)
    seq = fields.get(SEQ)
    return StoredPoint(int(row["time"]),
                       None if period is None else int(period),
                       None if seq is None else int(seq),
                       str(tags.get("type") or ""), point)


def exact_sum(values: list[decimal.Decimal]) -> decimal.Decimal:
    total = decimal.Decimal(0)
    for value in values:
        total = EXACT.add(total, value)
    return tidy(total)
