"""Compile and run rating scripts on a frame.

A script sees one global, ``data``: the frame as plain mutable dicts and
lists (Decimals for quantities and prices, datetimes for the period)::

    {"period": {"begin": datetime, "end": datetime},
     "usage": {metric_type: [{"vol": {"unit": str, "qty": Decimal},
                              "rating": {"price": Decimal},
                              "groupby": {...}, "metadata": {...},
                              "description": str  # only when set
                              }, ...]}}

Whatever ``data`` holds when the script returns is validated and becomes
the frame: prices are what the script left, they are not added to the
incoming ones.

Scripts are code written by the cloud's administrators and run inside the
processor with its privileges. The namespace they get lacks a few
builtins that would hang or stop a worker (``input``, ``exit``...), which
prevents accidents only: it is **not** a sandbox and must never be fed
code from anyone but an administrator.
"""
from __future__ import annotations

import builtins
import copy
import dataclasses
import datetime
import decimal
import traceback
import types
from collections.abc import Iterable, Mapping
from typing import Any

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint

__all__ = ["CompiledScript", "compile_script", "run_scripts"]

#: Builtins a script does not get: they read the terminal, start a
#: debugger or stop the interpreter, none of which a worker may do.
_WITHHELD_BUILTINS = frozenset({
    "input", "breakpoint", "help", "exit", "quit", "copyright", "credits",
    "license",
})

_SCRIPT_BUILTINS: Mapping[str, Any] = types.MappingProxyType({
    name: value for name, value in vars(builtins).items()
    if name not in _WITHHELD_BUILTINS
})

#: Values shared as they are between the frame and the script's ``data``
#: because nothing can change them in place.
_IMMUTABLE = (str, int, float, bool, type(None), decimal.Decimal,
              datetime.datetime, datetime.date, datetime.time,
              datetime.timedelta)


@dataclasses.dataclass(frozen=True)
class CompiledScript:
    """A script ready to run: its identity (for error messages) and its
    code object."""

    script_id: str
    name: str
    checksum: str
    code: types.CodeType

    @property
    def label(self) -> str:
        return f"'{self.name}' ({self.script_id})"


def _filename(script_id: str) -> str:
    # Tracebacks name this file, which lets us find the script's line.
    return f"<pyscript {script_id}>"


def compile_script(script_id: str, name: str, source: str,
                   checksum: str = "") -> CompiledScript:
    """Compile ``source``; a syntax error raises RatingError naming the
    script and the line."""
    try:
        code = compile(source, _filename(script_id), "exec",
                       dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise exceptions.RatingError(
            f"pyscripts: script '{name}' ({script_id}) does not compile: "
            f"{syntax_problem(exc)}", module="pyscripts",
            script_id=script_id, script_name=name) from None
    return CompiledScript(script_id, name, checksum, code)


def syntax_problem(exc: SyntaxError | ValueError) -> str:
    """One line describing why source does not compile."""
    if isinstance(exc, SyntaxError):
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return f"{type(exc).__name__}{where}: {exc.msg}"
    # compile() raises ValueError for NUL bytes in the source.
    return f"{type(exc).__name__}: {exc}"


def _copy_value(value: Any) -> Any:
    if isinstance(value, _IMMUTABLE):
        return value
    # A list or dict inside groupby/metadata: the script must not be able
    # to reach the (immutable) input frame through it.
    return copy.deepcopy(value)


def _point_dict(point: DataPoint) -> dict[str, Any]:
    out: dict[str, Any] = {
        "vol": {"unit": point.unit, "qty": point.qty},
        "rating": {"price": point.price},
        "groupby": {k: _copy_value(v) for k, v in point.groupby.items()},
        "metadata": {k: _copy_value(v) for k, v in point.metadata.items()},
    }
    if point.description is not None:
        out["description"] = point.description
    return out


def frame_to_data(frame: DataFrame) -> dict[str, Any]:
    """The mutable ``data`` a script receives for ``frame``."""
    return {
        "period": {"begin": frame.start, "end": frame.end},
        "usage": {metric_type: [_point_dict(p) for p in points]
                  for metric_type, points in frame.itertypes()},
    }


def _script_line(exc: BaseException, script_id: str) -> int | None:
    """The line of the script where ``exc`` was raised (the innermost
    frame that belongs to the script)."""
    line = None
    for entry in traceback.extract_tb(exc.__traceback__):
        if entry.filename == _filename(script_id):
            line = entry.lineno
    return line


def _failure(script: CompiledScript, reason: str) -> exceptions.RatingError:
    return exceptions.RatingError(
        f"pyscripts: script {script.label} failed: {reason}",
        module="pyscripts", script_id=script.script_id,
        script_name=script.name)


def _run_one(script: CompiledScript, frame: DataFrame) -> DataFrame:
    namespace: dict[str, Any] = {
        "__builtins__": dict(_SCRIPT_BUILTINS),
        "__name__": "__pyscript__",
        "data": frame_to_data(frame),
    }
    try:
        exec(script.code, namespace)  # trusted administrator code
    except (Exception, SystemExit) as exc:
        # SystemExit too: a script calling sys.exit() must fail its
        # scope-period, not stop the worker.
        line = _script_line(exc, script.script_id)
        where = f" at line {line}" if line else ""
        raise _failure(script, f"{type(exc).__name__}{where}: {exc}"
                       ) from exc
    if "data" not in namespace:
        raise _failure(script, "the global 'data' was deleted")
    try:
        result = DataFrame.from_dict(namespace["data"])
    except exceptions.DataFrameError as exc:
        raise _failure(script, f"invalid 'data': {exc.message}") from None
    except Exception as exc:
        # A script can leave objects whose comparisons or conversions
        # raise anything; they are still a malformed frame.
        raise _failure(script, f"invalid 'data': {type(exc).__name__}: "
                               f"{exc}") from None
    if (result.start, result.end) != (frame.start, frame.end):
        raise _failure(script, "invalid 'data': the period was changed")
    return result


def run_scripts(scripts: Iterable[CompiledScript],
                frame: DataFrame) -> DataFrame:
    """Run ``scripts`` in order, each on the frame the previous one left.

    Returns the last frame; raises RatingError naming the first script
    that raised or left a malformed ``data``. ``frame`` itself is never
    changed, so a failure leaves nothing half-applied.
    """
    for script in scripts:
        frame = _run_one(script, frame)
    return frame
