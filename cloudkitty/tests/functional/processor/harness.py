"""Real services and a real ``cloudkitty-processor`` for the processor's
end-to-end tests.

* :class:`RestartablePrometheus`: ``BackfilledPrometheus`` that can be
  stopped and started again on the same port and data directory;
* :func:`clone_database`: a PostgreSQL database copied from a template
  (the price list is applied once per session, with the real client);
* :func:`rabbit_vhost` (a throw-away virtual host on the shared
  RabbitMQ, so tests never share a queue) and :class:`PrivateRabbit` (a
  RabbitMQ node of the test's own, which it may restart);
* :func:`apply_prices`: the hashmap rules of a :class:`PriceList`
  created with the ``cloudkitty`` client CLI;
* :class:`Processor`: writes a cloudkitty.conf, runs the console script
  in its own session, waits for progress, stops it and checks the exit;
* readers of what was stored (:func:`stored_sums`, :func:`stored_counts`).
"""
from __future__ import annotations

import contextlib
import datetime
import functools
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty import service
from cloudkitty.db import api as db_api
from cloudkitty.storage import get_storage
from cloudkitty.storage.state import StateManager
from cloudkitty.tests import dbutil
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.api.test_client_cli import (
    as_json,
    cloudkitty,
)
from cloudkitty.tests.functional.processor.history import (
    HOUR,
    PriceList,
    current_hour,
)

UTC = datetime.timezone.utc
BIN = Path(sys.executable).parent
PROCESSOR = str(BIN / "cloudkitty-processor")
RABBIT_SHARED = "rabbit://guest:guest@127.0.0.1:5672/"
REDIS = "redis://127.0.0.1:6379"
RATED = re.compile(r"^(\S+ \S+) .*Rated scope (\S+) period (\S+): (\d+) "
                   r"points(?! \(reprocessing)", re.M)
REPROCESSED = re.compile(r"Rated scope (\S+) period (\S+): \d+ points "
                         r"\(reprocessing schedule")


# -- waiting ------------------------------------------------------------------

def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
             *processors: Processor, interval: float = 0.2) -> None:
    """Poll ``predicate`` until true; on timeout (or when a processor
    died) fail with the tail of every processor's log."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        dead = [p for p in processors if not p.alive()]
        if dead or time.monotonic() > deadline:
            reason = (f"processor {dead[0].name} exited" if dead
                      else f"timed out after {timeout:g} s")
            raise AssertionError(
                f"waiting for {what}: {reason}\n"
                + "\n".join(p.describe() for p in processors))
        time.sleep(interval)


def last_due() -> datetime.datetime:
    """Start of the last period due with ``period = 3600`` and
    ``wait_periods = 0``: the one that ended at the current hour."""
    return current_hour() - HOUR


# -- Prometheus ---------------------------------------------------------------

class RestartablePrometheus(pf.BackfilledPrometheus):
    """Stop it to simulate an outage; :meth:`restart` serves the same
    blocks on the same port again."""

    def restart(self) -> None:
        config = self.workdir / "prometheus.yml"
        with open(self.workdir / "log", "ab") as log:
            self.process = subprocess.Popen(
                ["prometheus", f"--config.file={config}",
                 f"--storage.tsdb.path={self.workdir / 'data'}",
                 "--storage.tsdb.retention.time=3650d",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT)
        ready = f"http://127.0.0.1:{self.port}/-/ready"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("prometheus exited: "
                                   + (self.workdir / "log").read_text())
            try:
                with urllib.request.urlopen(ready, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("prometheus did not become ready again")


def slow_proxy(target: pf.BackfilledPrometheus, delay: float
               ) -> pf.FakeServer:
    """An HTTP server answering every GET as ``target`` does, ``delay``
    seconds later (use as a context manager; its ``url`` replaces
    ``target.url``)."""
    base = f"http://127.0.0.1:{target.port}"

    def forward(handler: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        try:
            with urllib.request.urlopen(base + handler.path,
                                        timeout=30) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        with contextlib.suppress(OSError):
            pf.reply(status, body)(handler)

    return pf.FakeServer(forward)


# -- databases ----------------------------------------------------------------

@contextlib.contextmanager
def clone_database(template_url: str) -> Iterator[str]:
    """A new PostgreSQL database copied from ``template_url`` (which no
    one may be connected to); dropped afterwards."""
    template = sa.make_url(template_url).database
    admin = sa.make_url(dbutil.ADMIN_URLS["postgresql"])
    name = f"ck_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(
                f"CREATE DATABASE {name} TEMPLATE {template}"))
        try:
            yield admin.set(database=name).render_as_string(
                hide_password=False)
        finally:
            db_api.dispose_engines()
            with engine.connect() as conn:
                conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"),
                    {"n": name})
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        engine.dispose()


# -- RabbitMQ -----------------------------------------------------------------

def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True,
                          text=True, timeout=60, check=False)


@functools.cache
def rabbitmqctl_usable() -> bool:
    return bool(shutil.which("rabbitmqctl")) and \
        _rabbitmqctl("list_vhosts").returncode == 0


@contextlib.contextmanager
def rabbit_vhost() -> Iterator[str]:
    """A transport URL on a virtual host of its own on the shared
    RabbitMQ. oslo.messaging names a topic's queue after the topic alone
    (not the exchange), so only a vhost keeps parallel tests' rating
    workers apart. Falls back to ``/`` when rabbitmqctl is not usable."""
    if not rabbitmqctl_usable():
        yield RABBIT_SHARED
        return
    vhost = f"ck-test-{uuid.uuid4().hex[:12]}"
    for args in (("add_vhost", vhost),
                 ("set_permissions", "-p", vhost, "guest", ".*", ".*",
                  ".*")):
        done = _rabbitmqctl(*args)
        if done.returncode:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: "
                               f"{done.stderr}")
    try:
        yield f"{RABBIT_SHARED}{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


RABBIT_SCRIPTS = Path("/usr/lib/rabbitmq/bin")


class PrivateRabbit:
    """A RabbitMQ node of its own (name, ports, data, logs, cookie under
    ``workdir``), started and stopped by the test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.node = f"ck{uuid.uuid4().hex[:10]}@localhost"
        self.port = pf.free_port()
        self.url = f"rabbit://guest:guest@127.0.0.1:{self.port}/"
        (workdir / "enabled_plugins").write_text("[].\n")
        (workdir / "rabbitmq-env.conf").write_text("")
        (workdir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        self.env = {
            **os.environ, "HOME": str(workdir),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(pf.free_port()),
            "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(workdir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(workdir / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(workdir / "pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return (RABBIT_SCRIPTS / "rabbitmq-server").exists() and \
            bool(shutil.which("erl"))

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RABBIT_SCRIPTS / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env, capture_output=True, text=True, timeout=90,
            check=False)

    def start(self) -> None:
        with open(self.workdir / "server.out", "ab") as out:
            self.process = subprocess.Popen(
                [str(RABBIT_SCRIPTS / "rabbitmq-server")], env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "rabbitmq-server exited: "
                    + (self.workdir / "server.out").read_text())
            if self._ctl("await_startup", "--timeout", "5").returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("private rabbitmq did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._ctl("stop")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


# -- the price list, with the real client ------------------------------------

def ck(api_url: str, *args: str) -> Any:
    done = cloudkitty(api_url, "--os-rating-api-version", "2", *args,
                      "-f", "json", check=False)
    if done.returncode:
        raise AssertionError(f"cloudkitty {' '.join(args)}: "
                             f"{done.stdout}{done.stderr}")
    return as_json(done) if done.stdout.strip() else None


def apply_prices(api_url: str, prices: PriceList) -> dict[str, str]:
    """Enable hashmap and create the rules of ``prices`` with the
    ``cloudkitty`` CLI; returns the ids tests change later
    (``volume_threshold``: the volume service's threshold)."""
    ck(api_url, "module", "enable", "hashmap")

    def service_id(name: str) -> str:
        return str(ck(api_url, "hashmap", "service", "create",
                       name)[0]["Service ID"])

    def field_id(service: str, name: str) -> str:
        return str(ck(api_url, "hashmap", "field", "create", service,
                       name)[0]["Field ID"])

    def mapping(cost: Decimal, *where: str) -> str:
        return str(ck(api_url, "hashmap", "mapping", "create", str(cost),
                       *where)[0]["Mapping ID"])

    instance = service_id("instance")
    flavor = field_id(instance, "flavor_name")
    for name, cost in prices.flavor_flat.items():
        mapping(cost, "--field-id", flavor, "--value", name, "-t", "flat")
    project, name, cost = prices.tenant_flavor
    mapping(cost, "--field-id", flavor, "--value", name, "-t", "flat",
            "-p", project)
    volume = service_id("volume.size")
    mapping(prices.volume_flat, "-s", volume, "-t", "flat")
    vtype = field_id(volume, "volume_type")
    mapping(prices.ssd_rate, "--field-id", vtype, "--value", "ssd",
            "-t", "rate")
    threshold = ck(api_url, "hashmap", "threshold", "create",
                    str(prices.volume_threshold_level),
                    str(prices.volume_threshold_rate), "-s", volume,
                    "-t", "rate")[0]["Threshold ID"]
    mapping(prices.network_flat, "-s", service_id("network.bytes"),
            "-t", "flat")
    return {"volume_threshold": str(threshold)}


def backdate_mappings(db_url: str, start: datetime.datetime) -> None:
    """Make every hashmap mapping start at ``start``."""
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE hashmap_mappings SET start = :s"),
                         {"s": start.replace(tzinfo=None)})
    finally:
        engine.dispose()


def summary(api_url: str, begin: datetime.datetime,
            end: datetime.datetime) -> dict[tuple[str, str], tuple[Any, Any]]:
    """``cloudkitty summary get -g project_id -g type``: ``{(project,
    type): (qty, rate)}`` as the CLI prints them (JSON numbers)."""
    rows = ck(api_url, "summary", "get", "-g", "project_id", "-g", "type",
               "-b", begin.isoformat(), "-e", end.isoformat(),
               "--limit", "1000")
    return {(row["Project id"], row["Type"]): (row["Qty"], row["Rate"])
            for row in rows}


# -- reading what was stored --------------------------------------------------

def read_conf(path: Path) -> cfg.ConfigOpts:
    return service.prepare_service(["--config-file", str(path)],
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False)


def stored_sums(conf: cfg.ConfigOpts, begin: datetime.datetime,
                end: datetime.datetime,
                ) -> dict[tuple[str, datetime.datetime, str],
                          tuple[Decimal, Decimal]]:
    """``{(scope, period start, type): (qty, price)}`` in storage."""
    rows = get_storage(conf).total(
        groupby=["project_id", "time", "type"], begin=begin, end=end,
        paginate=False)["results"]
    return {(r["project_id"], r["begin"], r["type"]): (r["qty"], r["rate"])
            for r in rows}


def stored_counts(conf: cfg.ConfigOpts, begin: datetime.datetime,
                  end: datetime.datetime,
                  ) -> dict[tuple[str, datetime.datetime, str], int]:
    """``{(scope, period start, type): rows}`` straight from the table:
    a scope-period stored twice shows twice the rows."""
    engine = db_api.get_engine(conf)
    query = sa.text(
        "SELECT scope_id, begin, type, count(*) FROM cloudkitty_dataframes"
        " WHERE begin >= :b AND begin < :e GROUP BY scope_id, begin, type")
    with engine.connect() as conn:
        rows = conn.execute(query, {"b": begin.replace(tzinfo=None),
                                    "e": end.replace(tzinfo=None)}).all()
    return {(scope, when.replace(tzinfo=UTC), kind): int(count)
            for scope, when, kind, count in rows}


def stored_totals(conf: cfg.ConfigOpts, begin: datetime.datetime,
                  end: datetime.datetime,
                  ) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    rows = get_storage(conf).total(
        groupby=["project_id", "type"], begin=begin, end=end,
        paginate=False)["results"]
    return {(r["project_id"], r["type"]): (r["qty"], r["rate"])
            for r in rows}


# -- the processor ---------------------------------------------------------

class Processor:
    """One ``cloudkitty-processor`` process and its configuration.

    ``sections`` are written as cloudkitty.conf under ``workdir``;
    :meth:`configure` changes them (and rewrites the file).
    """

    def __init__(self, workdir: Path, name: str,
                 sections: Mapping[str, Mapping[str, object]]) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.conf_path = workdir / f"{name}.conf"
        self.log_path = workdir / f"{name}.log"
        self.out_path = workdir / f"{name}.out"
        self.sections: dict[str, dict[str, object]] = {
            s: dict(o) for s, o in sections.items()}
        self.sections.setdefault("DEFAULT", {}).setdefault(
            "host", f"{name}-{uuid.uuid4().hex[:6]}")
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.write()

    def write(self) -> None:
        lines: list[str] = []
        for section, options in self.sections.items():
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {v}" for k, v in options.items())
        self.conf_path.write_text("\n".join(lines) + "\n")

    def configure(self, **sections: Mapping[str, object]) -> None:
        for section, options in sections.items():
            self.sections.setdefault(section, {}).update(options)
        self.write()

    def conf(self) -> cfg.ConfigOpts:
        """The configuration as the processor reads it (for StateManager,
        storage...)."""
        return read_conf(self.conf_path)

    # process control

    def start(self, env: Mapping[str, str] | None = None) -> None:
        assert not self.alive(), "already running"
        environ = {k: v for k, v in os.environ.items()
                   if k != "CLOUDKITTY_FAILPOINTS"}
        environ.update(env or {})
        with self.out_path.open("ab") as out:
            self.process = subprocess.Popen(
                [PROCESSOR, "--config-file", str(self.conf_path),
                 "--log-file", str(self.log_path)],
                stdout=out, stderr=subprocess.STDOUT, env=environ,
                start_new_session=True)
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"processor {self.name} still running "
                                 f"after {timeout} s\n"
                                 + self.describe()) from None

    def stop(self, *, allow_tracebacks: bool = False,
             timeout: float = 60) -> None:
        """SIGTERM; the processor must exit 0 (without a traceback in its
        log unless allowed)."""
        if self.process is None:
            return
        if self.alive():
            self.signal(signal.SIGTERM)
        status = self.wait_exit(timeout)
        self.process = None
        assert status == 0, f"exit status {status}\n{self.describe()}"
        if not allow_tracebacks:
            assert "Traceback" not in self.log(), self.describe()

    def kill(self) -> None:
        """SIGKILL the processor's whole process group (cleanup)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self._reap_group()
        self.process = None

    def _reap_group(self) -> None:
        """Wait until no process of the (dead) leader's group remains."""
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def wait_killed(self, timeout: float = 120) -> None:
        """Wait for a failpoint to SIGKILL the processor's group."""
        status = self.wait_exit(timeout)
        assert status == -signal.SIGKILL, \
            f"exit status {status}, not SIGKILL\n{self.describe()}"
        self._reap_group()
        self.process = None

    # observation

    def log(self) -> str:
        parts = []
        for path in (self.log_path, self.out_path):
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def describe(self, lines: int = 40) -> str:
        tail = "\n".join(self.log().splitlines()[-lines:])
        return f"--- {self.name} ({self.conf_path}) log tail:\n{tail}"

    def rated(self) -> list[tuple[datetime.datetime, str, str, int]]:
        """``(log time, scope, period, points)`` of every regular
        scope-period this processor's log says it stored."""
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return [(datetime.datetime.fromisoformat(m[1].replace(" ", "T")),
                 m[2], m[3], int(m[4])) for m in RATED.finditer(text)]


    def reprocessed(self) -> list[tuple[str, str]]:
        """``(scope, period)`` of every scope-period this processor's log
        says it stored for a reprocessing schedule."""
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return [(m[1], m[2]) for m in REPROCESSED.finditer(text)]


def seed_states(conf: cfg.ConfigOpts, scopes: list[str],
                last: datetime.datetime) -> None:
    states = StateManager(conf)
    for scope_id in scopes:
        states.set_last_processed_timestamp(scope_id, last)


def states(conf: cfg.ConfigOpts, scopes: list[str],
           ) -> dict[str, datetime.datetime | None]:
    manager = StateManager(conf)
    return {s: manager.get_last_processed_timestamp(s) for s in scopes}


def caught_up(conf: cfg.ConfigOpts, scopes: list[str],
              target: datetime.datetime) -> Callable[[], bool]:
    def check() -> bool:
        return all(ts is not None and ts >= target
                   for ts in states(conf, scopes).values())
    return check
