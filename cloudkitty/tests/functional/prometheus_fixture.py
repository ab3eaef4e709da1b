"""A private Prometheus holding history the tests wrote themselves, and a
misbehaving HTTP server for fault tests.

:func:`generate` builds deterministic series (every value is known to the
test), :class:`BackfilledPrometheus` writes them as OpenMetrics, turns them
into TSDB blocks with ``promtool`` and serves them from its own
``prometheus`` process on a free port with its own data directory, so the
shared instance on 9090 is never written to.
"""
from __future__ import annotations

import dataclasses
import datetime
import http.server
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

UTC = datetime.timezone.utc
STEP = 60
#: Samples sit half a step after each minute so none lies on a period
#: boundary, where inclusive/exclusive range ends would matter.
OFFSET = 30


@dataclasses.dataclass(frozen=True)
class Series:
    name: str
    labels: dict[str, str]
    samples: list[tuple[int, float]]  # (unix seconds, value), time order


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def generate(origin: datetime.datetime, hours: int) -> list[Series]:
    """Gauges ``ck_test_size`` (integer values) and counters
    ``ck_test_bytes`` for three projects; the ``instance`` label is never
    grouped on, so aggregations have two series per group to combine."""
    start = int(origin.timestamp())
    times = [start + OFFSET + STEP * i for i in range(hours * 3600 // STEP)]
    series: list[Series] = []
    for p, project in enumerate(("p1", "p2", "p3")):
        for v, vol in enumerate(("a", "b")):
            for inst in (0, 1):
                labels = {"project_id": project, "id": f"{project}-{vol}",
                          "type": "ssd" if v else "hdd",
                          "instance": f"node{inst}"}
                series.append(Series("ck_test_size", labels, [
                    (t, float(((i * (p + 3) + 7 * v + 5 * inst) % 17) + 1))
                    for i, t in enumerate(times)]))
                step = 100 * (p + 1) + 10 * v + inst
                series.append(Series("ck_test_bytes", labels, [
                    (t, float(10_000_000 + step * i + (i % 3)))
                    for i, t in enumerate(times)]))
    # A project with a value label missing: only "project_id" is set.
    series.append(Series("ck_test_size", {"project_id": "p4"},
                         [(t, 2.0) for t in times]))
    return series


def _escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace('"', '\\"')
            .replace("\n", "\\n"))


def openmetrics(series: list[Series]) -> str:
    lines: list[str] = []
    for name in dict.fromkeys(s.name for s in series):
        lines.append(f"# TYPE {name} gauge")
        for s in series:
            if s.name != name:
                continue
            labels = ",".join(f'{k}="{_escape(v)}"'
                              for k, v in s.labels.items())
            lines.extend(f"{name}{{{labels}}} {value!r} {t}"
                         for t, value in s.samples)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


class BackfilledPrometheus:
    """A ``prometheus`` process of its own serving backfilled series."""

    def __init__(self, workdir: Path, series: list[Series]) -> None:
        self.workdir = workdir
        self.series = series
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        data = self.workdir / "data"
        data.mkdir(parents=True)
        source = self.workdir / "series.om"
        source.write_text(openmetrics(self.series))
        done = subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics",
             str(source), str(data)],
            capture_output=True, timeout=120, check=False)
        if done.returncode:
            raise RuntimeError("promtool failed: "
                               + done.stderr.decode(errors="replace"))
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\n"
                          "scrape_configs: []\n")
        log = open(self.workdir / "log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={data}",
             "--storage.tsdb.retention.time=3650d",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        ready = f"http://127.0.0.1:{self.port}/-/ready"
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
        self.stop()
        raise RuntimeError("prometheus did not become ready")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def available() -> bool:
    return bool(shutil.which("prometheus") and shutil.which("promtool"))


# -- a server that answers what the test tells it ----------------------------

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class FakeServer:
    """``http.server`` in a thread; ``behaviour`` answers each GET."""

    def __init__(self, behaviour: Handler) -> None:
        owner = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.requests.append(self.path)
                owner.headers.append(dict(self.headers))
                behaviour(self)

            def log_message(self, *args: object) -> None:
                pass

        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     _Handler)
        self.httpd.daemon_threads = True
        self.url = (f"http://127.0.0.1:{self.httpd.server_address[1]}"
                    "/api/v1")
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(status: int, body: bytes,
          content_type: str = "application/json") -> Handler:
    def _answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return _answer


def slow(seconds: float, then: Handler) -> Handler:
    def _answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        try:
            then(handler)
        except OSError:  # the client gave up already
            pass
    return _answer


def closed_port_url() -> str:
    """A URL where nothing listens (the port was just released)."""
    return f"http://127.0.0.1:{free_port()}/api/v1"


