"""voluptuous validators for v2 query strings and bodies.

A query string reaches the schema as ``{name: [value, ...]}`` (a name may be
repeated); these validators turn those lists into what the controller
wants:

* :class:`SingleQueryParam` — exactly one value, coerced: ``?limit=10``
* :class:`MultiQueryParam` — repeated and/or comma-separated values, as a
  list: ``?groupby=a,b&groupby=c`` → ``["a", "b", "c"]``
* :class:`SingleDictQueryParam` — ``key:value`` pairs, comma-separated,
  each key once: ``?filters=a:1,b:2`` → ``{"a": "1", "b": "2"}``
* :class:`MultiDictQueryParam` — the same, values accumulate into lists:
  ``?filters=a:1,a:2`` → ``{"a": ["1", "2"]}``

:data:`PAGINATION` is the ``offset``/``limit`` pair every list takes;
:data:`CAPPED_PAGINATION` the same with upper bounds, for the reports.
:func:`utc_datetime` reads an ISO 8601 date into an aware UTC datetime,
:func:`text` a string the databases can store, :func:`flag` a boolean.
"""
from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import voluptuous as vol

from cloudkitty import dataframe, exceptions

__all__ = ["CAPPED_PAGINATION", "MAX_LIMIT", "MAX_OFFSET",
           "MultiDictQueryParam", "MultiQueryParam", "PAGINATION",
           "SingleDictQueryParam", "SingleQueryParam", "at_most", "flag",
           "text", "utc_datetime"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


def text(value: Any) -> str:
    """A string that the databases can hold (no NUL character, valid
    Unicode); anything else (a number, a list...) raises ``vol.Invalid``.
    """
    if not isinstance(value, str):
        raise vol.Invalid("expected a string")
    if "\x00" in value:
        raise vol.Invalid("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise vol.Invalid("not valid Unicode text") from None
    return value


#: The strings :func:`flag` reads (in any case), as ``vol.Boolean`` does.
_TRUE = ("1", "true", "yes", "on", "enable")
_FALSE = ("0", "false", "no", "off", "disable")


def flag(value: Any) -> bool:
    """A JSON boolean, or one of the words ``vol.Boolean`` reads (``true``,
    ``no``, ``1``...); unlike it, other types (lists, numbers, null) are
    refused rather than read by their truth value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise vol.Invalid(f"expected a boolean (true or false), got {value!r}")


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _split(values: Iterable[Any]) -> list[Any]:
    return list(itertools.chain.from_iterable(
        v.split(",") if isinstance(v, str) else [v] for v in values))


class SingleQueryParam(Generic[T]):
    """Exactly one value, coerced to ``param_type``."""

    def __init__(self, param_type: Callable[[Any], T]) -> None:
        self._coerce = vol.Coerce(param_type)

    def __call__(self, value: Any) -> T:
        values = _values(value)
        if len(values) != 1:
            raise vol.LengthInvalid(
                f"expected exactly one value, got {len(values)}")
        result: T = self._coerce(values[0])
        return result


class MultiQueryParam(Generic[T]):
    """Every value (repeated parameters and comma-separated lists), each
    coerced to ``param_type``."""

    def __init__(self, param_type: Callable[[Any], T]) -> None:
        self._coerce = vol.Coerce(param_type)

    def __call__(self, value: Any) -> list[T]:
        return [self._coerce(item) for item in _split(_values(value))]


class _DictQueryParam(Generic[K, V]):
    def __init__(self, key_type: Callable[[Any], K],
                 value_type: Callable[[Any], V]) -> None:
        self._key = vol.Coerce(key_type)
        self._value = vol.Coerce(value_type)

    def _pairs(self, value: Any) -> Iterable[tuple[str, str]]:
        for token in _split(_values(value)):
            key, sep, val = str(token).partition(":")
            if not sep or not key:
                raise vol.Invalid(
                    f"invalid key:value association '{token}'")
            yield key, val


class SingleDictQueryParam(_DictQueryParam[K, V]):
    """``key:value[,key:value]`` pairs with unique keys → dict."""

    def __call__(self, value: Any) -> dict[K, V]:
        result: dict[K, V] = {}
        for key, val in self._pairs(value):
            typed = self._key(key)
            if typed in result:
                raise vol.Invalid(f"key '{key}' given more than once")
            result[typed] = self._value(val)
        return result


class MultiDictQueryParam(_DictQueryParam[K, V]):
    """``key:value[,key:value]`` pairs, a key may repeat → dict of lists."""

    def __call__(self, value: Any) -> dict[K, list[V]]:
        result: dict[K, list[V]] = {}
        for key, val in self._pairs(value):
            result.setdefault(self._key(key), []).append(self._value(val))
        return result


#: Offsets (and limits) beyond any real row count are lowered to this one,
#: which still fits the 64-bit OFFSET and LIMIT of every database.
MAX_OFFSET = 2 ** 62


def at_most(maximum: int) -> Callable[[int], int]:
    """A validator lowering an int to ``maximum``."""
    def check(value: int) -> int:
        return min(value, maximum)
    return check


#: ``offset`` (≥ 0, default 0) and ``limit`` (≥ 1, default 100); splat it
#: into a query schema: ``query={**PAGINATION, ...}``. Values too large
#: for a database are lowered to :data:`MAX_OFFSET` (no list is that long).
PAGINATION: dict[Any, Any] = {
    vol.Required("offset", default=0): vol.All(
        SingleQueryParam(int), vol.Range(min=0), at_most(MAX_OFFSET)),
    vol.Required("limit", default=100): vol.All(
        SingleQueryParam(int), vol.Range(min=1), at_most(MAX_OFFSET)),
}


#: The most items one page of a report (``/v2/summary`` rows,
#: ``/v2/dataframes`` points) holds: a larger ``limit`` is lowered to it,
#: and the answer's ``total`` tells the client there is more.
MAX_LIMIT = 10000


#: :data:`PAGINATION` with a ``limit`` capped at :data:`MAX_LIMIT` and an
#: ``offset`` capped at :data:`MAX_OFFSET`, for the report endpoints.
CAPPED_PAGINATION: dict[Any, Any] = {
    vol.Required("offset", default=0): vol.All(
        SingleQueryParam(int), vol.Range(min=0), at_most(MAX_OFFSET)),
    vol.Required("limit", default=100): vol.All(
        SingleQueryParam(int), vol.Range(min=1), at_most(MAX_LIMIT)),
}


def utc_datetime(value: Any) -> datetime.datetime:
    """An ISO 8601 date and time (with or without offset; naive = UTC) as
    an aware UTC datetime; a one-item list (a query parameter) is
    accepted."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise vol.Invalid("expected an ISO 8601 date and time")
    try:
        parsed = dataframe.parse_datetime(value, "value")
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.astimezone(datetime.timezone.utc)
    except (exceptions.InvalidInput, OverflowError):
        raise vol.Invalid(
            f"{value!r} is not an ISO 8601 date and time in years 1 to "
            f"9999 UTC") from None
