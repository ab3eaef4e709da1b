"""Smoke runs of the side-by-side benchmarks against upstream 25.0.0.

``benchmarks/catchup_vs_upstream.py --smoke`` and
``benchmarks/summary_vs_upstream.py --smoke`` run end to end on tiny data
(upstream's real processor and API in their own virtualenv, ours, the
real services), and must agree with upstream on what was rated and
stored: that is what makes their figures comparable.

Skipped without upstream's virtualenv (``tools/upstream-venv.sh``) unless
``CLOUDKITTY_REQUIRE_UPSTREAM`` is set, and without the services or
``prometheus``/``promtool`` unless ``CLOUDKITTY_REQUIRE_SERVICES`` is set.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import pytest
import requests

from cloudkitty.tests import dbutil

ROOT = pathlib.Path(__file__).resolve().parents[3]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import _sidebyside as sbs  # noqa: E402


def _services_missing() -> str | None:
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        return "prometheus/promtool not on PATH"
    if not shutil.which("rabbitmqctl"):
        return "rabbitmqctl not on PATH"
    try:
        requests.get(f"{sbs.INFLUX_URL}/ping", timeout=2)
    except requests.RequestException:
        return f"no InfluxDB at {sbs.INFLUX_URL}"
    for kind in ("postgresql", "mysql"):
        try:
            with dbutil.fresh_database(kind, "/tmp"):
                pass
        except Exception as exc:  # noqa: BLE001 - any failure means absent
            return f"no {kind} server: {exc}"
    return None


@pytest.fixture(scope="module", autouse=True)
def _requirements() -> None:
    if not sbs.upstream_ready():
        reason = (f"upstream CloudKitty virtualenv missing at "
                  f"{sbs.upstream_venv_path()}; run tools/upstream-venv.sh")
        if os.environ.get("CLOUDKITTY_REQUIRE_UPSTREAM"):
            pytest.fail(reason)
        pytest.skip(reason)
    missing = _services_missing()
    if missing:
        if os.environ.get("CLOUDKITTY_REQUIRE_SERVICES"):
            pytest.fail(missing)
        pytest.skip(missing)


def _run(script: str, tmp_path: pathlib.Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "result.json"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke",
         "--storage", "sqlalchemy", "--json", str(out), *args],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    payload: dict[str, Any] = json.loads(out.read_text())
    return payload


def _figure(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in payload["figures"] if f["name"] == name)


def test_catchup_smoke(tmp_path: pathlib.Path) -> None:
    payload = _run("catchup_vs_upstream.py", tmp_path, "--sets", "base")
    points = _figure(payload, "base: rated points")
    # Same Prometheus, metrics.yml and price list: same points, same bill.
    assert points["upstream"] == points["ours"] > 0
    totals = {key: value for key, value in payload["info"].items()
              if key.startswith("base: total")}
    assert len(totals) == 2 and len(set(map(tuple, totals.values()))) == 1
    assert float(next(iter(totals.values()))[1]) > 0
    for name in ("base: rated points/s", "base: processor peak RSS"):
        figure = _figure(payload, name)
        assert figure["upstream"] > 0 and figure["ours"] > 0
        assert figure["ratio"] is not None


def test_summary_smoke(tmp_path: pathlib.Path) -> None:
    payload = _run("summary_vs_upstream.py", tmp_path, "--requests", "2")
    totals = payload["info"]["totals (qty, rate)"]
    assert set(totals) == {"upstream", "ours[postgresql]"}
    assert totals["upstream"] == totals["ours[postgresql]"]
    assert float(totals["upstream"][1]) > 0
    for shape in ("v2 summary groupby=time-d p50",
                  "v1 report/total p95", "API peak RSS"):
        figure = _figure(payload, shape)
        assert figure["upstream"] > 0 and figure["ours"] > 0
