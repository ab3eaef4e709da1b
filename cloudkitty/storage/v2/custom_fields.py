"""``custom_fields`` of :meth:`BaseStorage.total`: the aggregates of a row.

Upstream passes this string to InfluxDB as the ``SELECT`` list. We accept
only a small language that every backend can compute safely: sums and
counts of ``qty`` and ``price``, each under a name::

    fields    = field *( "," field )
    field     = function "(" column ")" [ "AS" name ]
    function  = "SUM" | "COUNT"            (any case)
    column    = "qty" | "price"            (may be double-quoted)
    name      = letter *( letter | digit | "_" )   (may be double-quoted)

Without ``AS`` a field is named after its function in lower case (``sum``,
``count``), as InfluxDB names it. Names are unique, at most
:data:`MAX_NAME_LENGTH` characters and neither ``begin`` nor ``end``; at
most :data:`MAX_FIELDS` fields. ``SUM`` gives a Decimal, ``COUNT`` an int.

The default, :data:`DEFAULT`, is ``SUM(qty) AS qty, SUM(price) AS rate``.
Anything else raises :class:`~cloudkitty.exceptions.InvalidInput` naming
``custom_fields`` and saying what was expected where.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable

from cloudkitty import exceptions

__all__ = ["Aggregate", "DEFAULT", "FIELD", "MAX_FIELDS", "MAX_NAME_LENGTH",
           "check_names", "parse"]

#: The request field (and the name given in errors).
FIELD = "custom_fields"
#: What ``custom_fields=None`` means.
DEFAULT = "SUM(qty) AS qty, SUM(price) AS rate"
MAX_FIELDS = 16
MAX_NAME_LENGTH = 64
_MAX_TEXT = 2048

FUNCTIONS = ("sum", "count")
COLUMNS = ("qty", "price")
#: Keys every row has already.
RESERVED = ("begin", "end")

_TOKEN = re.compile(r'\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_]*)'
                    r'|"(?P<quoted>[^"]*)"'
                    r'|(?P<punct>[(),]))')
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """``function(column) AS name``; function and column in lower case."""

    function: str
    column: str
    name: str


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str  # "word", "quoted", "punct" or "end"
    text: str
    position: int


def _invalid(text: str, reason: str) -> exceptions.InvalidInput:
    return exceptions.InvalidInput(
        f"Invalid custom_fields {text!r}: {reason}. Expected a "
        f"comma-separated list of SUM(qty|price) or COUNT(qty|price), each "
        f"optionally followed by AS <name>, e.g. '{DEFAULT}'.", field=FIELD)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            tokens.append(_Token("end", "", position))
            return tokens
        match = _TOKEN.match(text, position)
        if match is None:
            raise _invalid(text, f"unexpected {text[position]!r} at "
                                 f"position {position}")
        kind = match.lastgroup or "punct"
        tokens.append(_Token(kind, match.group(kind), position))
        position = match.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _next(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def _fail(self, expected: str, token: _Token) -> exceptions.InvalidInput:
        found = "the end" if token.kind == "end" else repr(token.text)
        return _invalid(self.text, f"expected {expected} at position "
                                   f"{token.position}, found {found}")

    def _punct(self, char: str) -> None:
        token = self._next()
        if token.kind != "punct" or token.text != char:
            raise self._fail(f"'{char}'", token)

    def _choice(self, expected: tuple[str, ...], what: str,
                quoted: bool) -> str:
        token = self._next()
        kinds = ("word", "quoted") if quoted else ("word",)
        if token.kind in kinds and token.text.lower() in expected:
            return token.text.lower()
        raise self._fail(f"{what} ({' or '.join(expected)})", token)

    def _name(self) -> str:
        token = self._next()
        if token.kind not in ("word", "quoted") or not _NAME.match(
                token.text):
            raise self._fail("a name (letters, digits and '_', not "
                             "starting with a digit)", token)
        if len(token.text) > MAX_NAME_LENGTH:
            raise _invalid(self.text, f"the name at position "
                                      f"{token.position} is longer than "
                                      f"{MAX_NAME_LENGTH} characters")
        return token.text

    def _field(self) -> Aggregate:
        function = self._choice(FUNCTIONS, "a function", quoted=False)
        self._punct("(")
        column = self._choice(COLUMNS, "a column", quoted=True)
        self._punct(")")
        token = self._peek()
        if token.kind == "word" and token.text.lower() == "as":
            self._next()
            name = self._name()
        else:
            name = function
        return Aggregate(function, column, name)

    def parse(self) -> tuple[Aggregate, ...]:
        fields = [self._field()]
        while self._peek().kind != "end":
            self._punct(",")
            fields.append(self._field())
            if len(fields) > MAX_FIELDS:
                raise _invalid(self.text, f"more than {MAX_FIELDS} fields")
        return tuple(fields)


def parse(text: str | None) -> tuple[Aggregate, ...]:
    """The aggregates ``text`` asks for (:data:`DEFAULT` when None)."""
    if text is None:
        text = DEFAULT
    if not isinstance(text, str):
        raise exceptions.InvalidInput("custom_fields must be a string.",
                                      field=FIELD)
    return _parse(text)


@functools.lru_cache(maxsize=128)
def _parse(text: str) -> tuple[Aggregate, ...]:
    if len(text) > _MAX_TEXT:
        raise _invalid(text[:40] + "...",
                       f"longer than {_MAX_TEXT} characters")
    if not text.strip():
        raise _invalid(text, "it is empty")
    fields = _Parser(text).parse()
    seen: set[str] = set()
    for field in fields:
        if field.name in RESERVED:
            raise _invalid(text, f"'{field.name}' is a column every row "
                                 f"has already; choose another name")
        if field.name in seen:
            raise _invalid(text, f"the name '{field.name}' is given twice "
                                 f"(name each field with AS)")
        seen.add(field.name)
    return fields


def check_names(fields: Iterable[Aggregate], group_keys: Iterable[str],
                given: bool = True) -> None:
    """Raise InvalidInput if a field is named like a groupby key (the row
    would hold both under one key). ``given``: whether the fields came
    from the caller (the error then names ``custom_fields``, else
    ``groupby``)."""
    keys = set(group_keys)
    for field in fields:
        if field.name in keys:
            if given:
                raise exceptions.InvalidInput(
                    f"The custom_fields name '{field.name}' is also a "
                    f"groupby key; rename the field with AS or group by "
                    f"something else.", field=FIELD)
            raise exceptions.InvalidInput(
                f"Invalid groupby '{field.name}': every row has a "
                f"'{field.name}' column already.", field="groupby")
