"""A real ``cloudkitty-api`` process for end-to-end tests."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cloudkitty.tests import dbutil, storage_factory
from cloudkitty.tests.unit.api.conftest import PASTE_FILE

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


def _write_conf(path: Path, sections: Mapping[str, Mapping[str, object]]
                ) -> None:
    lines = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in options.items())
    path.write_text("\n".join(lines) + "\n")


def conf_for(db_url: str, tmp: Path,
             sections: Mapping[str, Mapping[str, object]] | None = None,
             ) -> Any:
    """The parsed configuration a test uses to reach the database (and
    storage) of an API it started: ``db_url`` with the sqlalchemy
    storage, plus ``sections``."""
    from oslo_config import cfg

    from cloudkitty import service

    path = tmp / "test.conf"
    _write_conf(path, {"database": {"connection": db_url},
                       "storage": {"backend": "sqlalchemy"},
                       **(sections or {})})
    return service.prepare_service(["--config-file", str(path)],
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False)


@contextlib.contextmanager
def running_api(tmp_path: Path, db_url: str | None = None, *,
                metrics_yml: str | None = METRICS_YML,
                **extra_sections: Mapping[str, object]) -> Iterator[str]:
    """Start ``cloudkitty-api`` (noauth, sqlalchemy storage, prometheus
    collector) from a cloudkitty.conf written under ``tmp_path``; yield its
    URL once it answers and stop it on exit.

    ``db_url`` is migrated to head first; without it the API gets an
    empty SQLite file (enough for routes that never touch the database).
    ``metrics_yml=None`` leaves ``metrics_conf`` at its default.
    ``extra_sections`` add or override ``{section: {option: value}}``.
    """
    if db_url is None:
        db_url = f"sqlite:///{tmp_path / 'ck.sqlite'}"
    else:
        storage_factory.migrate(db_url)
    port = free_port()
    collect: dict[str, object] = {"collector": "prometheus"}
    if metrics_yml is not None:
        metrics = tmp_path / "metrics.yml"
        metrics.write_text(metrics_yml)
        collect["metrics_conf"] = metrics
    sections: dict[str, dict[str, object]] = {
        "DEFAULT": {"auth_strategy": "noauth",
                    "api_paste_config": PASTE_FILE},
        "api": {"host_ip": "127.0.0.1", "port": port},
        "database": {"connection": db_url},
        "storage": {"backend": "sqlalchemy"},
        "collect": collect,
    }
    for section, options in extra_sections.items():
        sections.setdefault(section, {}).update(options)
    conf = tmp_path / "cloudkitty.conf"
    _write_conf(conf, sections)
    script = Path(sys.executable).with_name("cloudkitty-api")
    with (tmp_path / "api.log").open("w") as log:
        process = subprocess.Popen([str(script), "--config-file", str(conf)],
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_serving(url + "/", process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextlib.contextmanager
def api_on_fresh_database(kind: str,
                          tmp_path_factory: pytest.TempPathFactory,
                          **options: Any) -> Iterator[tuple[str, str]]:
    """``running_api`` on a fresh, migrated database of ``kind``
    (see ``dbutil.fresh_database``); yields ``(api_url, db_url)``.
    ``options`` go to ``running_api``."""
    tmp_path = tmp_path_factory.mktemp(f"api-{kind}")
    with dbutil.fresh_database(kind, str(tmp_path)) as db_url:
        with running_api(tmp_path, db_url, **options) as url:
            yield url, db_url


#: The database kinds the client tests that write run on, one server each.
CLIENT_DB_KINDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a ``cloudkitty-api`` (noauth, SQLite) started for the tests
    of a module; the tests only read."""
    with running_api(tmp_path_factory.mktemp("api")) as url:
        yield url
