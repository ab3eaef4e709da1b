"""The processor's cotyledon services.

* :class:`CollectorService` (``[orchestrator] max_workers``) runs the
  :class:`~cloudkitty.processor.loop.CollectorLoop`;
* :class:`RatingService` (``max_workers_rating``) serves ``rate_frame``
  and upstream's RPC topic;
* :class:`ReprocessingService` (``max_workers_reprocessing``) runs the
  :class:`~cloudkitty.processor.reprocess.ReprocessLoop`.

With ``transport_url = fake://`` messages cannot leave a process, so each
collector and reprocessing worker serves ``rate_frame`` itself and no
rating worker is started. SIGTERM lets a worker finish the scope-period in
hand; SIGHUP re-reads the configuration files and restarts the workers
the same way.
"""
from __future__ import annotations

import threading
from typing import Any

import cotyledon
from cotyledon.types import WorkerId
from oslo_config import cfg
from oslo_log import log

from cloudkitty import collector as collector_mod
from cloudkitty import fetcher as fetcher_mod
from cloudkitty import storage as storage_mod
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.processor import endpoints, locks, rpcapi
from cloudkitty.processor import skip as skip_mod
from cloudkitty.processor.loop import CollectorLoop, Loop
from cloudkitty.processor.reprocess import ReprocessLoop
from cloudkitty.processor.unit import RatingUnit

__all__ = ["CollectorService", "RatingService", "ReprocessingService",
           "build_manager", "preload"]

LOG = log.getLogger(__name__)

#: Seconds a worker may take to finish its scope-period after SIGTERM.
GRACEFUL_SHUTDOWN_TIMEOUT = 300


def _rating_unit(conf: cfg.ConfigOpts) -> RatingUnit:
    collector = collector_mod.get_collector(conf)
    skipper = skip_mod.load_skip_expressions(conf, collector.metrics)
    return RatingUnit(conf, storage_mod.get_storage(conf), skipper)


def _rpc_timeout(conf: cfg.ConfigOpts) -> float:
    # The same bound as collecting the frame: a rating worker that died
    # with the frame releases the scope (and its lock) after that long.
    return float(conf.orchestrator.collector_request_timeout)


class _Servers:
    """RPC servers of one process, stopped together."""

    def __init__(self) -> None:
        self._servers: list[Any] = []

    def start(self, *servers: Any) -> None:
        for server in servers:
            server.start()
            self._servers.append(server)

    def stop(self) -> None:
        for server in self._servers:
            try:
                server.stop()
                server.wait()
            except Exception:  # stopping is best effort
                LOG.warning("Error while stopping an RPC server",
                            exc_info=True)


class _LoopService(cotyledon.Service):
    """A worker running one :class:`Loop` until terminated."""

    graceful_shutdown_timeout = GRACEFUL_SHUTDOWN_TIMEOUT

    def __init__(self, worker_id: WorkerId, conf: cfg.ConfigOpts) -> None:
        super().__init__(worker_id)
        self.conf = conf
        self.coordinator = locks.Coordinator(conf)
        self.servers = _Servers()
        if rpcapi.is_local_transport(conf):
            self.servers.start(
                endpoints.rating_server(conf, _rating_unit(conf)),
                endpoints.processor_server(conf))
        self.rating = rpcapi.RatingClient(conf, _rpc_timeout(conf))
        self.loop = self.build_loop()
        self._finished = threading.Event()

    def build_loop(self) -> Loop:
        raise NotImplementedError

    def run(self) -> None:
        try:
            self.loop.run()
        finally:
            self._finished.set()

    def terminate(self) -> None:
        self.loop.stop()
        self._finished.wait()
        self.servers.stop()
        self.coordinator.stop()


class CollectorService(_LoopService):
    name = "cloudkitty-collector"

    def build_loop(self) -> Loop:
        return CollectorLoop(
            self.conf, coordinator=self.coordinator,
            fetcher=fetcher_mod.get_fetcher(self.conf),
            collector=collector_mod.get_collector(self.conf),
            rating=self.rating)


class ReprocessingService(_LoopService):
    name = "cloudkitty-reprocessor"

    def build_loop(self) -> Loop:
        return ReprocessLoop(
            self.conf, coordinator=self.coordinator,
            collector=collector_mod.get_collector(self.conf),
            rating=self.rating)


class RatingService(cotyledon.Service):
    """Rates and stores the frames collector workers hand over."""

    name = "cloudkitty-rating"
    graceful_shutdown_timeout = GRACEFUL_SHUTDOWN_TIMEOUT

    def __init__(self, worker_id: WorkerId, conf: cfg.ConfigOpts) -> None:
        super().__init__(worker_id)
        self.conf = conf
        self.servers = _Servers()
        self._stopped = threading.Event()

    def run(self) -> None:
        self.servers.start(
            endpoints.rating_server(self.conf, _rating_unit(self.conf)),
            endpoints.processor_server(self.conf))
        self._stopped.wait()

    def terminate(self) -> None:
        # The threading executor lets the frame in hand finish.
        self.servers.stop()
        self._stopped.set()


def build_manager(conf: cfg.ConfigOpts) -> cotyledon.ServiceManager:
    """The service manager with every worker the configuration asks for
    (checked beforehand by the CLI)."""
    manager = cotyledon.ServiceManager(
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN_TIMEOUT)
    orchestrator = conf.orchestrator
    local = rpcapi.is_local_transport(conf)
    if orchestrator.max_workers:
        manager.add(CollectorService, workers=orchestrator.max_workers,
                    args=(conf,))
    if orchestrator.max_workers_rating and not local:
        manager.add(RatingService, workers=orchestrator.max_workers_rating,
                    args=(conf,))
    if orchestrator.max_workers_reprocessing:
        manager.add(ReprocessingService,
                    workers=orchestrator.max_workers_reprocessing,
                    args=(conf,))

    def reload_config() -> None:
        LOG.info("SIGHUP: reloading the configuration files")
        conf.reload_config_files()
        metrics_mod.check_metrics_conf(conf)

    manager.register_hooks(on_reload=reload_config)
    return manager


def preload(conf: cfg.ConfigOpts) -> None:
    """Import in the master what the workers would otherwise each import
    after forking, so they share those pages instead of loading a copy.

    Only what every worker uses is loaded (the database dialect and its
    driver, the messaging client library): a page the master holds counts
    in the resident size of every worker. The storage backend and the
    rating modules are added when every worker rates (``fake://``).
    Nothing is connected or instantiated here.
    """
    from importlib import metadata

    import sqlalchemy.engine

    if conf.database.connection:
        url = sqlalchemy.engine.make_url(conf.database.connection)
        url.get_dialect().import_dbapi()
    if str(conf.transport_url or "").startswith(("rabbit:", "amqp:")):
        import kombu.transport.pyamqp  # noqa: F401
    if rpcapi.is_local_transport(conf):
        from cloudkitty.rating import modules

        modules.installed_processors()
        for entry_point in metadata.entry_points(
                group=storage_mod.namespace(conf), name=conf.storage.backend):
            entry_point.load()

