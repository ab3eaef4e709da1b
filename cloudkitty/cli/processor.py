"""``cloudkitty-processor``: rate every scope, period after period.

Everything the workers will need is checked before any worker starts, so
a bad configuration stops the command with one line per problem and exit
status 1: storage backend, metrics.yml (against the configured
collector), skip expressions, fetcher, lock backend and transport URL.

Memory: the processor's modules are imported only once eventlet is ruled
out (:mod:`cloudkitty.cli._lean`); the workers run as threads of one
process unless ``[orchestrator] worker_processes`` asks for more
(:func:`cloudkitty.processor.service.run`).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions, service
from cloudkitty.cli import _lean
from cloudkitty.cli._run import run

__all__ = ["main", "PROCESSOR_CHECKS"]

LOG = log.getLogger(__name__)


def check_collection(conf: cfg.ConfigOpts) -> None:
    """metrics.yml validates for the configured collector, and its skip
    expressions (and the global one) are in the safe language."""
    from cloudkitty import collector as collector_mod
    from cloudkitty.processor import skip as skip_mod

    collector = collector_mod.get_collector(conf)
    skip_mod.load_skip_expressions(conf, collector.metrics)


def check_fetcher(conf: cfg.ConfigOpts) -> None:
    from cloudkitty import fetcher as fetcher_mod

    fetcher_mod.get_fetcher(conf)


def check_coordination(conf: cfg.ConfigOpts) -> None:
    from cloudkitty.processor import locks

    locks.Coordinator(conf).stop()


def check_workers(conf: cfg.ConfigOpts) -> None:
    from cloudkitty.processor import rpcapi

    orchestrator = conf.orchestrator
    if not (orchestrator.max_workers or orchestrator.max_workers_rating
            or orchestrator.max_workers_reprocessing):
        raise exceptions.ConfigError(
            "max_workers, max_workers_rating and max_workers_reprocessing "
            "are all 0: this processor would do nothing",
            file=service.config_files(conf), section="orchestrator",
            option="max_workers")
    rpcapi.check_transport(conf)


PROCESSOR_CHECKS: tuple[service.Check, ...] = (
    service.check_storage_backend, check_collection, check_fetcher,
    check_coordination, check_workers)


def serve(argv: Sequence[str] | None = None) -> int:
    from cloudkitty.processor import rpcapi
    from cloudkitty.processor import service as processor_service
    from cloudkitty.service_metrics import processor as service_metrics

    conf = service.prepare_service(
        sys.argv[1:] if argv is None else argv, checks=PROCESSOR_CHECKS)
    orchestrator = conf.orchestrator
    rating = ("in-process (fake:// transport)"
              if rpcapi.is_local_transport(conf)
              else str(orchestrator.max_workers_rating))
    LOG.info("cloudkitty-processor: %d collector, %s rating and %d "
             "reprocessing workers in %d process(es), collector %s, "
             "fetcher %s, period %ss",
             orchestrator.max_workers, rating,
             orchestrator.max_workers_reprocessing,
             orchestrator.worker_processes, conf.collect.collector,
             conf.fetcher.backend, conf.collect.period)
    # Before any worker process is forked: they inherit the directory
    # their figures go to; this process serves the sum.
    service_metrics.start_processor_exporter(conf)
    processor_service.run(conf)
    return 0


def main() -> None:
    _lean.without_eventlet()
    run(serve)
