"""/v2/scope: where rating stands for each scope (COMPAT.md §3.2).

* ``GET`` lists scope states (filters ``scope_id``, ``scope_key``,
  ``fetcher``, ``collector``, ``active``; paginated); 404 when nothing
  matches.
* ``PUT`` resets scopes to a date: their rated data from that date on is
  deleted and their state set to it, under each scope's processing lock
  (:mod:`cloudkitty.processor.reset`); 202 ``{}``. The date may be sent as
  ``last_processed_timestamp`` or, as python-cloudkittyclient does, as
  ``state``.
* ``PATCH`` gives the one row of a scope id new ``scope_key``,
  ``fetcher``, ``collector`` or ``active`` values.
* ``POST`` adds a scope; omitted keys take the configured values
  (``[collect] scope_key``, ``[fetcher] backend``, ``[collect]
  collector``); an existing scope id is 409.

A scope document carries, besides upstream's keys, ``state`` (the same
value as ``last_processed_timestamp``), which is the column the official
client's ``scope state get`` shows.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import pecan
import voluptuous as vol

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v2 import base, validation
from cloudkitty.processor import reset
from cloudkitty.storage import state as state_api

__all__ = ["ScopeResource", "scope_document", "target"]

UTC = datetime.timezone.utc

#: Seconds ``PUT`` waits, in all, for processors to release the scopes.
RESET_LOCK_TIMEOUT = reset.DEFAULT_LOCK_TIMEOUT

_MULTI = validation.MultiQueryParam(validation.text)

# Column sizes of cloudkitty_storage_states.
_ID_LENGTH = 256
_KEY_LENGTH = 40


def _optional_datetime(value: Any) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    return validation.utc_datetime(value)


def _text(max_length: int) -> Any:
    """A non-empty string (a one-item list, as a query would give, is
    accepted) of at most ``max_length`` characters."""
    def check(value: Any) -> str:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str) or not value.strip():
            raise vol.Invalid("expected a non-empty string")
        if len(value) > max_length:
            raise vol.Invalid(f"longer than {max_length} characters")
        return value
    return check


def _flags(value: Any) -> list[bool]:
    """The ``active`` query filter: ``1``/``0``/``true``/``false`` (any
    case), repeated or comma-separated."""
    flags = []
    for item in _MULTI(value):
        text = item.strip().lower()
        if text not in ("1", "0", "true", "false"):
            raise vol.Invalid(f"expected 0, 1, true or false, got {item!r}")
        flags.append(text in ("1", "true"))
    return flags


def _names(values: Iterable[str] | None) -> list[str] | None:
    """Non-empty values, or None (no filter) when there are none."""
    kept = [v for v in (values or []) if v]
    return kept or None


def target(scope_ids: str | Iterable[str] | None) -> dict[str, Any]:
    """Policy target: the scope when exactly one is named (so a rule such
    as ``project_id:%(project_id)s`` can let owners see their own scope),
    None otherwise."""
    if isinstance(scope_ids, str):
        one: str | None = scope_ids
    else:
        distinct = set(scope_ids or [])
        one = distinct.pop() if len(distinct) == 1 else None
    return {"project_id": one, "tenant_id": one}


def scope_document(record: state_api.ScopeStateRecord) -> dict[str, Any]:
    """A scope as v2 shows it (aware UTC ISO 8601 dates)."""
    return {"scope_id": record.scope_id,
            "scope_key": record.scope_key,
            "fetcher": record.fetcher,
            "collector": record.collector,
            "last_processed_timestamp": record.last_processed_timestamp,
            "state": record.last_processed_timestamp,
            "active": record.active,
            "scope_activation_toggle_date":
                record.scope_activation_toggle_date}


def _states() -> state_api.StateManager:
    return state_api.StateManager(pecan.request.conf)


def _authorize(rule: str, scope_ids: str | Iterable[str] | None) -> None:
    policy.authorize(pecan.request.context, rule, target(scope_ids))


class ScopeResource(base.Resource):
    """/v2/scope."""

    @base.expose(query={
        vol.Optional("scope_id"): _MULTI,
        vol.Optional("scope_key"): _MULTI,
        vol.Optional("fetcher"): _MULTI,
        vol.Optional("collector"): _MULTI,
        vol.Optional("active"): _flags,
        **validation.PAGINATION,
    })
    def get_all(self, *, offset: int, limit: int,
                scope_id: list[str] | None = None,
                scope_key: list[str] | None = None,
                fetcher: list[str] | None = None,
                collector: list[str] | None = None,
                active: list[bool] | None = None) -> dict[str, Any]:
        _authorize("scope:get_state", scope_id)
        records = _states().list_states(
            scope_id=_names(scope_id), scope_key=_names(scope_key),
            fetcher=_names(fetcher), collector=_names(collector),
            active=active or None, offset=offset, limit=limit)
        if not records:
            raise exceptions.NotFound(
                "No resource found for provided filters.")
        return {"results": [scope_document(r) for r in records]}

    @base.expose(body={
        vol.Optional("all_scopes"): validation.flag,
        vol.Optional("scope_id"): _MULTI,
        vol.Optional("scope_key"): _MULTI,
        vol.Optional("fetcher"): _MULTI,
        vol.Optional("collector"): _MULTI,
        vol.Optional("last_processed_timestamp"): _optional_datetime,
        # The spelling of python-cloudkittyclient's `scope state reset`.
        vol.Optional("state"): _optional_datetime,
    }, status=202)
    def put(self, *, all_scopes: bool = False,
            scope_id: list[str] | None = None,
            scope_key: list[str] | None = None,
            fetcher: list[str] | None = None,
            collector: list[str] | None = None,
            last_processed_timestamp: datetime.datetime | None = None,
            state: datetime.datetime | None = None) -> dict[str, Any]:
        ids = _names(scope_id)
        _authorize("scope:reset_state", ids)
        if all_scopes and ids:
            raise exceptions.InvalidInput(
                "Give either all_scopes or scope_id, not both.",
                field="all_scopes")
        if not all_scopes and not ids:
            raise exceptions.InvalidInput(
                "Either all_scopes or a scope_id should be specified.",
                field="scope_id")
        if (last_processed_timestamp is not None and state is not None
                and last_processed_timestamp != state):
            raise exceptions.InvalidInput(
                "'last_processed_timestamp' and 'state' are two names of "
                "the same value; give one.", field="state")
        timestamp = last_processed_timestamp or state
        if timestamp is None:
            raise exceptions.InvalidInput(
                "Variable 'last_processed_timestamp' cannot be empty/None.",
                field="last_processed_timestamp")
        conf = pecan.request.conf
        # all_scopes means the scopes the processor rates, as upstream;
        # named scopes are reset whether active or not.
        records = _states().list_states(
            scope_id=ids, scope_key=_names(scope_key),
            fetcher=_names(fetcher), collector=_names(collector),
            active=True if all_scopes else None)
        if not records:
            raise exceptions.NotFound(
                "No resource found for provided filters.")
        reset.reset_scopes(conf, records, timestamp,
                           lock_timeout=RESET_LOCK_TIMEOUT)
        return {}

    @base.expose(body={
        vol.Required("scope_id"): _text(_ID_LENGTH),
        vol.Optional("scope_key"): _text(_KEY_LENGTH),
        vol.Optional("fetcher"): _text(_KEY_LENGTH),
        vol.Optional("collector"): _text(_KEY_LENGTH),
        vol.Optional("active"): validation.flag,
    })
    def patch(self, *, scope_id: str, scope_key: str | None = None,
              fetcher: str | None = None, collector: str | None = None,
              active: bool | None = None) -> dict[str, Any]:
        _authorize("scope:patch_state", scope_id)
        record = _states().update_state(
            scope_id, scope_key=scope_key, fetcher=fetcher,
            collector=collector, active=active)
        return scope_document(record)

    @base.expose(body={
        vol.Required("scope_id"): _text(_ID_LENGTH),
        vol.Required("last_processed_timestamp"): validation.utc_datetime,
        vol.Optional("scope_key"): _text(_KEY_LENGTH),
        vol.Optional("fetcher"): _text(_KEY_LENGTH),
        vol.Optional("collector"): _text(_KEY_LENGTH),
        vol.Optional("active", default=True): validation.flag,
    })
    def post(self, *, scope_id: str,
             last_processed_timestamp: datetime.datetime,
             active: bool, scope_key: str | None = None,
             fetcher: str | None = None,
             collector: str | None = None) -> dict[str, Any]:
        _authorize("scope:post_state", scope_id)
        record = _states().create_state(
            scope_id, last_processed_timestamp, scope_key=scope_key,
            fetcher=fetcher, collector=collector, active=active)
        return scope_document(record)
