"""Types of /v1/rating/module_config/pyscripts."""
from __future__ import annotations

import datetime
from typing import Any

from wsme import types as wtypes

from cloudkitty.rating.pyscripts import db

__all__ = ["Boolean", "Script", "ScriptCollection"]

_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f", ""})


class Boolean(wtypes.UserType):
    """A boolean given as JSON or as a query string word.

    WSME's own ``bool`` turns any non-empty query string into True
    (``?deleted=false`` would mean True); this one reads the word.
    """

    basetype = wtypes.text
    name = "boolean"

    def validate(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise ValueError(f"Value not an unambiguous boolean: {value}")

    def frombasetype(self, value: Any) -> bool | None:
        if value is None:
            return None
        return self.validate(value)


def _iso(value: datetime.datetime | None) -> str | None:
    # WSME's rendering of a naive datetime.
    return None if value is None else value.isoformat()


class Script(wtypes.Base):
    """A rating script.

    ``start`` and ``end`` are read as text so that an ``end`` given as a
    bare date can mean the end of that day; they are written like every
    v1 datetime (naive UTC ISO 8601).
    """

    script_id = wtypes.wsattr(wtypes.text, mandatory=False)
    """UUID of the script."""

    name = wtypes.wsattr(wtypes.text, mandatory=True)
    """Name of the script, unique among the scripts not deleted."""

    data = wtypes.wsattr(wtypes.text, mandatory=False)
    """Python source of the script."""

    checksum = wtypes.wsattr(wtypes.text, mandatory=False, readonly=True)
    """SHA-512 hex digest of the UTF-8 source (computed)."""

    created_at = wtypes.wsattr(datetime.datetime, mandatory=False)
    """When the script was created (read-only in effect)."""

    start = wtypes.wsattr(wtypes.text, mandatory=False)
    """Start of validity (ISO 8601; defaults to now)."""

    end = wtypes.wsattr(wtypes.text, mandatory=False)
    """End of validity, exclusive (ISO 8601; a bare date means 23:59:59
    of that day)."""

    description = wtypes.wsattr(wtypes.text, mandatory=False)
    """Free text."""

    deleted = wtypes.wsattr(datetime.datetime, mandatory=False)
    """When the script was deleted (read-only in effect)."""

    created_by = wtypes.wsattr(wtypes.text, mandatory=False)
    updated_by = wtypes.wsattr(wtypes.text, mandatory=False)
    deleted_by = wtypes.wsattr(wtypes.text, mandatory=False)

    @classmethod
    def from_script(cls, script: db.Script, no_data: bool = False
                    ) -> Script:
        out = cls(script_id=script.script_id, name=script.name,
                  checksum=script.checksum, created_at=script.created_at,
                  start=_iso(script.start), end=_iso(script.end),
                  description=script.description, deleted=script.deleted,
                  created_by=script.created_by,
                  updated_by=script.updated_by,
                  deleted_by=script.deleted_by)
        if not no_data:
            out.data = script.data
        return out

    @classmethod
    def sample(cls) -> Script:
        source = "data['usage'] = data['usage']\n"
        return cls(script_id="f23c9ed8-3a3c-4e6c-b97e-ea66d2e2c2f1",
                   name="policy", data=source,
                   checksum=db.checksum_of(source),
                   created_at=datetime.datetime(2024, 1, 1),
                   start="2024-01-01T00:00:00", end=None,
                   description="Sample", deleted=None,
                   created_by="7b2f1a0c9d8e4f6a5b3c2d1e0f9a8b7c",
                   updated_by=None, deleted_by=None)


class ScriptCollection(wtypes.Base):
    """A list of scripts."""

    scripts = [Script]

    @classmethod
    def sample(cls) -> ScriptCollection:
        return cls(scripts=[Script.sample()])
