"""The processor's RPC API, server side: endpoints and servers.

See ``rpcapi.py`` for the version history; every endpoint carries
``rpcapi.RPC_VERSION``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.dataframe import DataPoint
from cloudkitty.processor import reset, rpcapi
from cloudkitty.processor.local import RatingGate
from cloudkitty.processor.unit import BatchItem, RatingUnit
from cloudkitty.rating import quote as quote_mod

__all__ = ["RatingEndpoint", "RatingWorkerEndpoint", "ScopeEndpoint",
           "rating_server", "processor_server"]

LOG = log.getLogger(__name__)


class RatingWorkerEndpoint:
    """``rate_frame`` and ``rate_frames``: the collector → rating worker
    hand-over."""

    target = messaging.Target(version=rpcapi.RPC_VERSION)

    def __init__(self, unit: RatingUnit,
                 gate: RatingGate | None = None) -> None:
        self._unit = unit
        self._gate = gate or RatingGate(None)

    def rate_frame(self, ctxt: Any, scope_id: str, frame: Any,
                   expected: str | None,
                   schedule_id: int | None = None) -> dict[str, Any]:
        try:
            data = rpcapi.frame_from_wire(frame)
            with self._gate.slot():
                return self._unit.rate_and_store(
                    scope_id, data, rpcapi.time_from_wire(expected),
                    schedule_id)
        except exceptions.StaleProgress as exc:
            LOG.warning("Dropped a stale frame of scope %s: %s", scope_id,
                        exc.message)
            return {"status": "stale", "reason": exc.message}
        except exceptions.CloudKittyError as exc:
            LOG.error("Could not rate scope %s: %s", scope_id, exc.message)
            return {"status": "error", "reason": exc.message}
        except Exception as exc:
            LOG.exception("Unexpected error rating scope %s", scope_id)
            return {"status": "error", "reason": f"unexpected error: {exc}"}

    def rate_frames(self, ctxt: Any, begin: str, end: str,
                    items: Any) -> dict[str, Any]:
        try:
            start = rpcapi.time_from_wire(begin)
            stop = rpcapi.time_from_wire(end)
            if start is None or stop is None:
                raise exceptions.InvalidInput("begin and end are required")
            batch = [BatchItem(str(item["scope_id"]),
                               rpcapi.frame_from_wire(item["frame"]),
                               rpcapi.time_from_wire(item.get("expected")))
                     for item in items]
        except (KeyError, TypeError, AttributeError,
                exceptions.CloudKittyError) as exc:
            LOG.error("Refused a malformed rate_frames request: %s", exc)
            return {"status": "error", "reason": f"malformed request: {exc}"}
        try:
            with self._gate.slot():
                return self._unit.rate_and_store_many(start, stop, batch)
        except exceptions.CloudKittyError as exc:
            LOG.error("Could not store %d scopes for period %s: %s",
                      len(batch), begin, exc.message)
            return {"status": "error", "reason": exc.message}
        except Exception as exc:
            LOG.exception("Unexpected error storing %d scopes for period %s",
                          len(batch), begin)
            return {"status": "error", "reason": f"unexpected error: {exc}"}


class RatingEndpoint:
    """Upstream's ``rating`` namespace. Module notices need no action:
    modules and rules are read for every scope-period."""

    target = messaging.Target(namespace="rating",
                              version=rpcapi.RPC_VERSION)

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._conf = conf

    def quote(self, ctxt: Any, res_data: Any) -> str:
        usage: dict[str, list[DataPoint]] = {}
        raw = res_data.get("usage", {}) if isinstance(res_data, Mapping) \
            else {}
        for service, points in raw.items():
            for index, item in enumerate(points):
                usage.setdefault(service, []).append(DataPoint.from_dict(
                    item, legacy="desc" in item,
                    path=f"usage.{service}[{index}]"))
        return str(quote_mod.quote_total(self._conf, usage))

    def reload_modules(self, ctxt: Any) -> None:
        LOG.info("Rating modules changed; they are reloaded for every "
                 "scope-period")

    def reload_module(self, ctxt: Any, name: str) -> None:
        LOG.info("Rating module %s changed", name)

    def enable_module(self, ctxt: Any, name: str) -> None:
        LOG.info("Rating module %s enabled", name)

    def disable_module(self, ctxt: Any, name: str) -> None:
        LOG.info("Rating module %s disabled", name)


class ScopeEndpoint:
    """``reset_state``, as upstream's API casts it."""

    target = messaging.Target(version=rpcapi.RPC_VERSION)

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._conf = conf

    def reset_state(self, ctxt: Any, res_data: Any) -> None:
        try:
            timestamp = rpcapi.time_from_wire(
                res_data["last_processed_timestamp"])
            scopes = [
                reset.ScopeRef(str(item["scope_id"]), item.get("scope_key"),
                               item.get("fetcher"), item.get("collector"))
                for item in res_data["scopes"]]
        except (KeyError, TypeError, AttributeError,
                exceptions.InvalidInput) as exc:
            LOG.error("Ignored a malformed reset_state request: %s", exc)
            return
        if timestamp is None:
            LOG.error("Ignored a reset_state request without a timestamp")
            return
        try:
            reset.reset_scopes(self._conf, scopes, timestamp)
        except exceptions.CloudKittyError as exc:
            LOG.error("Scope reset to %s failed: %s", timestamp,
                      exc.message)


def rating_server(conf: cfg.ConfigOpts, unit: RatingUnit,
                  gate: RatingGate | None = None
                  ) -> messaging.MessageHandlingServer:
    """The server of a process's rating workers (topic
    ``cloudkitty-rating``), not started: at most as many frames rated at
    once as ``gate`` lets through (no bound without one)."""
    target = messaging.Target(topic=rpcapi.RATING_TOPIC, server=conf.host)
    return messaging.get_rpc_server(
        rpcapi.get_transport(conf), target, [RatingWorkerEndpoint(unit, gate)],
        executor="threading")


def processor_server(conf: cfg.ConfigOpts
                     ) -> messaging.MessageHandlingServer:
    """The upstream-compatible server (topic ``cloudkitty``), not
    started."""
    target = messaging.Target(topic=rpcapi.TOPIC, server=conf.host)
    return messaging.get_rpc_server(
        rpcapi.get_transport(conf), target,
        [RatingEndpoint(conf), ScopeEndpoint(conf)], executor="threading")
