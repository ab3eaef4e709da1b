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

:data:`PAGINATION` is the ``offset``/``limit`` pair every list takes.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import voluptuous as vol

__all__ = ["MultiDictQueryParam", "MultiQueryParam", "PAGINATION",
           "SingleDictQueryParam", "SingleQueryParam"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


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


#: ``offset`` (≥ 0, default 0) and ``limit`` (≥ 1, default 100); splat it
#: into a query schema: ``query={**PAGINATION, ...}``.
PAGINATION: dict[Any, Any] = {
    vol.Required("offset", default=0): vol.All(SingleQueryParam(int),
                                               vol.Range(min=0)),
    vol.Required("limit", default=100): vol.All(SingleQueryParam(int),
                                                vol.Range(min=1)),
}
