"""The skip-expression language: which rated points are not stored.

Operators write one expression per deployment (``[orchestrator]
skip_datapoints_expression``) and optionally one per metric (metrics.yml).
Upstream CloudKitty runs it through Python's ``eval``; here it is parsed
with :func:`ast.parse` and only a small, side-effect free subset of Python
expressions is accepted. The accepted tree is turned into nested closures
once, so evaluating it per point costs a few function calls and no
interpretation of the tree.

The one variable is ``datapoint``, the v2 dict form of a rated point
(:meth:`cloudkitty.dataframe.DataPoint.as_dict`)::

    {"vol": {"unit": str, "qty": Decimal},
     "rating": {"price": Decimal},
     "groupby": {str: value}, "metadata": {str: value}}

Accepted:

* literals: integers, floats (read as Decimals: ``0.1`` is exactly 1/10),
  strings, ``True``, ``False``, ``None``, and lists, tuples, sets and
  dicts of accepted expressions;
* ``datapoint``, subscripts ``x[key]`` and ``x.get(key[, default])`` on a
  mapping (no other call, no other attribute);
* comparisons ``== != < <= > >= in``, ``not in``, and ``is`` / ``is not``
  against ``None``, ``True`` or ``False``; chains like ``0 < x <= 10``;
* ``and``, ``or``, ``not``; unary ``-`` and ``+``, binary ``+ - * /`` on
  numbers (``/`` always gives a Decimal).

Floats found in the data are compared and computed on as Decimals too, so
``datapoint["metadata"]["ratio"] == 0.1`` holds for a float 0.1.

A key that never exists in the dict form (``datapoint["qty"]``,
``datapoint["vol"]["price"]``) is refused when parsing; ``.get`` of such a
key gives its default.

Errors: :class:`InvalidExpression` (a ``ValueError``) when the text is not
in the language, naming what is refused and where; :class:`EvaluationError`
when evaluating on one point fails (a missing groupby key, ordering a
string against a number, a division by zero). What to do with that point
is the caller's decision.

Standard library only, like :mod:`cloudkitty.dataframe`.
"""
from __future__ import annotations

import ast
import decimal
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from cloudkitty.dataframe import DataPoint

__all__ = [
    "DATAPOINT_KEYS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "EvaluationError",
    "InvalidExpression",
    "SkipExpression",
]

#: Longest accepted expression, in characters.
MAX_LENGTH = 4096
#: Deepest accepted nesting of the syntax tree.
MAX_DEPTH = 64

#: The keys of ``datapoint`` and of its fixed-shape sub-mappings; None
#: marks a mapping whose keys depend on the metric (groupby, metadata).
DATAPOINT_KEYS: Mapping[str, tuple[str, ...] | None] = {
    "vol": ("unit", "qty"),
    "rating": ("price",),
    "groupby": None,
    "metadata": None,
}

_Fn = Callable[[Any], Any]
_DECIMAL = decimal.Decimal
_SINGLETONS = (None, True, False)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: Errors evaluating a valid expression on unlucky data can raise.
_RUNTIME_ERRORS = (LookupError, TypeError, ValueError, ArithmeticError)


class InvalidExpression(ValueError):
    """The text is not a skip expression.

    ``reason`` says what is wrong; ``line`` and ``column`` (1-based, in
    characters; None when the whole text is at fault) say where.
    """

    def __init__(self, reason: str, line: int | None = None,
                 column: int | None = None, multiline: bool = False
                 ) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        if column is None:
            message = reason
        elif multiline:
            message = f"line {line}, column {column}: {reason}"
        else:
            message = f"column {column}: {reason}"
        super().__init__(message)


class EvaluationError(Exception):
    """Evaluating an expression on one point failed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"key {exc.args[0]!r} not found" if exc.args else \
            "key not found"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, decimal.DecimalException):
        return f"invalid arithmetic ({type(exc).__name__})"
    text = str(exc)
    return text or type(exc).__name__


def _number(value: Any) -> Any:
    """``value`` ready for arithmetic: an int or a Decimal."""
    cls = value.__class__
    if cls is _DECIMAL or cls is int:
        return value
    if cls is float:
        return _DECIMAL(repr(value))
    if isinstance(value, (int, _DECIMAL)) and not isinstance(value, bool):
        return value
    raise TypeError(f"arithmetic needs numbers, not "
                    f"{type(value).__name__}")


def _divide(left: Any, right: Any) -> Any:
    left = _number(left)
    right = _number(right)
    if left.__class__ is int:
        left = _DECIMAL(left)
    return left / right


_PLAIN_MAPPINGS = (dict, MappingProxyType)


def _get(mapping: Any, key: Any, default: Any = None) -> Any:
    if (mapping.__class__ not in _PLAIN_MAPPINGS
            and not isinstance(mapping, Mapping)):
        raise TypeError(f".get() needs a mapping, not "
                        f"{type(mapping).__name__}")
    return mapping.get(key, default)


# -- compiled nodes ----------------------------------------------------

class _Code:
    """A compiled node: ``fn(root)`` computes its value.

    ``constant`` nodes know their ``value`` at compile time. ``path`` is set
    while the node is ``datapoint`` followed by constant keys that all exist
    in the dict form, e.g. ``("vol", "qty")``: further keys can be checked
    when parsing.
    """

    __slots__ = ("fn", "constant", "value", "path", "exact", "float_free")

    def __init__(self, fn: _Fn, constant: bool = False, value: Any = None,
                 path: tuple[str, ...] | None = None, exact: bool = True,
                 float_free: bool = False) -> None:
        self.fn = fn
        self.constant = constant
        self.value = value
        self.path = path
        #: ``fn`` reads ``path`` and does nothing else, so a lookup of a
        #: further key may read the point directly.
        self.exact = exact
        #: The value is never a float (numbers, booleans, point fields).
        self.float_free = float_free or constant

    @classmethod
    def of(cls, value: Any) -> _Code:
        return cls(lambda _root: value, constant=True, value=value)


def _norm_fn(code: _Code) -> _Fn:
    """``code.fn``, with a float result turned into a Decimal."""
    fn = code.fn
    if code.float_free:
        return fn

    def norm(root: Any) -> Any:
        value = fn(root)
        if value.__class__ is float:
            return _DECIMAL(repr(value))
        return value
    return norm


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
    ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_, ast.IsNot: operator.is_not,
}

_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: _number(a) + _number(b),
    ast.Sub: lambda a, b: _number(a) - _number(b),
    ast.Mult: lambda a, b: _number(a) * _number(b),
    ast.Div: _divide,
}

_OPERATOR_SYMBOLS = {
    ast.Mod: "%", ast.FloorDiv: "//", ast.Pow: "**", ast.MatMult: "@",
    ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
    ast.BitAnd: "&",
}

_REFUSED = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.IfExp: "conditional expressions (x if c else y) are not allowed",
    ast.Starred: "unpacking (*) is not allowed",
    ast.Slice: "slices are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
}


class _Compiler:
    """Checks a parsed tree and turns it into closures.

    ``point`` mode compiles for a :class:`DataPoint` root (the fields are
    read directly, no dict is built); otherwise the root is the dict form.
    Both modes accept and refuse exactly the same texts.
    """

    def __init__(self, text: str, point: bool) -> None:
        self.point = point
        # Trailing line breaks (YAML block scalars end with one) do not
        # make a text multi-line.
        self.lines = _LINE_BREAK.split(text.rstrip())

    # -- errors --

    def error(self, node: ast.AST, reason: str) -> InvalidExpression:
        """``reason``, located at the start of ``node``."""
        return self.error_at(getattr(node, "lineno", 1),
                             getattr(node, "col_offset", 0), reason)

    def attribute_error(self, node: ast.Attribute,
                        reason: str) -> InvalidExpression:
        """``reason``, located at the attribute name of ``node``."""
        end = node.end_col_offset
        if node.end_lineno is None or end is None:
            return self.error(node, reason)
        return self.error_at(node.end_lineno,
                             end - len(node.attr.encode("utf-8")), reason)

    def error_at(self, lineno: int, col: int,
                 reason: str) -> InvalidExpression:
        """``reason`` at line ``lineno`` (1-based), UTF-8 byte offset
        ``col`` (what :mod:`ast` gives), reported in characters."""
        line = self.lines[lineno - 1] if lineno <= len(self.lines) else ""
        column = len(line.encode("utf-8")[:col].decode(
            "utf-8", errors="ignore")) + 1
        return InvalidExpression(reason, lineno, column,
                                 multiline=len(self.lines) > 1)

    # -- dispatch --

    def compile(self, node: ast.AST, depth: int = 0) -> _Code:
        if depth > MAX_DEPTH:
            raise self.error(node, f"the expression is nested more than "
                             f"{MAX_DEPTH} levels deep")
        depth += 1
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            reason = _REFUSED.get(type(node)) or (
                f"{type(node).__name__} is not allowed")
            raise self.error(node, reason)
        code: _Code = method(node, depth)
        return code

    def constant(self, node: ast.AST, fn: _Fn) -> _Code:
        """The value of ``fn``, computed now: its operands are constants.
        """
        try:
            return _Code.of(fn(None))
        except _RUNTIME_ERRORS as exc:
            raise self.error(node, f"always fails: {_describe(exc)}") \
                from None

    # -- leaves --

    def _Constant(self, node: ast.Constant, depth: int) -> _Code:
        value = node.value
        if value is None or isinstance(value, (bool, int, str)):
            return _Code.of(value)
        if isinstance(value, float):
            result = _DECIMAL(repr(value))
            if not result.is_finite():
                raise self.error(node, "number out of range")
            return _Code.of(result)
        if isinstance(value, bytes):
            raise self.error(node, "bytes literals are not allowed")
        if isinstance(value, complex):
            raise self.error(node, "complex numbers are not allowed")
        raise self.error(node, f"'{ast.unparse(node)}' is not allowed")

    def _Name(self, node: ast.Name, depth: int) -> _Code:
        if node.id != "datapoint":
            raise self.error(node, f"unknown name '{node.id}' (the only "
                             "variable is 'datapoint')")
        if self.point:
            return _Code(lambda p: p.as_dict(), path=(), float_free=True)
        return _Code(lambda d: d, path=(), float_free=True)

    def _Attribute(self, node: ast.Attribute, depth: int) -> _Code:
        self.compile(node.value, depth)
        raise self.attribute_error(
            node, f"attribute '.{node.attr}' is not allowed (the only "
            "method is .get(key[, default]) on a mapping)")

    # -- containers --

    def _items(self, nodes: Iterable[ast.expr], depth: int) -> list[_Code]:
        return [self.compile(item, depth) for item in nodes]

    def _sequence(self, node: ast.AST, items: list[_Code],
                  build: Callable[[Iterable[Any]], Any]) -> _Code:
        fns = [item.fn for item in items]

        def fn(root: Any) -> Any:
            return build([f(root) for f in fns])
        if all(item.constant for item in items):
            return self.constant(node, fn)
        return _Code(fn)

    def _List(self, node: ast.List, depth: int) -> _Code:
        return self._sequence(node, self._items(node.elts, depth), list)

    def _Tuple(self, node: ast.Tuple, depth: int) -> _Code:
        return self._sequence(node, self._items(node.elts, depth), tuple)

    def _Set(self, node: ast.Set, depth: int) -> _Code:
        return self._sequence(node, self._items(node.elts, depth), set)

    def _Dict(self, node: ast.Dict, depth: int) -> _Code:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                raise self.error(value, "dict unpacking (**) is not "
                                 "allowed")
        keys = self._items([k for k in node.keys if k is not None], depth)
        values = self._items(node.values, depth)
        pairs = [(k.fn, v.fn) for k, v in zip(keys, values, strict=True)]

        def fn(root: Any) -> Any:
            return {k(root): v(root) for k, v in pairs}
        if all(c.constant for c in keys + values):
            return self.constant(node, fn)
        return _Code(fn)

    # -- datapoint access --

    def _Subscript(self, node: ast.Subscript, depth: int) -> _Code:
        base = self.compile(node.value, depth)
        key = self.compile(node.slice, depth)
        return self._lookup(node, node.slice, base, key, None)

    def _Call(self, node: ast.Call, depth: int) -> _Code:
        func = node.func
        if not isinstance(func, ast.Attribute):
            if not isinstance(func, ast.Name):
                # Errors are reported in reading order: the callee first.
                self.compile(func, depth)
            name = ast.unparse(func)
            raise self.error(node, f"calling '{name}' is not allowed (the "
                             "only call is .get(key[, default]) on a "
                             "mapping)")
        if func.attr != "get":
            # Errors are reported in reading order: the object first.
            self.compile(func.value, depth)
            raise self.attribute_error(
                func, f"calling '.{func.attr}()' is not allowed (the only "
                "call is .get(key[, default]) on a mapping)")
        if node.keywords:
            raise self.error(node.keywords[0],
                             "keyword arguments are not allowed")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(arg, "unpacking (*) is not allowed")
        if not 1 <= len(node.args) <= 2:
            raise self.error(node, ".get() takes a key and an optional "
                             f"default, not {len(node.args)} arguments")
        base = self.compile(func.value, depth)
        key = self.compile(node.args[0], depth)
        default = (self.compile(node.args[1], depth)
                   if len(node.args) == 2 else _Code.of(None))
        return self._lookup(node, node.args[0], base, key, default)

    def _lookup(self, node: ast.AST, key_node: ast.AST, base: _Code,
                key: _Code, default: _Code | None) -> _Code:
        """``base[key]`` (``default`` None) or ``base.get(key, default)``.
        """
        if base.path is not None and key.constant:
            known = _known_keys(base.path)
            if known is not None:
                if key.value not in known:
                    where = "datapoint" + "".join(
                        f"[{k!r}]" for k in base.path)
                    raise self.error(key_node, f"{where} has no key "
                                     f"{key.value!r} (keys: "
                                     f"{', '.join(sorted(known))})")
                if base.exact:
                    return self._path(base.path + (key.value,), default)
        base_fn, key_fn = base.fn, key.fn
        if default is None:
            if key.constant:
                k = key.value

                def fn(root: Any) -> Any:
                    return base_fn(root)[k]
            else:
                def fn(root: Any) -> Any:
                    return base_fn(root)[key_fn(root)]
        else:
            default_fn = default.fn
            if (key.constant and default.constant and self.point
                    and base.path in (("groupby",), ("metadata",))):
                # DataPoint.groupby/metadata: always read-only mappings.
                k, d = key.value, default.value

                def fn(root: Any) -> Any:
                    return base_fn(root).get(k, d)
            elif key.constant and default.constant:
                k, d = key.value, default.value

                def fn(root: Any) -> Any:
                    return _get(base_fn(root), k, d)
            else:
                def fn(root: Any) -> Any:
                    return _get(base_fn(root), key_fn(root),
                                default_fn(root))
        if base.constant and key.constant and (default is None
                                               or default.constant):
            return self.constant(node, fn)
        return _Code(fn)

    def _path(self, path: tuple[str, ...], default: _Code | None) -> _Code:
        """``datapoint`` followed by the existing keys of ``path``."""
        fn: _Fn
        if not self.point:
            fn = _dict_path(path)
        elif len(path) == 2 or path[0] in ("groupby", "metadata"):
            # DataPoint fields of the same names; never floats.
            fn = operator.attrgetter(path[-1])
        elif path[0] == "vol":
            def fn(p: Any) -> Any:
                return {"unit": p.unit, "qty": p.qty}
        else:
            def fn(p: Any) -> Any:
                return {"price": p.price}
        exact = True
        if default is not None and not default.constant:
            # Python evaluates a .get() default even when the key exists,
            # and evaluating it may fail.
            value_fn, default_fn = fn, default.fn
            exact = False

            def fn(root: Any) -> Any:
                default_fn(root)
                return value_fn(root)
        return _Code(fn, path=path, exact=exact, float_free=self.point)

    # -- operators --

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> _Code:
        items = self._items(node.values, depth)
        fns = [item.fn for item in items]
        fn: _Fn
        if len(fns) == 2:
            first, second = fns
            if isinstance(node.op, ast.And):
                def fn(root: Any) -> Any:
                    return first(root) and second(root)
            else:
                def fn(root: Any) -> Any:
                    return first(root) or second(root)
        elif isinstance(node.op, ast.And):
            def fn(root: Any) -> Any:
                value = None
                for f in fns:
                    value = f(root)
                    if not value:
                        break
                return value
        else:
            def fn(root: Any) -> Any:
                value = None
                for f in fns:
                    value = f(root)
                    if value:
                        break
                return value
        if all(item.constant for item in items):
            return self.constant(node, fn)
        return _Code(fn, float_free=all(i.float_free for i in items))

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> _Code:
        operand = self.compile(node.operand, depth)
        inner = operand.fn
        fn: _Fn
        if isinstance(node.op, ast.Not):
            def fn(root: Any) -> Any:
                return not inner(root)
        elif isinstance(node.op, ast.USub):
            def fn(root: Any) -> Any:
                return -_number(inner(root))
        elif isinstance(node.op, ast.UAdd):
            def fn(root: Any) -> Any:
                return +_number(inner(root))
        else:
            raise self.error(node, "operator '~' is not allowed")
        if operand.constant:
            return self.constant(node, fn)
        return _Code(fn, float_free=True)

    def _BinOp(self, node: ast.BinOp, depth: int) -> _Code:
        apply = _ARITHMETIC.get(type(node.op))
        if apply is None:
            self.compile(node.left, depth)
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), "?")
            raise self.error(node, f"operator '{symbol}' is not allowed "
                             "(only + - * / on numbers)")
        left = self.compile(node.left, depth)
        right = self.compile(node.right, depth)
        left_fn, right_fn = left.fn, right.fn

        def fn(root: Any) -> Any:
            return apply(left_fn(root), right_fn(root))
        if left.constant and right.constant:
            return self.constant(node, fn)
        return _Code(fn, float_free=True)

    def _Compare(self, node: ast.Compare, depth: int) -> _Code:
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            if isinstance(op, (ast.Is, ast.IsNot)) and not any(
                    isinstance(side, ast.Constant)
                    and any(side.value is s for s in _SINGLETONS)
                    for side in operands[index:index + 2]):
                raise self.error(operands[index + 1], "'is' and 'is not' "
                                 "only compare with None, True or False")
        codes = self._items(operands, depth)
        fn: _Fn
        if len(node.ops) == 1:
            fn = _compare_one(node.ops[0], codes[0], codes[1])
        else:
            fns = [_norm_fn(c) for c in codes]
            pairs = [(_COMPARE[type(op)], f)
                     for op, f in zip(node.ops, fns[1:], strict=True)]
            first = fns[0]

            def fn(root: Any) -> Any:
                left = first(root)
                for compare, right_fn in pairs:
                    right = right_fn(root)
                    if not compare(left, right):
                        return False
                    left = right
                return True
        if all(c.constant for c in codes):
            return self.constant(node, fn)
        return _Code(fn, float_free=True)


def _known_keys(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The keys of the fixed-shape mapping at ``path``, None if free."""
    if not path:
        return tuple(DATAPOINT_KEYS)
    if len(path) == 1:
        return DATAPOINT_KEYS[path[0]]
    return None


def _compare_one(op: ast.cmpop, left: _Code, right: _Code) -> _Fn:
    """One comparison; the usual case of a constant right-hand side needs
    a single call of the left-hand side per evaluation."""
    compare = _COMPARE[type(op)]
    left_fn = left.fn
    check = not left.float_free
    if not right.constant:
        left_fn, right_fn = _norm_fn(left), _norm_fn(right)

        def fn(root: Any) -> Any:
            return compare(left_fn(root), right_fn(root))
        return fn
    value = right.value
    if isinstance(op, (ast.In, ast.NotIn)):
        if isinstance(value, (list, tuple, set)):
            return _membership(left, value, isinstance(op, ast.NotIn))
    elif isinstance(op, (ast.Is, ast.IsNot)):
        check = False  # identity with None/True/False: floats are neither
    if check:
        def fn(root: Any) -> Any:
            found = left_fn(root)
            if found.__class__ is float:
                found = _DECIMAL(repr(found))
            return compare(found, value)
    else:
        def fn(root: Any) -> Any:
            return compare(left_fn(root), value)
    return fn


def _membership(left: _Code, container: list[Any] | tuple[Any, ...]
                | set[Any], negate: bool) -> _Fn:
    """``left in container`` for a constant list, tuple or set: a hash
    lookup when every item is hashable (equal numbers hash equal, so this
    keeps ``==`` semantics)."""
    items = tuple(container)
    left_fn = left.fn
    if isinstance(container, set):  # Python's set: hashable values only
        left_fn = _norm_fn(left)

        def in_set(root: Any) -> Any:
            return (left_fn(root) in container) is not negate
        return in_set
    try:
        lookup: Any = frozenset(items)
    except TypeError:
        lookup = items

    def fn(root: Any) -> Any:
        value = left_fn(root)
        if value.__class__ is float:
            value = _DECIMAL(repr(value))
        try:
            found = value in lookup
        except TypeError:  # an unhashable value: compare one by one
            found = value in items
        return found is not negate
    return fn


def _dict_path(path: tuple[str, ...]) -> _Fn:
    if len(path) == 1:
        return operator.itemgetter(path[0])
    first, second = path

    def fn(d: Any) -> Any:
        return d[first][second]
    return fn


# -- public API --------------------------------------------------------

class SkipExpression:
    """A parsed skip expression; build it with :meth:`parse`.

    ``never`` is true when the expression is a constant false value (the
    default ``False``): callers skip evaluating it at all. ``always`` is
    true when it is a constant true value (every point is dropped).
    """

    __slots__ = ("text", "never", "always", "_dict_fn", "_point_fn")

    text: str
    never: bool
    always: bool

    def __init__(self, text: str, dict_code: _Code,
                 point_code: _Code) -> None:
        self.text = text
        self.never = dict_code.constant and not dict_code.value
        self.always = dict_code.constant and bool(dict_code.value)
        self._dict_fn = dict_code.fn
        self._point_fn = point_code.fn

    @classmethod
    def parse(cls, text: str) -> SkipExpression:
        """Check ``text`` and compile it.

        Raises :class:`InvalidExpression` naming what is refused and where.
        """
        if not isinstance(text, str):
            raise InvalidExpression(f"expected a string, not "
                                    f"{type(text).__name__}")
        if len(text) > MAX_LENGTH:
            raise InvalidExpression(f"the expression is longer than "
                                    f"{MAX_LENGTH} characters")
        # eval() ignores leading blanks; ast.parse would call them an
        # indentation error.
        source = text.lstrip(" \t")
        indent = len(text) - len(source)
        if not source.strip():
            raise InvalidExpression("the expression is empty")
        if "\0" in source:
            raise InvalidExpression("the expression contains a NUL "
                                    "character")
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            lines = _LINE_BREAK.split(source.rstrip())
            reason = "invalid syntax"
            if exc.msg and exc.msg != reason:
                reason = f"{reason}: {exc.msg}"
            line = exc.lineno or 1
            column = exc.offset or 0
            if column < 1:  # Python's way to say "at the end"
                reason = "invalid syntax: the expression is incomplete"
                line = len(lines)
                column = len(lines[-1]) + 1
            if line == 1:
                column += indent
            raise InvalidExpression(reason, line, column,
                                    multiline=len(lines) > 1) from None
        except (RecursionError, MemoryError):
            raise InvalidExpression(
                f"the expression is nested more than {MAX_DEPTH} levels "
                "deep") from None
        compilers = (_Compiler(source, point=False),
                     _Compiler(source, point=True))
        try:
            dict_code, point_code = (c.compile(tree.body)
                                     for c in compilers)
        except InvalidExpression as exc:
            if indent and exc.line == 1 and exc.column is not None:
                raise InvalidExpression(
                    exc.reason, 1, exc.column + indent,
                    multiline=len(compilers[0].lines) > 1) from None
            raise
        return cls(text, dict_code, point_code)

    def matches(self, point_dict: Mapping[str, Any]) -> bool:
        """Whether the point given in its dict form is to be dropped.

        Raises :class:`EvaluationError` when evaluation fails.
        """
        try:
            return bool(self._dict_fn(point_dict))
        except _RUNTIME_ERRORS as exc:
            raise EvaluationError(_describe(exc)) from exc

    def matches_point(self, point: DataPoint) -> bool:
        """Same as :meth:`matches` on ``point.as_dict()``, faster."""
        try:
            return bool(self._point_fn(point))
        except _RUNTIME_ERRORS as exc:
            raise EvaluationError(_describe(exc)) from exc

    def keep(self, points: Iterable[DataPoint],
             on_error: Callable[[DataPoint, EvaluationError], None]
             ) -> list[DataPoint]:
        """The points the expression does not match, in order.

        A point on which evaluation fails is kept, after ``on_error`` is
        called with it and the error.
        """
        if self.never:
            return list(points)
        test = self._point_fn
        kept: list[DataPoint] = []
        append = kept.append
        for point in points:
            try:
                if not test(point):
                    append(point)
            except _RUNTIME_ERRORS as exc:
                on_error(point, EvaluationError(_describe(exc)))
                append(point)
        return kept

    def __repr__(self) -> str:
        return f"SkipExpression({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SkipExpression):
            return NotImplemented
        return self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)
