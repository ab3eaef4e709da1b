#!/usr/bin/env python3
"""Resident memory of our API while it serves, and what it imports.

    python benchmarks/api_memory.py                      # SQLite, PostgreSQL
    python benchmarks/api_memory.py --storage influxdb --points 100000

For each storage, the API is started as the side-by-side benchmarks start
it (``_sidebyside_wsgi.py``: the real paste pipeline under ``noauth``,
the standard library's threaded server) on a private database filled
with ``--points`` rated points, then serves a fixed set of requests:
v1 report total and summary, v1 storage dataframes (the whole window),
v2 summary, v2 dataframes (a page, and a count), the hashmap API
(enabling the module sends an RPC notice). The peak RSS of the API
process is sampled (``RssSampler``) at start and after each group of
requests; at the end the API lists the modules it has loaded.

Needs the services of ``tools/services.sh`` (PostgreSQL, RabbitMQ and,
for ``influxdb``, InfluxDB); everything created is private to the run
and removed at the end. SQL tables live in SQLite for ``sqlite``, in
PostgreSQL otherwise.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time
import urllib.parse
from decimal import Decimal
from typing import Any

import _sidebyside as sbs
import requests

HERE = pathlib.Path(__file__).resolve().parent
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
METRICS = ("instance", "volume.size", "ip.floating")
#: Modules whose presence in the API process is reported.
WATCHED = ("eventlet", "oslo_messaging", "oslo_service", "keystonemiddleware",
           "keystoneclient", "keystoneauth1", "oslo_cache", "cryptography",
           "dns", "kombu", "requests", "pkg_resources", "mako", "pygments",
           "jinja2", "psycopg2", "influxdb", "pymysql")


# --- the API process (run as ``--serve``) --------------------------------

def serve(config_file: str, port: int, modules_file: str) -> None:
    """Serve our API as ``_sidebyside_wsgi.py`` does; on SIGUSR1, write the
    loaded modules to ``modules_file``."""
    from wsgiref import simple_server

    import _sidebyside_wsgi as wsgi

    def dump(*_args: Any) -> None:
        names = sorted(name for name, module in sys.modules.items()
                       if module is not None)
        pathlib.Path(modules_file).write_text(json.dumps(names))

    signal.signal(signal.SIGUSR1, dump)
    application = wsgi.build("ours", config_file)
    server = simple_server.make_server(
        "127.0.0.1", port, application, server_class=wsgi._Server,
        handler_class=wsgi._QuietHandler)
    try:
        server.serve_forever()
    finally:
        server.server_close()


# --- the data ----------------------------------------------------------------

def seed(config_file: pathlib.Path, points: int, projects: int,
         periods: int) -> tuple[datetime.datetime, datetime.datetime]:
    """Push about ``points`` rated points; returns their window."""
    from oslo_config import cfg

    from cloudkitty import service
    from cloudkitty.dataframe import DataFrame, DataPoint
    from cloudkitty.storage import get_storage

    conf = service.prepare_service(["--config-file", str(config_file)],
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False)
    backend = get_storage(conf)
    per_type = max(1, points // (projects * periods * len(METRICS)))
    rnd = random.Random(7)
    hour = datetime.timedelta(hours=1)
    for period in range(periods):
        start = START + period * hour
        frames = []
        for p in range(projects):
            project = f"{p:032x}"
            usage = {metric: [DataPoint(
                "unit", Decimal(rnd.randint(1, 100)),
                Decimal(rnd.randint(1, 10_000)) / 1000,
                {"project_id": project, "id": f"{metric}-{p}-{i}"},
                {"flavor_name": rnd.choice(("m1.tiny", "m1.small"))})
                for i in range(per_type)] for metric in METRICS}
            frames.append(DataFrame(start, start + hour, usage))
        backend.push(frames)
    return START, START + periods * hour


# --- one storage -------------------------------------------------------------

def configure(run: sbs.Run, storage: str) -> pathlib.Path:
    if storage == "sqlite":
        database = f"sqlite:///{run.workdir / 'cloudkitty.sqlite'}"
    else:
        database = run.sql_database("postgresql")
    sections: dict[str, dict[str, object]] = {
        "DEFAULT": {"transport_url": run.rabbit_vhost(),
                    "log_file": run.workdir / f"{storage}.log",
                    "auth_strategy": "noauth",
                    "api_paste_config": sbs.OUR_PASTE},
        "database": {"connection": database},
        "storage": {"backend": "influxdb" if storage == "influxdb"
                    else "sqlalchemy", "version": 2},
        "collect": {"metrics_conf": sbs.METRICS_YML},
        "fetcher": {"backend": "source"},
    }
    if storage == "influxdb":
        host = urllib.parse.urlsplit(sbs.INFLUX_URL)
        sections["storage_influxdb"] = {
            "host": host.hostname, "port": host.port or 8086,
            "database": run.influx_database()}
    conf = sbs.write_ini(run.workdir / f"{storage}.conf", sections)
    for tool in ("cloudkitty-dbsync", "cloudkitty-storage-init"):
        args = [str(sbs.OUR_BIN / tool), "--config-file", str(conf)]
        if tool == "cloudkitty-dbsync":
            args.append("upgrade")
        subprocess.run(args, check=True, capture_output=True)
    return conf


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # A PYTHONPATH given to the run (another source tree, say) is kept.
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(HERE), os.environ.get("PYTHONPATH")) if part)
    return env


def _get(api: str, path: str, **params: Any) -> int:
    resp = requests.get(api + path, params=params, timeout=900)
    if resp.status_code not in (200, 404):
        raise SystemExit(f"GET {path}: {resp.status_code} {resp.text[:300]}")
    return len(resp.content)


def _hashmap(api: str) -> int:
    base = f"{api}/v1/rating/module_config/hashmap"
    module = requests.get(f"{api}/v1/rating/modules/hashmap", timeout=60)
    module.raise_for_status()
    resp = requests.put(f"{api}/v1/rating/modules/hashmap",
                        json={**module.json(), "enabled": True}, timeout=60)
    resp.raise_for_status()
    # Each round adds its own service (names are unique), so repeated
    # rounds write as much as the first.
    listed = requests.get(f"{base}/services", timeout=60)
    listed.raise_for_status()
    name = f"instance-{len(listed.json()['services'])}"
    service = requests.post(f"{base}/services", json={"name": name},
                            timeout=60)
    service.raise_for_status()
    service_id = service.json()["service_id"]
    field = requests.post(f"{base}/fields", json={
        "service_id": service_id, "name": "flavor_name"}, timeout=60)
    field.raise_for_status()
    for flavor, cost in (("m1.tiny", "0.5"), ("m1.small", "1")):
        requests.post(f"{base}/mappings", json={
            "field_id": field.json()["field_id"], "value": flavor,
            "cost": cost, "type": "flat"}, timeout=60).raise_for_status()
    size = 0
    for path in ("/services", "/fields", "/mappings", "/groups"):
        params = {"service_id": service_id} if path == "/fields" else {
            "field_id": field.json()["field_id"]} if path == "/mappings" \
            else {}
        resp = requests.get(base + path, params=params, timeout=60)
        resp.raise_for_status()
        size += len(resp.content)
    return size


def measure(storage: str, args: argparse.Namespace) -> dict[str, Any]:
    with sbs.Run() as run:
        conf = configure(run, storage)
        sbs.log(f"{storage}: storing about {args.points} points")
        begin, end = seed(conf, args.points, args.projects, args.periods)
        modules_file = run.workdir / "modules.json"
        port = sbs.free_port()
        proc = run.popen([sys.executable, str(HERE / "api_memory.py"),
                          "--serve", str(conf), str(port),
                          str(modules_file)], f"{storage}-api.out",
                         env=_env())
        api = f"http://127.0.0.1:{port}"
        sbs.wait_http(api + "/", proc, what=f"{storage} API")
        window = {"begin": sbs.iso(begin), "end": sbs.iso(end)}
        phases: list[tuple[str, Any]] = [
            ("v1 report/total", lambda: _get(api, "/v1/report/total",
                                             **window)),
            ("v1 report/summary", lambda: _get(
                api, "/v1/report/summary", groupby="tenant_id,res_type",
                **window)),
            ("v1 storage/dataframes", lambda: _get(
                api, "/v1/storage/dataframes", **window)),
            ("v2 summary", lambda: _get(
                api, "/v2/summary", groupby="project_id,type",
                limit="1000", **window)),
            ("v2 dataframes (1000)", lambda: _get(
                api, "/v2/dataframes", limit="1000", **window)),
            ("v2 dataframes (count)", lambda: _get(
                api, "/v2/dataframes", limit="1", **window)),
            ("hashmap", lambda: _hashmap(api)),
        ]
        rows: list[dict[str, Any]] = []
        with sbs.RssSampler(proc.pid, interval=0.05) as sampler:
            time.sleep(1)
            sampler.sample()
            rows.append({"phase": "started", "peak_mb": sampler.peak_mb,
                         "seconds": 0.0, "bytes": 0})
            for name, call in phases:
                size = 0
                started = time.perf_counter()
                for _ in range(args.rounds):
                    size = call()
                seconds = (time.perf_counter() - started) / args.rounds
                sampler.sample()
                rows.append({"phase": name, "peak_mb": sampler.peak_mb,
                             "seconds": seconds, "bytes": size})
        proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not modules_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        modules = json.loads(modules_file.read_text())
    return {"storage": storage, "points": args.points, "phases": rows,
            "modules": modules}


def report(result: dict[str, Any]) -> None:
    print(f"\nAPI on {result['storage']}, {result['points']} points "
          f"stored (peak RSS so far, after each group of requests)")
    print(f"  {'requests':<24} {'peak RSS MiB':>12} {'s/call':>8} "
          f"{'body bytes':>11}")
    for row in result["phases"]:
        print(f"  {row['phase']:<24} {row['peak_mb']:>12.1f} "
              f"{row['seconds']:>8.2f} {row['bytes']:>11}")
    modules = result["modules"]
    tops = collections.Counter(name.split(".")[0] for name in modules)
    loaded = [name for name in WATCHED if name in modules]
    print(f"  modules loaded: {len(modules)}; watched: "
          f"{', '.join(loaded) or 'none'}")
    print("  most modules: " + ", ".join(
        f"{name} {count}" for name, count in tops.most_common(12)))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", nargs="+",
                        choices=["sqlite", "postgresql", "influxdb"],
                        default=["sqlite", "postgresql"])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--periods", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2,
                        help="calls of each group of requests")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {sbs.machine()}")
    results = [measure(storage, args) for storage in args.storage]
    for result in results:
        report(result)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
