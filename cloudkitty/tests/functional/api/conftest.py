"""A real ``cloudkitty-api`` process for end-to-end tests."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import cloudkitty

PASTE_FILE = (Path(cloudkitty.__file__).resolve().parents[1]
              / "etc" / "cloudkitty" / "api_paste.ini")

METRICS_YML = """\
metrics:
  openstack_instance_uptime_seconds:
    alt_name: instance
    unit: instance
    groupby: [instance_id]
    metadata: [flavor_name, flavor_id]
  openstack_volume_size_gb:
    alt_name: volume.size
    unit: GiB
    metadata: [volume_type]
"""


def free_port() -> int:
    """A TCP port nothing listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen,
                        timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cloudkitty-api exited with "
                               f"{process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"cloudkitty-api did not answer on {url}")


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a ``cloudkitty-api`` (noauth, SQLite) started for the tests
    of a module; the tests only read."""
    tmp_path = tmp_path_factory.mktemp("api")
    metrics = tmp_path / "metrics.yml"
    metrics.write_text(METRICS_YML)
    port = free_port()
    conf = tmp_path / "cloudkitty.conf"
    conf.write_text(
        f"[DEFAULT]\nauth_strategy = noauth\n"
        f"api_paste_config = {PASTE_FILE}\n"
        f"[api]\nhost_ip = 127.0.0.1\nport = {port}\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'ck.sqlite'}\n"
        f"[storage]\nbackend = sqlalchemy\n"
        f"[collect]\ncollector = prometheus\nmetrics_conf = {metrics}\n")
    log = (tmp_path / "api.log").open("w")
    script = Path(sys.executable).with_name("cloudkitty-api")
    process = subprocess.Popen([str(script), "--config-file", str(conf)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url + "/", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
