#!/usr/bin/env python3
"""Summary and report latency of upstream CloudKitty 25.0.0 and ours,
side by side, on a month of rated data for 200 projects.

Rating millions of points through upstream's processor would take hours,
so the rated points come from a deterministic generator
(``benchmarks/_sidebyside_data.py``: about 20 resources per project, one
point per resource and hour, priced with the benchmarks' flat price list)
and each side stores them with its own storage layer, in its own
virtualenv, through its v2 storage driver's ``push`` (ours keeps its
rollups in the same unit of work; ``--ours-write replace`` uses the
processor's ``replace_scope_periods`` instead), then ours runs
``cloudkitty-storage-init``.

Both APIs (noauth, same WSGI server) then answer the same requests,
alternately, one at a time: ``/v2/summary`` with no groupby,
``groupby=type``, ``groupby=project_id``, ``groupby=type&groupby=project_id``
and ``groupby=time-d``; ``/v1/report/total`` (all tenants) and
``/v1/report/summary`` grouped by ``res_type`` / ``tenant_id`` / both (v1
has no groupby on ``total``). p50/p95 latency per shape and the API's
peak RSS are printed, with the ratio to upstream.

    python benchmarks/summary_vs_upstream.py              # 200 projects, 30 d
    python benchmarks/summary_vs_upstream.py --scale 0.1  # 20 projects
    python benchmarks/summary_vs_upstream.py --smoke      # < 2 min
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import functools
import json
import subprocess
import time
from collections.abc import Sequence
from typing import Any

import _sidebyside as sbs
import _sidebyside_data as data
import requests

#: The month every run rates (fixed, so data are identical across runs).
BEGIN = datetime.datetime(2026, 9, 1, tzinfo=sbs.UTC)

#: (label, path, query) of every request shape.
SHAPES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("v2 summary", "/v2/summary", []),
    ("v2 summary groupby=type", "/v2/summary", [("groupby", "type")]),
    ("v2 summary groupby=project_id", "/v2/summary",
     [("groupby", "project_id")]),
    ("v2 summary groupby=type,project_id", "/v2/summary",
     [("groupby", "type"), ("groupby", "project_id")]),
    ("v2 summary groupby=time-d", "/v2/summary", [("groupby", "time-d")]),
    ("v1 report/total", "/v1/report/total", [("all_tenants", "true")]),
    ("v1 report/summary groupby=res_type", "/v1/report/summary",
     [("all_tenants", "true"), ("groupby", "res_type")]),
    ("v1 report/summary groupby=tenant_id", "/v1/report/summary",
     [("all_tenants", "true"), ("groupby", "tenant_id")]),
    ("v1 report/summary groupby=res_type,tenant_id", "/v1/report/summary",
     [("all_tenants", "true"), ("groupby", "res_type,tenant_id")]),
]


def load(side: sbs.Side, spec: dict[str, Any], shards: int) -> float:
    """Store the generated points with the side's own storage layer, in
    ``shards`` parallel processes; returns points per second."""
    started = time.monotonic()
    procs = [subprocess.Popen(
        [side.python, str(sbs.HERE / "_sidebyside_load.py"), side.kind,
         str(side.conf), json.dumps({**spec, "shard": [i, shards]})],
        env=side.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for i in range(shards)]
    written = 0
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"{side.name}: loading failed:\n{err}")
        written += int(out.split()[-1])
    elapsed = time.monotonic() - started
    if side.kind == "ours":
        # Rebuilds whatever the backend derives from rated rows.
        side.tool("cloudkitty-storage-init")
    sbs.log(f"{side.name}: stored {written} points in {elapsed:.0f} s "
            f"({written / elapsed:.0f} points/s)")
    return written / elapsed


def window(spec: dict[str, Any]) -> list[tuple[str, str]]:
    end = BEGIN + datetime.timedelta(hours=spec["hours"])
    return [("begin", sbs.iso(BEGIN)), ("end", sbs.iso(end))]


def request(session: requests.Session, url: str,
            params: list[tuple[str, str]]) -> Any:
    resp = session.get(url, params=params, timeout=600)
    resp.raise_for_status()
    return resp.json()


def check_same_totals(sides: Sequence[sbs.Side],
                      spec: dict[str, Any]) -> dict[str, Any]:
    """Both sides must report the same grand total."""
    end = BEGIN + datetime.timedelta(hours=spec["hours"])
    totals = {side.name: sbs.grand_total(side.api_url, BEGIN, end)
              for side in sides}
    if len(set(totals.values())) > 1:
        sbs.log(f"WARNING: totals differ between sides: {totals}")
    return totals


def latencies(sides: Sequence[sbs.Side], params: list[tuple[str, str]],
              count: int) -> dict[str, dict[str, list[float]]]:
    """``count`` timed requests per shape and side, alternating sides,
    after one untimed warm-up request each."""
    sessions = {side.name: requests.Session() for side in sides}
    timings: dict[str, dict[str, list[float]]] = {}
    for label, path, query in SHAPES:
        for side in sides:
            request(sessions[side.name], side.api_url + path,
                    [*params, *query])
        for _ in range(count):
            for side in sides:
                url = side.api_url + path
                session = sessions[side.name]
                seconds = sbs.timed(functools.partial(
                    request, session, url, [*params, *query]))
                timings.setdefault(side.name, {}).setdefault(
                    label, []).append(seconds)
        line = ", ".join(
            f"{name} p50 {sbs.percentile(t[label], 50) * 1000:.0f} ms"
            for name, t in timings.items())
        sbs.log(f"{label}: {line}")
    return timings


def loaded(side: sbs.Side, params: list[tuple[str, str]], clients: int,
           seconds: float) -> float:
    """Requests per second of ``clients`` concurrent clients cycling
    through every shape for ``seconds``."""
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> int:
        session, done = requests.Session(), 0
        while time.monotonic() < deadline:
            _, path, query = SHAPES[(offset + done) % len(SHAPES)]
            request(session, side.api_url + path, [*params, *query])
            done += 1
        return done

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(worker, range(clients)))
    return total / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> sbs.Report:
    """Run the benchmark, print the table (and write --json); return
    the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the 200 projects (default 1)")
    parser.add_argument("--projects", type=int, help="overrides --scale")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20,
                        help="timed requests per shape and side")
    parser.add_argument("--shards", type=int, default=2,
                        help="parallel loader processes per side")
    parser.add_argument("--ours-write", choices=["push", "replace"],
                        default="push",
                        help="our write path: storage push per project and "
                             "day (as upstream), or replace_scope_periods "
                             "per hour (the processor's)")
    parser.add_argument("--loaded", type=int, default=0, metavar="CLIENTS",
                        help="also measure throughput with this many "
                             "concurrent clients (10 s per side)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny data (4 projects x 2 days), 3 requests")
    sbs.add_side_arguments(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.projects, args.days, args.requests = 4, 2, 3
    projects = args.projects or max(1, round(200 * args.scale))
    spec = {"projects": projects, "hours": args.days * 24,
            "begin": BEGIN.isoformat(), "seed": 1, "write": args.ours_write}
    setup = sbs.side_setup(args, "Summaries: upstream CloudKitty 25.0.0 "
                           "vs ours", "summary_vs_upstream.py", argv)
    report = setup.report
    report.info["data"] = (
        f"{projects} projects x {args.days} days x "
        f"{data.POINTS_PER_PROJECT_HOUR} points/hour = "
        f"{data.spec_points(spec)} rated points")
    params = window(spec)
    with sbs.Run(keep=args.keep) as run:
        sides = sbs.make_sides(run, setup.storages, setup.upstream_bin)
        for side in sides:
            side.configure()
            rate = load(side, spec, args.shards)
            report.info[f"load {side.name}"] = f"{rate:.0f} points/s"
        samplers = {}
        for side in sides:
            side.start_api()
            assert side.api_proc is not None
            samplers[side.name] = sbs.RssSampler(side.api_proc.pid)
            samplers[side.name].__enter__()
        report.info["totals (qty, rate)"] = check_same_totals(sides, spec)
        timings = latencies(sides, params, args.requests)
        throughput = {}
        if args.loaded:
            for side in sides:
                throughput[side.name] = loaded(side, params, args.loaded,
                                               10.0)
        for sampler in samplers.values():
            sampler.__exit__()
        _figures(report, timings, throughput,
                 {name: s.peak_mb for name, s in samplers.items()})
        for name, sampler in samplers.items():
            report.info[f"API peak PSS {name}"] = (
                f"{sampler.peak_pss_mb:.0f} MB")
    return sbs.finish(report, args)


def _figures(report: sbs.Report, timings: dict[str, dict[str, list[float]]],
             throughput: dict[str, float], rss: dict[str, float]) -> None:
    upstream = timings.get("upstream", {})
    for name, shapes in timings.items():
        if name == "upstream":
            continue
        for label, _, _ in SHAPES:
            for pct in (50, 95):
                up = (sbs.percentile(upstream[label], pct) * 1000
                      if upstream else None)
                ours = sbs.percentile(shapes[label], pct) * 1000
                report.add(f"{label} p{pct}", "ms", up, ours, False,
                           side=name)
        if throughput:
            report.add("loaded throughput", "req/s",
                       throughput.get("upstream"), throughput[name], True,
                       side=name)
        report.add("API peak RSS", "MB", rss.get("upstream"), rss[name],
                   False, side=name)


if __name__ == "__main__":
    main()
