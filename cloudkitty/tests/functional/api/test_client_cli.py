"""The official ``cloudkitty`` client CLI against a running API."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

CLIENT = str(Path(sys.executable).with_name("cloudkitty"))


def cloudkitty(api_url: str, *args: str, check: bool = True
               ) -> subprocess.CompletedProcess[str]:
    # The client's own no-auth plugin: no Keystone, the endpoint is given.
    return subprocess.run(
        [CLIENT, "--os-auth-type", "cloudkitty-noauth",
         "--os-endpoint", api_url, *args],
        capture_output=True, text=True, timeout=60, check=check)


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def test_info_metric_list(api_url: str) -> None:
    rows = as_json(cloudkitty(api_url, "info", "metric", "list",
                              "-f", "json"))
    assert rows == [
        {"Metric": "instance", "Unit": "instance",
         "Metadata": ["flavor_name", "flavor_id"]},
        {"Metric": "volume.size", "Unit": "GiB",
         "Metadata": ["volume_type"]},
    ]


def test_info_metric_get(api_url: str) -> None:
    rows = as_json(cloudkitty(api_url, "info", "metric", "get",
                              "volume.size", "-f", "json"))
    assert rows == [{"Metric": "volume.size", "Unit": "GiB",
                     "Metadata": ["volume_type"]}]


def test_info_metric_get_unknown_fails_with_the_server_message(
        api_url: str) -> None:
    result = cloudkitty(api_url, "info", "metric", "get", "nope",
                        check=False)
    assert result.returncode != 0
    assert "(HTTP 404)" in result.stdout + result.stderr


def test_info_config_get(api_url: str) -> None:
    rows = as_json(cloudkitty(api_url, "info", "config", "get",
                              "-f", "json"))
    sections = {row["Section"]: row["Value"] for row in rows}
    assert set(sections) == {"metrics"}
    assert sections["metrics"]["openstack_volume_size_gb"] == {
        "alt_name": "volume.size", "unit": "GiB",
        "metadata": ["volume_type"]}
