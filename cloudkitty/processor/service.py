"""The processor's worker processes and how they run.

A processor runs ``[orchestrator] worker_processes`` worker processes
(default 1). Each hosts its share of the workers as threads:

* collector workers (``[orchestrator] max_workers``) run the
  :class:`~cloudkitty.processor.loop.CollectorLoop`;
* reprocessing workers (``max_workers_reprocessing``) run the
  :class:`~cloudkitty.processor.reprocess.ReprocessLoop`;
* rating workers (``max_workers_rating``): that many frames (or batches
  of frames) are rated at once in the process. The process's own
  collector and reprocessing workers rate through them directly
  (:mod:`cloudkitty.processor.local`), and they serve ``rate_frame`` /
  ``rate_frames`` on the message bus for the collector workers of
  processors that have no rating workers (``max_workers_rating = 0``:
  their frames go over the bus).

Every worker process also serves upstream's RPC topic ``cloudkitty``
(quotes, module notices, ``reset_state``). With ``transport_url =
fake://`` messages cannot leave a process, so workers always rate
in-process.

One worker process runs in the ``cloudkitty-processor`` process itself:
no supervisor, one Python runtime, the least memory. More run as
cotyledon worker processes under a supervising master. Either way
SIGTERM lets every worker finish the scope-period in hand, and SIGHUP
re-reads the configuration files and restarts the workers the same way.
"""
from __future__ import annotations

import dataclasses
import gc
import signal
import threading
import time
from types import FrameType
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
from cloudkitty.processor.local import LocalRating, RatingGate
from cloudkitty.processor.loop import CollectingLoop, CollectorLoop, Loop
from cloudkitty.processor.reprocess import ReprocessLoop
from cloudkitty.processor.unit import RatingUnit

__all__ = ["Share", "WorkerProcess", "WorkerService", "build_manager",
           "preload", "run", "share_of"]

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


@dataclasses.dataclass(frozen=True)
class Share:
    """The workers one worker process hosts."""

    collectors: int
    rating: int
    reprocessors: int


def _part(total: int, processes: int, index: int) -> int:
    return total // processes + (1 if index < total % processes else 0)


def share_of(conf: cfg.ConfigOpts, index: int) -> Share:
    """The share of worker process ``index`` (0-based) of the workers the
    configuration asks for, spread as evenly as possible. Rating workers
    go wherever collector or reprocessing workers run, so that those
    rate their own frames: a process with either gets at least one."""
    orchestrator = conf.orchestrator
    processes = max(1, int(orchestrator.worker_processes))
    collectors = _part(orchestrator.max_workers, processes, index)
    reprocessors = _part(orchestrator.max_workers_reprocessing, processes,
                         index)
    rating = _part(orchestrator.max_workers_rating, processes, index)
    if orchestrator.max_workers_rating and (collectors or reprocessors):
        rating = max(rating, 1)
    return Share(collectors, rating, reprocessors)


class _Servers:
    """RPC servers of one process, started while its loops already run
    and stopped together.

    Connecting to the message broker takes a moment (and as long as the
    broker is down): the collector workers, which rate through their own
    process, do not wait for it. A server that could not start is tried
    again every :attr:`RETRY` seconds until :meth:`stop`.
    """

    RETRY = 10.0
    STOP_TIMEOUT = 60.0

    def __init__(self, *servers: Any) -> None:
        self._pending = list(servers)
        self._running: list[Any] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def serve(self) -> None:
        """Start every server (blocks until all run, or :meth:`stop`)."""
        while self._pending and not self._stopped.is_set():
            server = self._pending[0]
            try:
                server.start()
            except Exception:
                LOG.exception("Could not start an RPC server; retrying in "
                              "%g s", self.RETRY)
                self._stopped.wait(self.RETRY)
                continue
            self._pending.pop(0)
            with self._lock:
                self._running.append(server)
                late = self._stopped.is_set()
            if late:
                self._stop_one(server)

    def stop(self) -> None:
        """Stop the running servers, letting the calls in hand finish,
        for at most :attr:`STOP_TIMEOUT` seconds: a server whose broker
        went away can wait for it forever, and the process must still
        stop."""
        with self._lock:
            self._stopped.set()
            running, self._running = self._running, []
        stopping = [threading.Thread(target=self._stop_one, args=(server,),
                                     name="rpc-server-stop", daemon=True)
                    for server in running]
        for thread in stopping:
            thread.start()
        deadline = time.monotonic() + self.STOP_TIMEOUT
        for thread in stopping:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in stopping):
            LOG.warning("An RPC server did not stop within %g s (is the "
                        "message broker reachable?); going on without it",
                        self.STOP_TIMEOUT)

    @staticmethod
    def _stop_one(server: Any) -> None:
        try:
            server.stop()
            server.wait()
        except Exception:  # stopping is best effort
            LOG.warning("Error while stopping an RPC server", exc_info=True)


class WorkerProcess:
    """The workers of one worker process: the loops of its collector and
    reprocessing workers (one thread each) and its rating workers."""

    def __init__(self, conf: cfg.ConfigOpts, share: Share) -> None:
        self.conf = conf
        self.share = share
        self.coordinator = locks.Coordinator(conf)
        local = rpcapi.is_local_transport(conf)
        rating: LocalRating | rpcapi.RatingClient
        servers = []
        if share.rating or local:
            unit = _rating_unit(conf)
            gate = RatingGate(share.rating or 1)
            rating = LocalRating(unit, gate)
            if share.rating and not local:
                servers.append(endpoints.rating_server(conf, unit, gate))
        else:
            rating = rpcapi.RatingClient(conf, _rpc_timeout(conf))
        servers.append(endpoints.processor_server(conf))
        self.servers = _Servers(*servers)
        self.loops: list[CollectingLoop] = []
        for _ in range(share.collectors):
            self.loops.append(CollectorLoop(
                conf, coordinator=self.coordinator,
                fetcher=fetcher_mod.get_fetcher(conf),
                collector=collector_mod.get_collector(conf),
                rating=rating))
        for _ in range(share.reprocessors):
            self.loops.append(ReprocessLoop(
                conf, coordinator=self.coordinator,
                collector=collector_mod.get_collector(conf),
                rating=rating))
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    def run(self) -> None:
        """Run every loop (each in a thread) until :meth:`terminate`."""
        for index, loop in enumerate(self.loops):
            name = f"{type(loop).__name__}-{index}"
            thread = threading.Thread(target=self._run_loop, args=(loop,),
                                      name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.servers.serve()
        self._stopped.wait()

    @staticmethod
    def _run_loop(loop: Loop) -> None:
        try:
            loop.run()
        except BaseException:  # run() logs its own failures
            LOG.exception("A processor worker stopped unexpectedly")

    def terminate(self) -> None:
        """Stop every loop once its scope-period in hand is done, then
        the RPC servers (letting the frames they are rating finish) and
        the lock coordinator."""
        for loop in self.loops:
            loop.stop()
        for thread in self._threads:
            thread.join()
        for loop in self.loops:
            loop.close()
        self.servers.stop()
        self.coordinator.stop()
        self._stopped.set()


class WorkerService(cotyledon.Service):
    """A :class:`WorkerProcess` as a cotyledon worker process."""

    name = "cloudkitty-processor-worker"
    graceful_shutdown_timeout = GRACEFUL_SHUTDOWN_TIMEOUT

    def __init__(self, worker_id: WorkerId, conf: cfg.ConfigOpts) -> None:
        super().__init__(worker_id)
        self.worker = WorkerProcess(conf, share_of(conf, int(worker_id)))

    def run(self) -> None:
        self.worker.run()

    def terminate(self) -> None:
        self.worker.terminate()


def _reload(conf: cfg.ConfigOpts) -> None:
    LOG.info("SIGHUP: reloading the configuration files")
    conf.reload_config_files()
    metrics_mod.check_metrics_conf(conf)


def build_manager(conf: cfg.ConfigOpts) -> cotyledon.ServiceManager:
    """The service manager of ``worker_processes`` worker processes
    (the configuration checked beforehand by the CLI)."""
    manager = cotyledon.ServiceManager(
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN_TIMEOUT)
    manager.add(WorkerService,
                workers=max(1, int(conf.orchestrator.worker_processes)),
                args=(conf,))
    manager.register_hooks(on_reload=lambda: _reload(conf))
    return manager


class _InProcess:
    """One worker process run by the ``cloudkitty-processor`` process
    itself: the main thread waits for signals while the workers run."""

    #: Seconds between two attempts at starting the workers.
    RETRY = 10

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self._wake = threading.Event()
        self._stop = False
        self._reload = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload = True
        else:
            self._stop = True
        self._wake.set()

    def _start(self) -> WorkerProcess | None:
        """The workers, started; None (after a logged error) when they
        could not be built, for instance with the lock backend down: the
        next attempt follows :attr:`RETRY` seconds later."""
        try:
            worker = WorkerProcess(self.conf, share_of(self.conf, 0))
        except Exception:
            LOG.exception("Could not start the processor's workers; "
                          "retrying in %d s", self.RETRY)
            retry = threading.Timer(self.RETRY, self._wake.set)
            retry.daemon = True
            retry.start()
            return None
        threading.Thread(target=worker.run, name="processor-workers",
                         daemon=True).start()
        return worker

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        while True:
            worker = self._start()
            while not self._wake.wait(1.0):
                pass
            self._wake.clear()
            if worker is not None:
                worker.terminate()
            if self._stop:
                LOG.info("cloudkitty-processor stopped")
                return
            if not self._reload:
                continue  # a retry after workers that did not start
            self._reload = False
            try:
                _reload(self.conf)
            except Exception:
                LOG.exception("The configuration could not be reloaded; "
                              "going on with the previous one")


def run(conf: cfg.ConfigOpts) -> None:
    """Run the processor's workers until SIGTERM: in this process when
    there is one worker process, else under a cotyledon master."""
    if int(conf.orchestrator.worker_processes) <= 1:
        _InProcess(conf).run()
        return
    manager = build_manager(conf)
    preload(conf)
    # Everything loaded so far lives as long as the master: keep the
    # garbage collector from touching (and so copying) it in every worker.
    gc.collect()
    gc.freeze()
    manager.run()


def preload(conf: cfg.ConfigOpts) -> None:
    """Import in the master what the workers would otherwise each import
    after forking, so they share those pages instead of loading a copy.

    Only what every worker uses is loaded (the database dialect and its
    driver, the messaging client library): a page the master holds counts
    in the resident size of every worker. The storage backend and the
    rating modules are added when the workers rate (rating workers, or
    ``fake://``).
    Nothing is connected or instantiated here.
    """
    from importlib import metadata

    import sqlalchemy.engine

    if conf.database.connection:
        url = sqlalchemy.engine.make_url(conf.database.connection)
        url.get_dialect().import_dbapi()
    if str(conf.transport_url or "").startswith(("rabbit:", "amqp:")):
        import kombu.transport.pyamqp  # noqa: F401
    if conf.orchestrator.max_workers_rating \
            or rpcapi.is_local_transport(conf):
        from cloudkitty.rating import modules

        modules.installed_processors()
        for entry_point in metadata.entry_points(
                group=storage_mod.namespace(conf), name=conf.storage.backend):
            entry_point.load()

