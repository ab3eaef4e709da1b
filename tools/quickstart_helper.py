#!/usr/bin/env python3
"""The steps of ``tools/quickstart.sh`` that are easier in Python.

Run with the quickstart's virtualenv (it needs ``packaging`` and, for
``prices``, the ``cloudkitty`` client next to the interpreter)::

    quickstart_helper.py installed REQUIREMENTS ROOT
    quickstart_helper.py sample MANIFEST PERIOD
    quickstart_helper.py prices PRICE_FILE API DATABASE START
    quickstart_helper.py register API MANIFEST PERIOD
    quickstart_helper.py progress API MANIFEST PERIOD WAIT_PERIODS TIMEOUT \
        [--pid-file PROCESSOR_PID_FILE]

Every subcommand prints what it did; a failure exits with status 1 and a
one-line reason on stderr.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

UTC = datetime.timezone.utc
CLIENT = str(Path(sys.executable).with_name("cloudkitty"))


class QuickstartError(Exception):
    """A step cannot go on; the message says why."""


# -- installed: is the virtualenv already complete? ---------------------------

def installed(requirements: Path, root: Path) -> bool:
    """True when every line of ``requirements`` is satisfied, CloudKitty is
    installed from ``root`` and the client is there."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    wanted = ["python-cloudkittyclient"]
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            wanted.append(line)
    for text in wanted:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            return False
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            return False
        if version not in req.specifier:
            return False
    try:
        dist = metadata.distribution("cloudkitty")
    except metadata.PackageNotFoundError:
        return False
    if not _entry_points_current(dist, root / "setup.cfg"):
        return False
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    if (origin.get("url") == root.resolve().as_uri()
            and origin.get("dir_info", {}).get("editable")):
        return True
    # An environment made otherwise (tox, a developer's own virtualenv)
    # counts when it imports CloudKitty from this tree.
    import cloudkitty

    return Path(cloudkitty.__file__).resolve().parent == \
        (root / "cloudkitty").resolve()


def _entry_points_current(dist: Any, setup_cfg: Path) -> bool:
    """Every entry point of ``setup_cfg`` is in the installed metadata
    (an editable install only learns new ones when installed again) and
    every console script is next to the interpreter."""
    import configparser

    parser = configparser.ConfigParser()
    parser.read(setup_cfg)
    if not parser.has_section("entry_points"):
        return True
    installed_eps = {(ep.group, ep.name) for ep in dist.entry_points}
    for group, text in parser.items("entry_points"):
        for line in text.splitlines():
            name = line.split("=", 1)[0].strip()
            if not name:
                continue
            if (group, name) not in installed_eps:
                return False
            if group == "console_scripts" and \
                    not Path(sys.executable).with_name(name).exists():
                return False
    return True


# -- the sample history -------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    projects: list[str]
    first: datetime.datetime  # start of the first rating period
    start: int  # unix time of the first sample
    end: int  # unix time after the last sample


def read_sample(manifest: Path, period: int) -> Sample:
    data = json.loads(manifest.read_text())
    start, end = int(data["start"]), int(data["end"])
    first = datetime.datetime.fromtimestamp(start - start % period, UTC)
    return Sample(sorted(data["projects"]), first, start, end)


def _iso(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the API ------------------------------------------------------------------

def api_call(url: str, method: str = "GET",
             body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method,
        headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return json.loads(text) if text.strip() else None


def scope_states(api: str) -> dict[str, datetime.datetime | None]:
    """``{scope_id: last_processed_timestamp}`` from ``GET /v2/scope``."""
    try:
        doc = api_call(f"{api}/v2/scope?limit=1000")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # no scope yet
            return {}
        raise
    states: dict[str, datetime.datetime | None] = {}
    for row in doc["results"]:
        stamp = row.get("last_processed_timestamp")
        states[row["scope_id"]] = (
            datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            .astimezone(UTC) if stamp else None)
    return states


def register(api: str, sample: Sample, period: int) -> None:
    """Create the state of every sample project, so the processor starts
    with the period where the history starts instead of the start of the
    month (the default for a scope it has never seen)."""
    before = _iso(sample.first - datetime.timedelta(seconds=period))
    known = scope_states(api)
    created = 0
    for scope_id in sample.projects:
        if scope_id in known:
            continue
        api_call(f"{api}/v2/scope", "POST", {
            "scope_id": scope_id, "last_processed_timestamp": before,
            "scope_key": "project_id", "fetcher": "source",
            "collector": "prometheus"})
        created += 1
    print(f"scopes: {len(sample.projects)} sample projects "
          f"({created} registered now), rating from {_iso(sample.first)}")


# -- progress -----------------------------------------------------------------

def last_due(now: datetime.datetime, first: datetime.datetime, period: int,
             wait_periods: int) -> datetime.datetime:
    """Start of the last period the processor rates at ``now`` (the rule
    of ``cloudkitty.processor.schedule``: ended, and ``wait_periods``
    whole periods passed since)."""
    step = datetime.timedelta(seconds=period)
    stamp = now.timestamp()
    due = datetime.datetime.fromtimestamp(stamp - stamp % period, UTC)
    while not (due + wait_periods * step < now and due + step <= now):
        due -= step
    return max(due, first - step)


def _alive(pid_file: Path | None) -> bool:
    """False once the process of ``pid_file`` has exited."""
    if pid_file is None:
        return True
    try:
        status = Path(f"/proc/{int(pid_file.read_text())}/status")
        return "\nState:\tZ" not in status.read_text()
    except (OSError, ValueError):
        return False


def progress(api: str, sample: Sample, period: int, wait_periods: int,
             timeout: float, pid_file: Path | None = None) -> None:
    step = datetime.timedelta(seconds=period)
    interactive = sys.stdout.isatty()
    deadline = time.monotonic() + timeout
    shown = ""
    while True:
        target = last_due(datetime.datetime.now(UTC), sample.first, period,
                          wait_periods)
        total = int((target - sample.first) / step) + 1
        states = scope_states(api)
        rated = {}
        for scope_id in sample.projects:
            last = states.get(scope_id)
            done = 0 if last is None else int((last - sample.first) / step) + 1
            rated[scope_id] = min(max(done, 0), total)
        overall = sum(rated.values())
        caught_up = sum(1 for n in rated.values() if n >= total)
        width = 30
        filled = width * overall // max(total * len(rated), 1)
        line = (f"rating [{'#' * filled}{'.' * (width - filled)}] "
                f"{overall}/{total * len(rated)} periods, "
                f"{caught_up}/{len(rated)} projects caught up")
        if interactive:
            print(f"\r{line}", end="", flush=True)
        elif line != shown:
            print(line, flush=True)
        shown = line
        if caught_up == len(rated):
            break
        if not _alive(pid_file):
            if interactive:
                print()
            raise QuickstartError("the processor exited")
        if time.monotonic() > deadline:
            if interactive:
                print()
            raise QuickstartError(
                f"the processor did not catch up within {timeout:.0f} s; "
                "see its log")
        time.sleep(1)
    if interactive:
        print()
    for scope_id, done in rated.items():
        print(f"  {scope_id}: {done}/{total} periods rated, "
              f"up to {_iso(target + step)}")


# -- the price list -----------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    service: str
    field: str | None
    value: str | None
    kind: str
    cost: Decimal


def read_prices(path: Path) -> list[Rule]:
    rules = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        if len(line) != 5 or line[3] not in ("flat", "rate"):
            raise QuickstartError(
                f"{path}:{number}: expected SERVICE FIELD VALUE flat|rate "
                f"COST, got {raw.strip()!r}")
        service, field, value, kind, cost = line
        if (field == "-") != (value == "-"):
            raise QuickstartError(
                f"{path}:{number}: FIELD and VALUE are both '-' or neither")
        rules.append(Rule(service, None if field == "-" else field,
                          None if value == "-" else value, kind,
                          Decimal(cost)))
    return rules


def client(api: str, *args: str) -> Any:
    """Run the ``cloudkitty`` client (its no-auth plugin); its JSON."""
    done = subprocess.run(
        [CLIENT, "--os-auth-type", "cloudkitty-noauth", "--os-endpoint",
         api, *args, "-f", "json"],
        capture_output=True, text=True, timeout=120, check=False)
    if done.returncode:
        raise QuickstartError(f"cloudkitty {' '.join(args)}: "
                              f"{(done.stderr or done.stdout).strip()}")
    return json.loads(done.stdout) if done.stdout.strip() else []


def load_prices(path: Path, api: str, database: Path,
                start: datetime.datetime) -> None:
    """Create the rules of ``path`` missing from the hashmap module with
    the client, and make the new mappings valid from ``start``. Lists are
    read once and not at all for what was just created: every client run
    costs a process start."""
    rules = read_prices(path)
    modules = {row["Module"]: row for row in client(api, "module", "list")}
    if str(modules.get("hashmap", {}).get("Enabled")).lower() != "true":
        client(api, "module", "enable", "hashmap")
        print("hashmap: enabled")
    services = {row["Name"]: row["Service ID"]
                for row in client(api, "hashmap", "service", "list")}
    fields: dict[str, dict[str, str]] = {}  # service id -> name -> id
    mappings: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    created: list[str] = []
    kept = 0
    for rule in rules:
        if rule.service not in services:
            services[rule.service] = client(
                api, "hashmap", "service", "create",
                rule.service)[0]["Service ID"]
            fields[services[rule.service]] = {}
            mappings[("-s", services[rule.service])] = []
        service_id = services[rule.service]
        if rule.field is None:
            where: tuple[str, ...] = ("-s", service_id)
        else:
            if service_id not in fields:
                fields[service_id] = {
                    row["Name"]: row["Field ID"] for row in
                    client(api, "hashmap", "field", "list", service_id)}
            if rule.field not in fields[service_id]:
                field_id = client(api, "hashmap", "field", "create",
                                  service_id, rule.field)[0]["Field ID"]
                fields[service_id][rule.field] = field_id
                mappings[("--field-id", field_id)] = []
            where = ("--field-id", fields[service_id][rule.field])
        if where not in mappings:
            mappings[where] = client(api, "hashmap", "mapping", "list",
                                     *where)
        existing = [row for row in mappings[where]
                    if (row.get("Value") or None) == rule.value
                    and not row.get("Project ID")]
        if existing:
            kept += 1
            if Decimal(str(existing[0]["Cost"])) != rule.cost:
                print(f"note: {rule.service} {rule.value or ''} costs "
                      f"{existing[0]['Cost']} in the API, {rule.cost} in "
                      f"{path.name}; left as it is")
            continue
        value = ["--value", rule.value] if rule.value is not None else []
        row = client(api, "hashmap", "mapping", "create", *where, *value,
                     "-t", rule.kind, str(rule.cost))[0]
        mappings[where].append(row)
        created.append(row["Mapping ID"])
    backdate(database, created, start)
    print(f"prices: {len(rules)} rules in {path}: {len(created)} created, "
          f"{kept} already there")


def backdate(database: Path, mapping_ids: Sequence[str],
             start: datetime.datetime) -> None:
    """A new mapping is valid from its creation on and the API only takes
    an earlier start with ``force``, which the client cannot send. The
    sample history is older than the price list, so the mappings created
    here are made valid from the start of the history, in the database."""
    if not mapping_ids:
        return
    naive = start.astimezone(UTC).replace(tzinfo=None)
    with sqlite3.connect(database) as conn:
        conn.executemany(
            "UPDATE hashmap_mappings SET start = ? WHERE mapping_id = ?",
            [(naive.strftime("%Y-%m-%d %H:%M:%S.%f"), mapping_id)
             for mapping_id in mapping_ids])
    conn.close()


# -- command line -------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("installed")
    p.add_argument("requirements", type=Path)
    p.add_argument("root", type=Path)
    p = sub.add_parser("sample")
    p.add_argument("manifest", type=Path)
    p.add_argument("period", type=int)
    p = sub.add_parser("prices")
    p.add_argument("prices", type=Path)
    p.add_argument("api")
    p.add_argument("database", type=Path)
    p.add_argument("manifest", type=Path)
    p.add_argument("period", type=int)
    p = sub.add_parser("register")
    p.add_argument("api")
    p.add_argument("manifest", type=Path)
    p.add_argument("period", type=int)
    p = sub.add_parser("progress")
    p.add_argument("api")
    p.add_argument("manifest", type=Path)
    p.add_argument("period", type=int)
    p.add_argument("wait_periods", type=int)
    p.add_argument("timeout", type=float)
    p.add_argument("--pid-file", type=Path,
                   help="stop waiting when this process exits")
    args = parser.parse_args(argv)
    try:
        if args.command == "installed":
            return 0 if installed(args.requirements, args.root) else 1
        if args.command == "sample":
            sample = read_sample(args.manifest, args.period)
            print(f"{' '.join(sample.projects)} {_iso(sample.first)}")
        elif args.command == "prices":
            sample = read_sample(args.manifest, args.period)
            load_prices(args.prices, args.api, args.database, sample.first)
        elif args.command == "register":
            register(args.api, read_sample(args.manifest, args.period),
                     args.period)
        elif args.command == "progress":
            progress(args.api, read_sample(args.manifest, args.period),
                     args.period, args.wait_periods, args.timeout,
                     args.pid_file)
    except (QuickstartError, OSError, ValueError, KeyError) as exc:
        print(f"quickstart: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
