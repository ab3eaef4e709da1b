#!/usr/bin/env python3
"""End-to-end catch-up of ``cloudkitty-processor`` against a real
Prometheus.

Generates OpenStack-like history with ``tools/sample-data/
gen_openmetrics.py`` (``--projects`` projects, six metric families,
``--hours`` hours), backfills a private Prometheus with ``promtool``,
prices it with hashmap flat rules (per instance, GiB, MiB, MB, IP),
seeds every project's state one period before the history, runs the
console script until every project is caught up, and prints scope-periods
and rated points per second: from the start of the command (start-up
included) and from the first to the last period stored (from the
processor's log). ``--instances N`` makes a heavier set (about N
instances per project, with their ports, volumes and images).

    python benchmarks/processor_catchup.py          # SQLite, fake://
    python benchmarks/processor_catchup.py --instances 80   # heavy set
    python benchmarks/processor_catchup.py --batch 1  # scope by scope
    python benchmarks/processor_catchup.py \\
        --transport rabbit://guest:guest@127.0.0.1:5672/ \\
        --url postgresql+psycopg2://postgres@127.0.0.1/ck_bench

``--url`` must name an empty database (default: a new SQLite file).
Needs ``prometheus`` and ``promtool`` on PATH.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

from oslo_config import cfg

from cloudkitty import service
from cloudkitty.db import api as db_api
from cloudkitty.db import migration
from cloudkitty.rating import modules
from cloudkitty.rating.hash.db import HashMapDB
from cloudkitty.rating.hash.db.records import NewMapping
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.tests.functional.prometheus_fixture import free_port

ROOT = pathlib.Path(__file__).resolve().parents[1]
UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)


def start_prometheus(workdir: pathlib.Path, source: pathlib.Path
                     ) -> tuple[subprocess.Popen[bytes], str]:
    data = workdir / "data"
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                    str(source), str(data)], check=True,
                   capture_output=True)
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}",
         f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=3650d",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=open(workdir / "prometheus.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            import urllib.request
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                return proc, f"{url}/api/v1"
        except OSError:
            time.sleep(0.1)
    raise SystemExit("prometheus did not start")


def write_conf(workdir: pathlib.Path, args: argparse.Namespace,
               prom_url: str, projects: list[str]) -> pathlib.Path:
    path = workdir / "cloudkitty.conf"
    path.write_text(f"""[DEFAULT]
transport_url = {args.transport}
log_file = {workdir / 'processor.log'}
[database]
connection = {args.url}
[storage]
backend = sqlalchemy
[collect]
collector = prometheus
period = 3600
wait_periods = 0
metrics_conf = {ROOT / 'etc/cloudkitty/metrics-prometheus.yml'}
[collector_prometheus]
prometheus_url = {prom_url}
[fetcher]
backend = source
[fetcher_source]
sources = {','.join(projects)}
[orchestrator]
coordination_url = file://{workdir / 'locks'}
max_workers = {args.workers}
max_workers_rating = {args.workers}
max_workers_reprocessing = 0
max_scopes_per_batch = {args.batch}
""")
    return path


def price_list(conf: cfg.ConfigOpts) -> None:
    modules.ModuleManager(conf).update("hashmap", enabled=True)
    db = HashMapDB(db_api.get_engine(conf))
    for service_name, cost in (
            ("instance", "0.05"), ("volume.size", "0.002"),
            ("image.size", "0.0001"), ("network.incoming.bytes", "0.00001"),
            ("network.outgoing.bytes", "0.00002"), ("ip.floating", "0.01")):
        svc = db.create_service(service_name)
        db.create_mapping(
            NewMapping(cost=Decimal(cost), map_type="flat",
                       service_id=svc.service_id,
                       start=datetime.datetime(2000, 1, 1)),
            now=datetime.datetime.now(UTC).replace(tzinfo=None), user=None,
            force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--transport", default="fake://")
    parser.add_argument("--url")
    parser.add_argument("--instances", type=int,
                        help="mean instances per project (heavier set; "
                             "volumes, images and floating IPs scale "
                             "with it)")
    parser.add_argument("--batch", type=int, default=100,
                        help="[orchestrator] max_scopes_per_batch")
    args = parser.parse_args()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="ck-bench-"))
    args.url = args.url or f"sqlite:///{workdir / 'ck.sqlite'}"
    end = int(time.time()) // 3600 * 3600
    source = workdir / "history.om"
    manifest = workdir / "manifest.json"
    heavy: list[str] = []
    if args.instances:
        heavy = ["--instances", str(args.instances),
                 "--volumes", str(max(1, args.instances // 2)),
                 "--images", str(max(1, args.instances // 4)),
                 "--fips", str(max(1, args.instances // 4))]
    subprocess.run([sys.executable,
                    str(ROOT / "tools/sample-data/gen_openmetrics.py"),
                    "--projects", str(args.projects), "--duration",
                    f"{args.hours + 1}h", "--end", str(end),
                    "--out", str(source), "--manifest", str(manifest),
                    *heavy], check=True)
    projects = json.loads(manifest.read_text())["projects"]
    prom, prom_url = start_prometheus(workdir, source)
    try:
        path = write_conf(workdir, args, prom_url, projects)
        conf = service.prepare_service(["--config-file", str(path)],
                                       conf=cfg.ConfigOpts(),
                                       setup_logging=False)
        migration.upgrade(db_api.get_engine(conf))
        price_list(conf)
        t_end = datetime.datetime.fromtimestamp(end, UTC)
        first = t_end - args.hours * HOUR
        states = StateManager(conf)
        for project in projects:
            states.set_last_processed_timestamp(project, first - HOUR)
        target = t_end - HOUR
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(pathlib.Path(sys.executable).parent / "cloudkitty-processor"),
             "--config-file", str(path)], start_new_session=True)
        while True:
            done = [states.get_last_processed_timestamp(p) for p in projects]
            if all(ts is not None and ts >= target for ts in done):
                break
            if proc.poll() is not None:
                raise SystemExit(f"processor exited {proc.returncode}")
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        peak = _peak_rss(proc.pid)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        rows = get_storage(conf).total(groupby=["type"], begin=first,
                                       end=t_end, paginate=False)
        points = _count_points(conf, first, t_end)
        scope_periods = len(projects) * args.hours
        print(f"transport {args.transport}, {args.workers} collector + "
              f"{args.workers} rating workers, database "
              f"{args.url.split(':')[0]}")
        print(f"{len(projects)} projects x {args.hours} periods = "
              f"{scope_periods} scope-periods, {points} rated points, "
              f"{elapsed:.1f} s from start to caught up (start-up included)")
        print(f"catch-up: {scope_periods / elapsed:.1f} scope-periods/s, "
              f"{points / elapsed:.0f} rated points/s")
        span = _stored_span(workdir / "processor.log")
        if span:
            print(f"first to last period stored: {span:.2f} s, "
                  f"{scope_periods / span:.1f} scope-periods/s, "
                  f"{points / span:.0f} rated points/s "
                  f"(max_scopes_per_batch {args.batch})")
        if peak:
            print(f"processor peak RSS: {peak / 1024:.0f} MiB in all "
                  f"({len(peak.parts)} processes, largest "
                  f"{max(peak.parts) / 1024:.0f} MiB)")
        for row in rows["results"]:
            print(f"  {row['type']:<24} qty {row['qty']:>14.3f}  "
                  f"price {row['rate']:>12.4f}")
    finally:
        prom.terminate()
        prom.wait(30)
        db_api.dispose_engines()


class _Peak(int):
    parts: list[int]


def _peak_rss(pgid: int) -> _Peak:
    """Sum of the peak RSS (KiB, VmHWM) of the processes of group
    ``pgid`` (Linux /proc)."""
    parts: list[int] = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if match:
            parts.append(int(match[1]))
    peak = _Peak(sum(parts))
    peak.parts = parts or [0]
    return peak


_RATED = re.compile(r"^(\S+ \S+) .*Rated scope ", re.M)


def _stored_span(log: pathlib.Path) -> float:
    """Seconds from the first to the last "Rated scope" line."""
    stamps = _RATED.findall(log.read_text(errors="replace"))
    if len(stamps) < 2:
        return 0.0
    first, last = (datetime.datetime.fromisoformat(s.replace(" ", "T"))
                   for s in (stamps[0], stamps[-1]))
    return (last - first).total_seconds()


def _count_points(conf: cfg.ConfigOpts, begin: datetime.datetime,
                  end: datetime.datetime) -> int:
    return get_storage(conf).retrieve(begin, end, limit=1)["total"]


if __name__ == "__main__":
    main()
