"""The processor's RPC API, client side (oslo.messaging).

One version number covers every endpoint (``endpoints.py``). History:

* 1.0 — upstream CloudKitty's surface: on topic ``cloudkitty``, namespace
  ``rating``: ``quote``, ``reload_modules``, ``reload_module``,
  ``enable_module``, ``disable_module``; no namespace: ``reset_state``.
* 1.1 — ``reload_modules`` as upstream's API actually casts it (1.1), and
  topic ``cloudkitty-rating``: ``rate_frame``, the hand-over of a
  collected scope-period from a collector worker to a rating worker.
* 1.2 — ``rate_frames``: the scope-periods of many scopes for one period
  in one call, stored in bulk; the reply says, scope by scope, what was
  stored, what was stale and what failed. ``rate_frame`` is unchanged
  (reprocessing uses it, and 1.1 callers).

Frames cross the wire as JSON-safe dicts: ISO dates, quantities and prices
as decimal strings (never floats).
"""
from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent import futures
from typing import Any, NamedTuple

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, parse_datetime
from cloudkitty.service_metrics import processor as service_metrics

__all__ = ["RPC_VERSION", "TOPIC", "RATING_TOPIC", "MAX_POINTS_PER_CALL",
           "BatchReply", "ProcessorClient", "RatingClient", "ScopeFrame",
           "check_transport", "chunk_by_points", "frame_to_wire",
           "frame_from_wire", "get_transport", "is_local_transport"]

LOG = log.getLogger(__name__)

RPC_VERSION = "1.2"
#: What ``rate_frame`` needs (collectors of 1.1 keep working).
RATE_FRAME_VERSION = "1.1"
#: Upstream's topic: module notices, quotes, scope resets.
TOPIC = "cloudkitty"
#: Collector workers → rating workers.
RATING_TOPIC = "cloudkitty-rating"
#: Points one ``rate_frames`` call carries at most (a scope bigger than
#: that goes alone): keeps messages to a few megabytes.
MAX_POINTS_PER_CALL = 20000

_TRANSPORTS: dict[int, messaging.Transport] = {}
_TRANSPORTS_LOCK = threading.Lock()


def get_transport(conf: cfg.ConfigOpts) -> messaging.Transport:
    """The RPC transport of ``[DEFAULT] transport_url``, one per
    configuration object and process."""
    _register_transport_opts(conf)
    with _TRANSPORTS_LOCK:
        transport = _TRANSPORTS.get(id(conf))
        if transport is None:
            try:
                transport = messaging.get_rpc_transport(conf)
            except messaging.InvalidTransportURL as exc:
                raise exceptions.ConfigError(
                    f"invalid transport URL: {exc}", section="DEFAULT",
                    option="transport_url") from None
            except messaging.DriverLoadFailure as exc:
                raise exceptions.ConfigError(
                    f"cannot load the messaging driver: {exc}",
                    section="DEFAULT", option="transport_url") from None
            _TRANSPORTS[id(conf)] = transport
        return transport


def check_transport(conf: cfg.ConfigOpts) -> None:
    """Parse ``transport_url`` and load its driver (no connection is
    made), then forget the transport: processes forked later build
    their own."""
    transport = get_transport(conf)
    with _TRANSPORTS_LOCK:
        _TRANSPORTS.pop(id(conf), None)
    transport.cleanup()


def _register_transport_opts(conf: cfg.ConfigOpts) -> None:
    """Make ``[DEFAULT] transport_url`` readable without building a
    transport (the service manager must not hold one when it forks)."""
    from oslo_messaging import opts

    from cloudkitty.conf import defaults

    defaults.set_messaging_defaults()
    for group, options in opts.list_opts():
        if group is None or group == "DEFAULT":
            conf.register_opts(options)
    # oslo.messaging reads some groups (tracing, metrics...) from any
    # configuration object but registers them on the global one only.
    if conf is cfg.CONF:
        return
    for group in list(cfg.CONF):
        if not group.startswith("oslo_messaging") or group in conf:
            continue
        options = cfg.CONF[group]
        if not isinstance(options, cfg.ConfigOpts.GroupAttr):
            continue
        conf.register_opts(
            [cfg.CONF._get_opt_info(name, group)["opt"]
             for name in options], group=group)


def is_local_transport(conf: cfg.ConfigOpts) -> bool:
    """True for ``fake://``: messages never leave the process."""
    _register_transport_opts(conf)
    url = conf.transport_url or ""
    return url.startswith("fake:")


# -- frames on the wire --------------------------------------------------

def _iso(value: datetime.datetime) -> str:
    return value.isoformat()


def frame_to_wire(frame: DataFrame) -> dict[str, Any]:
    usage = {}
    for metric_type, points in frame.itertypes():
        usage[metric_type] = [{
            "vol": {"unit": p.unit, "qty": str(p.qty)},
            "rating": {"price": str(p.price)},
            "groupby": dict(p.groupby),
            "metadata": dict(p.metadata),
            "description": p.description,
        } for p in points]
    return {"period": {"begin": _iso(frame.start), "end": _iso(frame.end)},
            "usage": usage}


def frame_from_wire(data: Any) -> DataFrame:
    return DataFrame.from_dict(data)


def _time_to_wire(value: datetime.datetime | None) -> str | None:
    return None if value is None else _iso(value)


def time_from_wire(value: str | None) -> datetime.datetime | None:
    return None if value is None else parse_datetime(value, "timestamp")


# -- clients ---------------------------------------------------------------

class RatingClient:
    """Collector worker side of ``rate_frame``."""

    #: How long a call keeps retrying while no rating worker listens yet
    #: (they start at the same time as the collector workers).
    WAIT_FOR_LISTENER = 30.0

    def __init__(self, conf: cfg.ConfigOpts, timeout: float) -> None:
        target = messaging.Target(topic=RATING_TOPIC,
                                  version=RATE_FRAME_VERSION)
        # at_least_once: a message no queue takes fails at once
        # (MessageUndeliverable) instead of vanishing until the timeout.
        self._client = messaging.get_rpc_client(
            get_transport(conf), target, timeout=timeout,
            transport_options=messaging.TransportOptions(
                at_least_once=True))
        self._batch_client = self._client.prepare(version=RPC_VERSION)
        self._batch_supported = True

    def _call(self, method: str = "rate_frame", **kwargs: Any
              ) -> dict[str, Any]:
        client = self._client if method == "rate_frame" \
            else self._batch_client
        deadline = time.monotonic() + self.WAIT_FOR_LISTENER
        delay = 0.1
        while True:
            try:
                with service_metrics.rating_rpc(method):
                    reply: dict[str, Any] = client.call({}, method,
                                                        **kwargs)
                return reply
            except messaging.MessageUndeliverable:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def rate_frame(self, scope_id: str, frame: DataFrame,
                   expected: datetime.datetime | None,
                   schedule_id: int | None = None) -> dict[str, Any]:
        """Have a rating worker rate and store ``frame`` for ``scope_id``
        and advance the progress from ``expected``; waits for the
        acknowledgement.

        Raises :class:`StaleProgress` if the progress moved meanwhile and
        :class:`ProcessorError` when no rating worker answered in time.
        """
        try:
            reply = self._call(
                scope_id=scope_id, frame=frame_to_wire(frame),
                expected=_time_to_wire(expected), schedule_id=schedule_id)
        except messaging.MessageUndeliverable:
            raise exceptions.ProcessorError(
                f"No rating worker is listening (topic {RATING_TOPIC}); "
                f"scope '{scope_id}' period {frame.start.isoformat()} "
                f"will be retried.") from None
        except messaging.MessagingTimeout:
            raise exceptions.ProcessorError(
                f"No rating worker acknowledged scope '{scope_id}' period "
                f"{frame.start.isoformat()} in time.") from None
        except messaging.MessagingException as exc:
            raise exceptions.ProcessorError(
                f"Could not hand scope '{scope_id}' period "
                f"{frame.start.isoformat()} to a rating worker: "
                f"{exc}") from None
        if reply.get("status") == "stale":
            raise exceptions.StaleProgress(reply.get("reason"))
        if reply.get("status") != "stored":
            raise exceptions.ProcessorError(
                f"Rating scope '{scope_id}' period "
                f"{frame.start.isoformat()} failed: {reply.get('reason')}")
        return reply

    def rate_frames(self, begin: datetime.datetime,
                    end: datetime.datetime,
                    items: Sequence[ScopeFrame]) -> BatchReply:
        """Have a rating worker rate and store the frames of ``items``
        (one period, ``[begin, end)``) in bulk, each scope advancing from
        its ``expected`` progress; waits for the acknowledgement.

        Each scope is stored whole or not at all; the reply says which
        were. Raises :class:`ProcessorError` when no rating worker
        answered (then any of them may or may not have been stored: their
        progress tells).
        """
        what = f"{len(items)} scopes for period {begin.isoformat()}"
        try:
            if not self._batch_supported:
                return self._rate_one_by_one(items)
            reply = self._call(
                "rate_frames", begin=_iso(begin), end=_iso(end),
                items=[{"scope_id": item.scope_id,
                        "frame": frame_to_wire(item.frame),
                        "expected": _time_to_wire(item.expected)}
                       for item in items])
        except (messaging.UnsupportedVersion, messaging.NoSuchMethod):
            return self._before_batches(items)
        except messaging.RemoteError as exc:
            if exc.exc_type in ("UnsupportedVersion", "NoSuchMethod"):
                return self._before_batches(items)
            raise exceptions.ProcessorError(
                f"Could not hand {what} to a rating worker: "
                f"{exc}") from None
        except messaging.MessageUndeliverable:
            raise exceptions.ProcessorError(
                f"No rating worker is listening (topic {RATING_TOPIC}); "
                f"{what} will be retried.") from None
        except messaging.MessagingTimeout:
            raise exceptions.ProcessorError(
                f"No rating worker acknowledged {what} in time.") from None
        except messaging.MessagingException as exc:
            raise exceptions.ProcessorError(
                f"Could not hand {what} to a rating worker: "
                f"{exc}") from None
        if reply.get("status") != "done":
            raise exceptions.ProcessorError(
                f"Rating {what} failed: {reply.get('reason')}")
        return BatchReply(
            stored={str(k): int(v)
                    for k, v in (reply.get("stored") or {}).items()},
            stale={str(k): str(v)
                   for k, v in (reply.get("stale") or {}).items()},
            failed={str(k): str(v)
                    for k, v in (reply.get("failed") or {}).items()})

    def _before_batches(self, items: Sequence[ScopeFrame]) -> BatchReply:
        """A rating worker older than 1.2 refused ``rate_frames``
        (nothing was stored): rate scope by scope from now on; a new
        collector worker tries batches again."""
        LOG.warning("A rating worker does not know rate_frames (RPC "
                    "1.2); handing frames over one scope at a time")
        self._batch_supported = False
        return self._rate_one_by_one(items)

    def _rate_one_by_one(self, items: Sequence[ScopeFrame]) -> BatchReply:
        reply = BatchReply({}, {}, {})
        for item in items:
            try:
                answer = self.rate_frame(item.scope_id, item.frame,
                                         item.expected)
            except exceptions.StaleProgress as exc:
                reply.stale[item.scope_id] = exc.message
            except exceptions.ProcessorError as exc:
                reply.failed[item.scope_id] = exc.message
            else:
                reply.stored[item.scope_id] = int(answer.get("points", 0))
        return reply


class ScopeFrame(NamedTuple):
    """One scope's part of a ``rate_frames`` call."""

    scope_id: str
    frame: DataFrame
    #: The scope's progress when the frame was collected.
    expected: datetime.datetime | None


class BatchReply(NamedTuple):
    """A rating worker's answer to ``rate_frames``, by scope id:
    ``stored`` (points stored), ``stale`` and ``failed`` (reasons);
    nothing was written for the latter two."""

    stored: dict[str, int]
    stale: dict[str, str]
    failed: dict[str, str]


def chunk_by_points(items: Sequence[ScopeFrame],
                    max_points: int = MAX_POINTS_PER_CALL
                    ) -> Iterator[list[ScopeFrame]]:
    """``items`` in order, cut into lists of at most ``max_points``
    points (a bigger single scope makes a list of its own)."""
    chunk: list[ScopeFrame] = []
    points = 0
    for item in items:
        size = len(item.frame)
        if chunk and points + size > max_points:
            yield chunk
            chunk, points = [], 0
        chunk.append(item)
        points += size
    if chunk:
        yield chunk


_SENDER: futures.ThreadPoolExecutor | None = None


def _notice_sender() -> futures.ThreadPoolExecutor:
    """One thread per process sends the notices, in order."""
    global _SENDER
    with _TRANSPORTS_LOCK:
        if _SENDER is None:
            _SENDER = futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="rpc-notices")
        return _SENDER


class ProcessorClient:
    """API side: notices, quotes and resets sent to the processors.

    Notices are best effort: a processor reads the module states and the
    rules at every scope-period, so a lost notice loses nothing; they are
    sent from a background thread so an unreachable broker never holds up
    an API request.
    """

    def __init__(self, conf: cfg.ConfigOpts, timeout: float = 30) -> None:
        self._conf = conf
        self._timeout = timeout

    def _client(self, namespace: str | None = None,
                fanout: bool = False) -> Any:
        target = messaging.Target(topic=TOPIC, namespace=namespace,
                                  version=RPC_VERSION, fanout=fanout)
        return messaging.get_rpc_client(get_transport(self._conf), target,
                                        timeout=self._timeout)

    def _cast_later(self, method: str, namespace: str | None,
                    fanout: bool, **kwargs: Any) -> None:
        def send() -> None:
            try:
                self._client(namespace, fanout).prepare(retry=2).cast(
                    {}, method, **kwargs)
            except Exception as exc:  # a notice must never fail a request
                LOG.warning("Could not notify the processors (%s): %s",
                            method, exc)
        _notice_sender().submit(send)

    def reload_modules(self) -> None:
        self._cast_later("reload_modules", "rating", True)

    def reload_module(self, name: str) -> None:
        self._cast_later("reload_module", "rating", True, name=name)

    def set_module_enabled(self, name: str, enabled: bool) -> None:
        method = "enable_module" if enabled else "disable_module"
        self._cast_later(method, "rating", True, name=name)

    def reset_state(self, scopes: Sequence[dict[str, Any]],
                    timestamp: datetime.datetime) -> None:
        self._cast_later("reset_state", None, False, res_data={
            "scopes": list(scopes),
            "last_processed_timestamp": _iso(timestamp)})

    def quote(self, usage: dict[str, Any]) -> str:
        try:
            return str(self._client("rating").call(
                {}, "quote", res_data={"usage": usage}))
        except messaging.MessagingException as exc:
            raise exceptions.ProcessorError(
                f"No processor answered the quote: {exc}") from None
