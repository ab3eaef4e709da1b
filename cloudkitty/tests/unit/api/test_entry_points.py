"""``cloudkitty.wsgi.api:application`` and ``cloudkitty-api`` start-up
errors, in subprocesses (both read the configuration at start)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cloudkitty.tests.unit.api.conftest import PASTE_FILE

WSGI_PROBE = """
import webtest
from cloudkitty.wsgi.api import application
client = webtest.TestApp(application)
print(client.get("/v1/info/metrics/instance").json["unit"])
"""


def _write_conf(path: Path, metrics_file: Path, **default: str) -> Path:
    options = {"auth_strategy": "noauth",
               "api_paste_config": str(PASTE_FILE), **default}
    path.write_text(
        "[DEFAULT]\n" + "".join(f"{k} = {v}\n" for k, v in options.items())
        + "[storage]\nbackend = sqlalchemy\n"
        + "[collect]\ncollector = prometheus\n"
        + f"metrics_conf = {metrics_file}\n")
    return path


def test_wsgi_application_reads_the_file_named_by_the_environment(
        tmp_path: Path, metrics_file: Path) -> None:
    conf_file = _write_conf(tmp_path / "ck.conf", metrics_file)
    env = {**os.environ, "CLOUDKITTY_CONFIG_FILE": str(conf_file)}
    result = subprocess.run([sys.executable, "-c", WSGI_PROBE], env=env,
                            capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # oslo.log writes to stdout too: the probe's line comes last.
    assert result.stdout.strip().splitlines()[-1] == "instance"


def test_wsgi_application_refuses_a_bad_configuration(
        tmp_path: Path, metrics_file: Path) -> None:
    conf_file = _write_conf(tmp_path / "ck.conf", metrics_file,
                            api_paste_config="missing.ini")
    env = {**os.environ, "CLOUDKITTY_CONFIG_FILE": str(conf_file)}
    result = subprocess.run([sys.executable, "-c", WSGI_PROBE], env=env,
                            capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "option api_paste_config" in result.stdout + result.stderr


def test_api_script_reports_configuration_errors_in_one_line(
        tmp_path: Path, metrics_file: Path) -> None:
    conf_file = _write_conf(tmp_path / "ck.conf", metrics_file,
                            api_paste_config="missing.ini")
    script = Path(sys.executable).with_name("cloudkitty-api")
    result = subprocess.run([str(script), "--config-file", str(conf_file)],
                            capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("cloudkitty-api: configuration error: ")
    assert "section [DEFAULT], option api_paste_config" in lines[0]
