"""WSME types shared by v1 resources."""
from __future__ import annotations

import datetime
from typing import Any

from wsme import types as wtypes

__all__ = ["AnyJSON", "plain_json"]


def plain_json(value: Any) -> Any:
    """``value`` with dates as ISO strings, everything else as it is."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


class AnyJSON(wtypes.UserType):
    """Any JSON document, passed through as it is (e.g. parsed YAML)."""

    basetype = wtypes.text
    name = "json"

    def validate(self, value: Any) -> Any:
        return value

    def tobasetype(self, value: Any) -> Any:
        return plain_json(value)
