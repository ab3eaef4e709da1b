"""Shared machinery of the side-by-side benchmarks: upstream CloudKitty
25.0.0 (its own virtualenv, built by ``tools/upstream-venv.sh``) against
ours, on the same services, data, ``metrics.yml`` and price list.

Everything a run creates is private to it and removed at the end: a
work directory, a Prometheus on a free port with its own data directory,
one RabbitMQ virtual host, one SQL database and one InfluxDB database per
side. The shared services (PostgreSQL, MariaDB, RabbitMQ, InfluxDB of
``tools/services.sh``) are only used, never restarted.

Upstream keeps its SQL tables (states, hashmap rules) on MariaDB: its
last hashmap migration cannot run on PostgreSQL. Ours uses PostgreSQL.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import _sidebyside_data as data
import psutil
import requests
import sqlalchemy as sa

from cloudkitty.tests import dbutil, upstream

ROOT = pathlib.Path(__file__).resolve().parents[1]
HERE = pathlib.Path(__file__).resolve().parent
OUR_BIN = pathlib.Path(sys.executable).parent
METRICS_YML = ROOT / "etc/cloudkitty/metrics-prometheus.yml"
OUR_PASTE = ROOT / "etc/cloudkitty/api_paste.ini"
UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
UPSTREAM_VERSION = upstream.UPSTREAM_VERSION

INFLUX_URL = os.environ.get("CLOUDKITTY_TEST_INFLUXDB_URL",
                            "http://127.0.0.1:8086").rstrip("/")
RABBIT = os.environ.get("CLOUDKITTY_BENCH_RABBIT",
                        "guest:guest@127.0.0.1:5672")

# Upstream's paste pipeline (noauth), written here rather than shipped by
# its wheel: the same filters its API runs with, minus authentication.
_PROXY_FACTORY = ("oslo_middleware.http_proxy_to_wsgi:"
                  "HTTPProxyToWSGI.factory")
UPSTREAM_PASTE = f"""\
[pipeline:cloudkitty+noauth]
pipeline = cors http_proxy_to_wsgi request_id ck_api

[app:ck_api]
paste.app_factory = cloudkitty.api.app:app_factory

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = cloudkitty

[filter:http_proxy_to_wsgi]
paste.filter_factory = {_PROXY_FACTORY}
oslo_config_project = cloudkitty
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
          flush=True)


# --- upstream virtualenv ---------------------------------------------------

def upstream_venv_path() -> pathlib.Path:
    return upstream.venv_path()


def upstream_ready(venv: pathlib.Path | None = None) -> bool:
    """Whether tools/upstream-venv.sh completed (with the benchmark's
    extra packages)."""
    return upstream.venv_ready(venv or upstream.venv_path(),
                               "cloudkitty-processor")


def ensure_upstream_venv() -> pathlib.Path:
    """Build (once) and return upstream's virtualenv."""
    out = subprocess.run(["bash", str(ROOT / "tools/upstream-venv.sh")],
                         check=True, capture_output=True, text=True)
    return pathlib.Path(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    """CPUs, memory and load: the figures depend on them."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"{os.cpu_count()} CPUs, "
            f"{psutil.virtual_memory().total / 2**30:.1f} GiB, "
            f"load average at start {load}")


# --- small helpers ---------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_ini(path: pathlib.Path,
              sections: Mapping[str, Mapping[str, object]]) -> pathlib.Path:
    lines: list[str] = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in options.items())
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def wait_http(url: str, process: subprocess.Popen[bytes] | None = None,
              timeout: float = 120.0, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not answer on {url}")


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


# --- the run: work directory, processes, private resources ---------------

class Run(contextlib.ExitStack):
    """A benchmark run: its work directory and everything it started,
    undone in reverse order on exit."""

    def __init__(self, keep: bool = False) -> None:
        super().__init__()
        self.tag = uuid.uuid4().hex[:8]
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="ck-sbs-"))
        if not keep:
            self.callback(shutil.rmtree, self.workdir, ignore_errors=True)
        else:
            self.callback(log, f"work directory kept: {self.workdir}")

    def popen(self, cmd: Sequence[str], logname: str,
              env: Mapping[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        logfile = (self.workdir / logname).open("ab")
        proc = subprocess.Popen(list(cmd), stdout=logfile,
                                stderr=subprocess.STDOUT,
                                env=dict(env) if env else None,
                                start_new_session=True)
        logfile.close()
        self.callback(stop, proc)
        return proc

    def sql_database(self, kind: str) -> str:
        """A new database on the shared ``kind`` server (``postgresql``
        or ``mysql``), dropped at the end of the run."""
        return self.enter_context(dbutil.fresh_database(kind,
                                                        str(self.workdir)))

    def influx_database(self) -> str:
        name = f"ck_sbs_{self.tag}_{uuid.uuid4().hex[:6]}"
        influx_query(f'CREATE DATABASE "{name}"')
        self.callback(influx_query, f'DROP DATABASE "{name}"')
        return name

    def rabbit_vhost(self) -> str:
        """A private virtual host: upstream's and our processors never
        share a queue or topic."""
        name = f"ck_sbs_{self.tag}_{uuid.uuid4().hex[:6]}"
        user = RABBIT.split(":", 1)[0]
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True,
                       capture_output=True)
        self.callback(subprocess.run,
                      ["rabbitmqctl", "-q", "delete_vhost", name],
                      capture_output=True)
        subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", name,
                        user, ".*", ".*", ".*"], check=True,
                       capture_output=True)
        return f"rabbit://{RABBIT}/{name}"


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def influx_query(query: str, database: str | None = None) -> Any:
    params = {"q": query}
    if database:
        params["db"] = database
    resp = requests.post(f"{INFLUX_URL}/query", data=params, timeout=600)
    resp.raise_for_status()
    results = resp.json().get("results", [])
    for result in results:
        if "error" in result:
            raise RuntimeError(f"InfluxDB: {result['error']}")
    return results


# --- Prometheus with generated history -------------------------------------

@dataclasses.dataclass
class History:
    projects: list[str]
    first: datetime.datetime      # start of the first period to rate
    end: datetime.datetime        # end of the last period to rate
    prometheus_url: str           # .../api/v1, for [collector_prometheus]

    @property
    def periods(self) -> int:
        return int((self.end - self.first) / HOUR)


def prometheus_history(run: Run, projects: int, hours: int,
                       density: Mapping[str, int] | None = None,
                       name: str = "history") -> History:
    """Generate ``hours`` hours of history with
    tools/sample-data/gen_openmetrics.py, backfill a private Prometheus
    with ``promtool`` and start it on a free port."""
    end = int(time.time()) // 3600 * 3600
    workdir = run.workdir / name
    workdir.mkdir()
    source, manifest = workdir / "history.om", workdir / "manifest.json"
    extra: list[str] = []
    for option, value in (density or {}).items():
        extra += [f"--{option}", str(value)]
    subprocess.run([sys.executable,
                    str(ROOT / "tools/sample-data/gen_openmetrics.py"),
                    "--projects", str(projects),
                    "--duration", f"{hours + 1}h", "--end", str(end),
                    "--out", str(source), "--manifest", str(manifest),
                    *extra], check=True)
    ids = json.loads(manifest.read_text())["projects"]
    tsdb = workdir / "tsdb"
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                    str(source), str(tsdb)], check=True, capture_output=True)
    source.unlink()
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    proc = run.popen(["prometheus", f"--config.file={config}",
                      f"--storage.tsdb.path={tsdb}",
                      "--storage.tsdb.retention.time=3650d",
                      f"--web.listen-address=127.0.0.1:{port}"],
                     f"{name}-prometheus.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"{url}/-/ready", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("private Prometheus did not start")
        time.sleep(0.1)
    t_end = datetime.datetime.fromtimestamp(end, UTC)
    return History(ids, t_end - hours * HOUR, t_end, f"{url}/api/v1")


# --- the two sides ---------------------------------------------------------

@dataclasses.dataclass
class Side:
    """One CloudKitty (upstream or ours, with a storage backend): its
    configuration, database(s) and processes."""

    run: Run
    name: str                      # "upstream", "ours[influxdb]", ...
    kind: str                      # "upstream" | "ours"
    storage: str                   # "influxdb" | "sqlalchemy"
    bin_dir: pathlib.Path
    conf: pathlib.Path = dataclasses.field(init=False)
    influx_db: str | None = None
    db_url: str = ""
    api_url: str = ""
    api_proc: subprocess.Popen[bytes] | None = None

    @property
    def python(self) -> str:
        return str(self.bin_dir / "python")

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env["PYTHONPATH"] = str(HERE)
        return env

    def configure(self, *, period: int = 3600,
                  history: History | None = None,
                  extra: Mapping[str, Mapping[str, object]] | None = None,
                  ) -> None:
        run = self.run
        slug = self.name.replace("[", "-").replace("]", "")
        self.db_url = run.sql_database(
            "mysql" if self.kind == "upstream" else "postgresql")
        storage: dict[str, object] = {"backend": self.storage,
                                      "version": 2}
        sections: dict[str, dict[str, object]] = {
            "DEFAULT": {"transport_url": run.rabbit_vhost(),
                        "log_file": run.workdir / f"{slug}.log",
                        "auth_strategy": "noauth",
                        "api_paste_config": self._paste()},
            "database": {"connection": self.db_url},
            "storage": storage,
            "collect": {"collector": "prometheus", "period": period,
                        "wait_periods": 1, "metrics_conf": METRICS_YML},
            "orchestrator": {
                "coordination_url": f"file://{run.workdir / slug}-locks"},
            "fetcher": {"backend": "source"},
        }
        if self.storage == "influxdb":
            self.influx_db = run.influx_database()
            host = urllib.parse.urlsplit(INFLUX_URL)
            sections["storage_influxdb"] = {
                "host": host.hostname, "port": host.port or 8086,
                "database": self.influx_db}
        if history is not None:
            sections["collector_prometheus"] = {
                "prometheus_url": history.prometheus_url}
            sections["fetcher_source"] = {
                "sources": ",".join(history.projects)}
        for section, options in (extra or {}).items():
            sections.setdefault(section, {}).update(options)
        self.conf = write_ini(run.workdir / f"{slug}.conf", sections)
        self.tool("cloudkitty-dbsync", "upgrade")
        self.tool("cloudkitty-storage-init")

    def _paste(self) -> pathlib.Path:
        if self.kind == "ours":
            return OUR_PASTE
        path = self.run.workdir / "upstream-api-paste.ini"
        path.write_text(UPSTREAM_PASTE)
        return path

    def tool(self, script: str, *args: str) -> str:
        out = subprocess.run([str(self.bin_dir / script), "--config-file",
                              str(self.conf), *args], env=self.env,
                             capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"{self.name}: {script} failed:\n"
                             f"{out.stdout}{out.stderr}")
        return out.stdout

    def start_api(self) -> str:
        port = free_port()
        self.api_proc = self.run.popen(
            [self.python, str(HERE / "_sidebyside_wsgi.py"), self.kind,
             str(self.conf), str(port)],
            f"{self.name}-api.out", env=self.env)
        self.api_url = f"http://127.0.0.1:{port}"
        wait_http(self.api_url + "/", self.api_proc, what=f"{self.name} API")
        return self.api_url

    def stop_api(self) -> None:
        if self.api_proc is not None:
            stop(self.api_proc)
            self.api_proc = None

    def stored_points(self, begin: datetime.datetime,
                      end: datetime.datetime) -> int:
        """Rated points stored in ``[begin, end)``, counted in the
        storage itself (not through the side's API)."""
        if self.storage == "influxdb":
            results = influx_query(
                f'SELECT COUNT("qty") FROM "dataframes" WHERE '
                f"time >= '{iso(begin)}' AND time < '{iso(end)}'",
                self.influx_db)
            series = results[0].get("series") if results else None
            return int(series[0]["values"][0][1]) if series else 0
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text(
                    "SELECT COUNT(*) FROM cloudkitty_dataframes WHERE "
                    "begin >= :b AND begin < :e"), {
                        "b": begin.astimezone(UTC).replace(tzinfo=None),
                        "e": end.astimezone(UTC).replace(tzinfo=None)},
                ).scalar_one())
        finally:
            engine.dispose()

    def start_processor(self) -> subprocess.Popen[bytes]:
        return self.run.popen(
            [str(self.bin_dir / "cloudkitty-processor"), "--config-file",
             str(self.conf)], f"{self.name}-processor.out", env=self.env)


def make_sides(run: Run, storages: Sequence[str],
               upstream_bin: pathlib.Path | None) -> list[Side]:
    sides = []
    if upstream_bin is not None:
        sides.append(Side(run, "upstream", "upstream", "influxdb",
                          upstream_bin))
    for storage in storages:
        label = "postgresql" if storage == "sqlalchemy" else storage
        sides.append(Side(run, f"ours[{label}]", "ours", storage, OUR_BIN))
    return sides


def our_influx_available() -> bool:
    """Whether our InfluxDB storage backend is installed yet."""
    from importlib.metadata import entry_points
    return any(ep.name == "influxdb" for ep in entry_points(
        group="cloudkitty.storage.v2.backends"))


def default_storages() -> list[str]:
    return (["influxdb", "sqlalchemy"] if our_influx_available()
            else ["sqlalchemy"])


# --- command line and report common to the side-by-side benchmarks ----------

def add_side_arguments(parser: argparse.ArgumentParser) -> None:
    """The options choosing and keeping the sides: ``--storage``,
    ``--no-upstream``, ``--json``, ``--keep``."""
    parser.add_argument("--storage", default=None,
                        help="our storage backends, comma list of "
                             "influxdb, sqlalchemy (default: both when "
                             "our InfluxDB backend is installed)")
    parser.add_argument("--no-upstream", action="store_true",
                        help="run ours only (no ratios)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (configs, logs)")


@dataclasses.dataclass
class SideSetup:
    """What ``add_side_arguments``' options resolve to."""

    storages: list[str]
    #: The bin directory of upstream's virtualenv; None: ours only.
    upstream_bin: pathlib.Path | None
    report: Report


def side_setup(args: argparse.Namespace, title: str, script: str,
               argv: Sequence[str] | None) -> SideSetup:
    """Our storages, upstream's virtualenv (built when missing, unless
    ``--no-upstream``) and the report, with the machine and command."""
    storages = (args.storage.split(",") if args.storage
                else default_storages())
    upstream_bin = None if args.no_upstream else (
        ensure_upstream_venv() / "bin")
    report = Report(title)
    report.info["machine"] = machine()
    report.info["command"] = " ".join(
        [script, *(sys.argv[1:] if argv is None else argv)])
    return SideSetup(storages, upstream_bin, report)


def finish(report: Report, args: argparse.Namespace) -> Report:
    """Print the report and write it to ``--json`` if given."""
    report.print()
    if args.json:
        report.write_json(args.json)
    return report


# --- through each side's API -----------------------------------------------

def client(api_url: str) -> Any:
    """The real python-cloudkittyclient (v1), without Keystone."""
    from cloudkittyclient import client as ck_client
    from cloudkittyclient.auth import CloudKittyNoAuthPlugin
    from keystoneauth1 import session as ks_session

    sess = ks_session.Session(auth=CloudKittyNoAuthPlugin(endpoint=api_url))
    return ck_client.Client("1", session=sess)


def apply_price_list(api_url: str) -> None:
    """Enable hashmap and create one flat mapping per metric type (cost
    per unit, valid since 2000 so history is priced: ``force``)."""
    ck = client(api_url)
    ck.rating.update_module(module_id="hashmap", enabled=True)
    hashmap = ck.rating.hashmap
    for name, cost in data.PRICES.items():
        service = hashmap.create_service(name=name)
        # The client has no ``force`` flag; its HTTP adapter posts the same
        # body with it.
        resp = hashmap.api_client.post(
            hashmap.get_url("mappings", {}) + "?force=true",
            json={"service_id": service["service_id"], "cost": cost,
                  "type": "flat", "start": "2000-01-01T00:00:00",
                  "name": f"bench-{name}"})
        resp.raise_for_status()


def seed_scopes(api_url: str, projects: Sequence[str],
                last_processed: datetime.datetime) -> None:
    """``POST /v2/scope`` for every project: rating starts at the period
    after ``last_processed``."""
    for project in projects:
        resp = requests.post(f"{api_url}/v2/scope", json={
            "scope_id": project, "scope_key": "project_id",
            "fetcher": "source", "collector": "prometheus",
            "last_processed_timestamp": iso(last_processed),
            "active": True}, timeout=30)
        resp.raise_for_status()


def scope_progress(api_url: str) -> dict[str, datetime.datetime | None]:
    resp = requests.get(f"{api_url}/v2/scope", params={"limit": 10000},
                        timeout=60)
    if resp.status_code == 404:
        return {}
    resp.raise_for_status()
    progress: dict[str, datetime.datetime | None] = {}
    for row in resp.json()["results"]:
        value = row["last_processed_timestamp"]
        progress[row["scope_id"]] = _parse_time(value) if value else None
    return progress


def _parse_time(value: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def count_points(api_url: str, begin: datetime.datetime,
                 end: datetime.datetime) -> int:
    resp = requests.get(f"{api_url}/v2/dataframes", params={
        "begin": iso(begin), "end": iso(end), "limit": "1"}, timeout=600)
    if resp.status_code == 404:
        return 0
    resp.raise_for_status()
    return int(resp.json()["total"])


def grand_total(api_url: str, begin: datetime.datetime,
                end: datetime.datetime) -> tuple[str, str]:
    """``(qty, rate)`` of everything stored in ``[begin, end)``, from
    ``GET /v2/summary``, rounded to 2 decimals (upstream's InfluxDB keeps
    floats)."""
    params = {"begin": iso(begin), "end": iso(end),
              "response_format": "object"}
    resp = requests.get(f"{api_url}/v2/summary", params=params, timeout=600)
    resp.raise_for_status()
    rows = resp.json()["results"]
    row = rows[0] if rows else {}
    return (f"{float(row.get('qty') or 0):.2f}",
            f"{float(row.get('rate') or 0):.2f}")


# --- memory ----------------------------------------------------------------

class RssSampler:
    """Peak of the summed RSS (and PSS) of a process tree, sampled every
    ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak_bytes = 0
        self.peak_pss_bytes = 0
        self.max_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = pss = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
            pss += _pss(proc.pid)
        self.peak_bytes = max(self.peak_bytes, total)
        self.peak_pss_bytes = max(self.peak_pss_bytes, pss)
        self.max_processes = max(self.max_processes, len(procs))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20

    @property
    def peak_pss_mb(self) -> float:
        """Like :attr:`peak_mb` with proportional set sizes: pages shared
        by forked workers count once in total, not once per process."""
        return self.peak_pss_bytes / 2**20


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# --- results ---------------------------------------------------------------

@dataclasses.dataclass
class Figure:
    name: str
    unit: str
    upstream: float | None
    ours: float | None
    higher_is_better: bool
    side: str = "ours"
    compare: bool = True

    @property
    def ratio(self) -> float | None:
        """How many times better ours is (>1: ours wins)."""
        if not (self.compare and self.upstream and self.ours):
            return None
        if self.higher_is_better:
            return self.ours / self.upstream
        return self.upstream / self.ours


@dataclasses.dataclass
class Report:
    title: str
    figures: list[Figure] = dataclasses.field(default_factory=list)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.figures.append(Figure(*args, **kwargs))

    def print(self) -> None:
        print(f"\n{self.title}")
        for key, value in self.info.items():
            print(f"  {key}: {value}")
        width = max([len(f"{f.name} ({f.unit})") for f in self.figures]
                    + [10])
        print(f"\n{'figure':<{width}}  {'side':<16} {'upstream':>11} "
              f"{'ours':>11} {'ratio':>8}")
        for fig in self.figures:
            ratio = f"{fig.ratio:.1f}x" if fig.ratio else "-"
            print(f"{fig.name + ' (' + fig.unit + ')':<{width}}  "
                  f"{fig.side:<16} {_fmt(fig.upstream):>11} "
                  f"{_fmt(fig.ours):>11} {ratio:>8}")
        print("ratio: how many times better ours is (higher rate, lower "
              "latency or memory)")

    def write_json(self, path: str) -> None:
        payload = {"title": self.title, "info": self.info, "figures": [
            {**dataclasses.asdict(fig), "ratio": fig.ratio}
            for fig in self.figures]}
        pathlib.Path(path).write_text(json.dumps(payload, indent=2,
                                                 default=str) + "\n")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return cuts[int(pct) - 1]


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


__all__ = ["History", "Report", "Run", "RssSampler", "Side", "SideSetup",
           "add_side_arguments", "apply_price_list", "finish",
           "side_setup", "count_points", "default_storages",
           "ensure_upstream_venv", "grand_total", "iso", "log", "machine",
           "make_sides", "percentile", "prometheus_history",
           "scope_progress", "seed_scopes", "timed", "upstream_ready",
           "wait_http"]
