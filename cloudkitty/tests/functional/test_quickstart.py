"""``tools/quickstart.sh`` end to end: install check, private Prometheus with
sample history, API, processor, price list, progress, cost summary; a second
run that reuses everything; ``stop`` that ends every process it started.

The script runs with this test's virtualenv (already holding CloudKitty and
the client, so nothing is installed), a state directory under the test's
temporary directory and free ports, so it never meets the shared services
or a quickstart a developer left running.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from cloudkitty.tests import services
from cloudkitty.tests.functional import prometheus_fixture as pf

pytestmark = services.needs(pf.available(),
                            "prometheus/promtool not installed")

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tools" / "quickstart.sh"
PRICES = ROOT / "etc" / "cloudkitty" / "quickstart-prices.txt"
VENV = Path(sys.executable).parent.parent
PROJECTS = 3
NAMES = ("api", "processor", "prometheus")


def _env(state: Path, api_port: int, prom_port: int) -> dict[str, str]:
    return {**os.environ,
            "CLOUDKITTY_VENV": str(VENV),
            "CLOUDKITTY_QUICKSTART_DIR": str(state),
            "CLOUDKITTY_API_PORT": str(api_port),
            "CLOUDKITTY_PROMETHEUS_PORT": str(prom_port),
            "CLOUDKITTY_QUICKSTART_PROJECTS": str(PROJECTS),
            "CLOUDKITTY_QUICKSTART_HISTORY": "12h",
            "CLOUDKITTY_QUICKSTART_TIMEOUT": "90"}


def _run(env: dict[str, str], *args: str) -> tuple[str, float]:
    began = time.monotonic()
    done = subprocess.run([str(SCRIPT), *args], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=150, check=False)
    elapsed = time.monotonic() - began
    assert done.returncode == 0, done.stdout
    return done.stdout, elapsed


def _tables(output: str) -> dict[str, list[dict[str, str]]]:
    """The client tables the script printed, by the heading above them."""
    tables: dict[str, list[dict[str, str]]] = {}
    heading = None
    header: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(("Cost per project", "Cost per service",
                            "Total:")):
            heading, header = line.split(" (")[0].rstrip(":"), None
            tables[heading] = []
        elif heading and line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
            else:
                tables[heading].append(dict(zip(header, cells, strict=True)))
    return tables


def _window(output: str) -> tuple[str, str]:
    """``-b`` and ``-e`` of the summary commands the script ran."""
    for line in output.splitlines():
        if line.startswith("$ cloudkitty summary get"):
            words = line.split()
            return words[words.index("-b") + 1], words[words.index("-e") + 1]
    raise AssertionError(f"no summary command printed:\n{output}")


def _api_summary(api: str, begin: str, end: str,
                 *groupby: str, **filters: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode(
        [("begin", begin), ("end", end), ("limit", "1000")]
        + [("groupby", g) for g in groupby]
        + [("filters", f"{k}:{v}") for k, v in filters.items()])
    with urllib.request.urlopen(f"{api}/v2/summary?{query}",
                                timeout=30) as response:
        doc = json.load(response)
    return [dict(zip(doc["columns"], row, strict=True))
            for row in doc["results"]]


def _close(printed: str, served: str | float) -> bool:
    return math.isclose(float(printed), float(served), rel_tol=1e-9,
                        abs_tol=1e-9)


def _pids(state: Path) -> dict[str, int]:
    return {name: int((state / f"{name}.pid").read_text())
            for name in NAMES}


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _processes_using(state: Path) -> list[str]:
    """Command lines of the live processes that mention ``state``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or not _alive(int(proc.name)):
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if str(state).encode() + b"/" in cmdline:
            found.append(cmdline.decode(errors="replace"))
    return found


def _price_rules() -> list[list[str]]:
    rules = []
    for line in PRICES.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            rules.append(words)
    return rules


def _check_summary(output: str, api: str, projects: list[str]) -> None:
    begin, end = _window(output)
    tables = _tables(output)

    printed = {row["Project id"]: row for row in tables["Cost per project"]}
    served = {row["project_id"]: row
              for row in _api_summary(api, begin, end, "project_id")}
    assert sorted(printed) == sorted(served) == projects
    for project, row in printed.items():
        assert _close(row["Rate"], served[project]["rate"])
        assert _close(row["Qty"], served[project]["qty"])
        assert float(row["Rate"]) > 0

    printed = {row["Type"]: row for row in tables["Cost per service"]}
    served = {row["type"]: row
              for row in _api_summary(api, begin, end, "type")}
    assert sorted(printed) == sorted(served)
    for kind, row in printed.items():
        assert _close(row["Rate"], served[kind]["rate"])
        assert _close(row["Qty"], served[kind]["qty"])
    # The price list rates every type but incoming traffic.
    priced = {rule[0] for rule in _price_rules()}
    assert {k for k, row in printed.items() if float(row["Rate"]) > 0} \
        == priced & set(printed)
    assert float(printed["network.incoming.bytes"]["Rate"]) == 0

    total = tables["Total"]
    assert len(total) == 1
    assert math.isclose(float(total[0]["Rate"]),
                        sum(float(r["Rate"]) for r in printed.values()),
                        rel_tol=1e-9)

    # The prices are the file's: every instance point costs its flavor's
    # price per hour (one instance for one period).
    flat = {rule[2]: Decimal(rule[4]) for rule in _price_rules()
            if rule[:2] == ["instance", "flavor_name"]}
    query = urllib.parse.urlencode({"begin": begin, "end": end,
                                    "filters": "type:instance",
                                    "limit": "1000"})
    with urllib.request.urlopen(f"{api}/v2/dataframes?{query}",
                                timeout=30) as response:
        frames = json.load(response)["dataframes"]
    points = [point for frame in frames
              for point in frame["usage"].get("instance", [])]
    assert points
    for point in points:
        price = Decimal(str(point["vol"]["qty"])) \
            * flat[point["metadata"]["flavor_name"]]
        assert _close(str(price), point["rating"]["price"])


def _count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as conn:
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.close()
    return int(count)


def test_quickstart_runs_reuses_and_stops(tmp_path: Path) -> None:
    helper = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "quickstart_helper.py"),
         "installed", str(ROOT / "requirements.txt"), str(ROOT)],
        check=False)
    assert helper.returncode == 0, \
        f"{VENV} lacks CloudKitty or the client: the quickstart would install"
    state = tmp_path / "qs"
    api_port, prom_port = pf.free_port(), pf.free_port()
    env = _env(state, api_port, prom_port)
    api = f"http://127.0.0.1:{api_port}"
    pids: dict[str, int] = {}
    try:
        first, _ = _run(env)
        manifest = json.loads((state / "sample" / "manifest.json").read_text())
        projects = sorted(manifest["projects"])
        assert len(projects) == PROJECTS
        assert f"{PROJECTS}/{PROJECTS} projects caught up" in first
        assert "tools/quickstart.sh stop" in first
        _check_summary(first, api, projects)
        database = state / "cloudkitty.sqlite"
        rules = _count(database, "hashmap_mappings")
        assert rules == len(_price_rules())
        pids = _pids(state)

        second, elapsed = _run(env)
        assert elapsed < 30, second
        for name in ("Prometheus", "API", "processor"):
            assert f"{name} already running" in second
        assert "already installed" in second
        assert "price list already loaded" in second
        assert "generating" not in second
        assert _pids(state) == pids
        assert _count(database, "hashmap_mappings") == rules
        assert _count(database, "cloudkitty_storage_states") == PROJECTS
        _check_summary(second, api, projects)

        # Without the script's stamp, loading the list again finds every
        # rule in place and creates none.
        again = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "quickstart_helper.py"),
             "prices", str(PRICES), api, str(database),
             str(state / "sample" / "manifest.json"), "3600"],
            capture_output=True, text=True, timeout=120, check=False)
        assert again.returncode == 0, again.stderr
        assert f"0 created, {rules} already there" in again.stdout
        assert _count(database, "hashmap_mappings") == rules
    finally:
        stopped, _ = _run(env, "stop")
    assert all(not _alive(pid) for pid in pids.values()), stopped
    assert _processes_using(state) == []
    assert not any((state / f"{name}.pid").exists() for name in NAMES)
