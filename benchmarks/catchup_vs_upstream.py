#!/usr/bin/env python3
"""Catch-up of upstream CloudKitty 25.0.0 and ours, side by side.

For each data set, generates OpenStack-like history with
``tools/sample-data/gen_openmetrics.py``, backfills a private Prometheus,
then, alternately for upstream and for ours (each storage backend given),
on fresh private databases: starts the side's API (noauth), enables
hashmap and creates the same flat price list with python-cloudkittyclient,
creates every project's scope one period before the history
(``POST /v2/scope``), starts ``cloudkitty-processor`` and times it until
every scope's state reaches the last period (polling ``GET /v2/scope``).
Rated points are then counted in the storage (and, as a cross-check,
through ``GET /v2/dataframes``); the processor's memory is the peak of
the summed RSS of all its processes.

Data sets: ``base`` = 20 projects x 6 metric families x 24 h (about 20
resources per project); ``heavy`` = the same with about 230 resources per
project (5-minute samples).

    python benchmarks/catchup_vs_upstream.py                 # both sets
    python benchmarks/catchup_vs_upstream.py --sets heavy --hours 6
    python benchmarks/catchup_vs_upstream.py --smoke         # < 2 min

Upstream runs on MariaDB (states, rules) + InfluxDB; ours on PostgreSQL
with the ``sqlalchemy`` backend and, once installed, on InfluxDB too
(``--storage``). Needs prometheus and promtool on PATH and the services
of ``tools/services.sh`` (PostgreSQL, MariaDB, RabbitMQ, InfluxDB).
"""
from __future__ import annotations

import argparse
import datetime
import os
import time
from typing import Any

import _sidebyside as sbs

SETS: dict[str, dict[str, Any]] = {
    "base": {"projects": 20, "hours": 24, "density": {}},
    "heavy": {"projects": 20, "hours": 24, "density": {
        "instances": 50, "volumes": 40, "images": 20, "fips": 20,
        "step": 300}},
}
SMOKE = {"projects": 3, "hours": 2}


def measure(side: sbs.Side, history: sbs.History,
            timeout: float) -> dict[str, Any]:
    """One catch-up of ``side`` over ``history``, on fresh databases."""
    side.configure(history=history)
    api = side.start_api()
    assert side.api_proc is not None
    with sbs.RssSampler(side.api_proc.pid) as api_rss:
        sbs.apply_price_list(api)
        sbs.seed_scopes(api, history.projects, history.first - sbs.HOUR)
        target = history.end - sbs.HOUR
        started = time.monotonic()
        proc = side.start_processor()
        first_stored = None
        with sbs.RssSampler(proc.pid) as rss:
            while True:
                progress = sbs.scope_progress(api)
                reached = [progress.get(p) or history.first - sbs.HOUR
                           for p in history.projects]
                if first_stored is None and max(reached) >= history.first:
                    first_stored = time.monotonic() - started
                if min(reached) >= target:
                    break
                if proc.poll() is not None:
                    raise SystemExit(f"{side.name}: processor exited with "
                                     f"{proc.returncode}; see "
                                     f"{side.run.workdir}")
                if time.monotonic() - started > timeout:
                    raise SystemExit(f"{side.name}: not caught up after "
                                     f"{timeout:.0f} s")
                time.sleep(0.25)
            elapsed = time.monotonic() - started
        sbs.stop(proc)
        points = side.stored_points(history.first, history.end)
        listed = sbs.count_points(api, history.first, history.end)
        if listed != points:
            sbs.log(f"WARNING: {side.name}: GET /v2/dataframes counts "
                    f"{listed} points, the storage holds {points}")
        total = sbs.grand_total(api, history.first, history.end)
    side.stop_api()
    scope_periods = len(history.projects) * history.periods
    startup = first_stored if first_stored is not None else elapsed
    result = {"seconds": elapsed, "points": points,
              "first_period_s": startup,
              "scope_periods": scope_periods,
              "points_per_s": points / elapsed,
              "scope_periods_per_s": scope_periods / elapsed,
              "processor_rss_mb": rss.peak_mb,
              "processor_pss_mb": rss.peak_pss_mb,
              "processor_processes": rss.max_processes,
              "api_rss_mb": api_rss.peak_mb,
              "total_qty_rate": total,
              "loadavg_1min_after": os.getloadavg()[0]}
    sbs.log(f"{side.name}: {points} points, {scope_periods} scope-periods "
            f"in {elapsed:.1f} s -> {result['points_per_s']:.0f} points/s, "
            f"processor {rss.peak_mb:.0f} MB over {rss.max_processes} "
            f"processes; total (qty, rate) {total}; load average "
            f"{os.getloadavg()[0]:.1f}")
    return result


def main(argv: list[str] | None = None) -> sbs.Report:
    """Run the benchmark, print the table (and write --json); return
    the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="base,heavy",
                        help="comma list of data sets: base, heavy")
    parser.add_argument("--projects", type=int,
                        help="projects per set (default 20)")
    parser.add_argument("--hours", type=int,
                        help="hours of history per set (default 24)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate upstream and ours this many times")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny data (3 projects x 2 h), < 2 minutes")
    sbs.add_side_arguments(parser)
    args = parser.parse_args(argv)
    setup = sbs.side_setup(args, "Catch-up: upstream CloudKitty 25.0.0 "
                           "vs ours", "catchup_vs_upstream.py", argv)
    storages, upstream_bin, report = (setup.storages, setup.upstream_bin,
                                      setup.report)
    report.info["started"] = datetime.datetime.now(sbs.UTC).isoformat(
        timespec="seconds")
    with sbs.Run(keep=args.keep) as run:
        for set_name in args.sets.split(","):
            spec = dict(SETS[set_name])
            if args.smoke:
                spec.update(SMOKE)
            spec["projects"] = args.projects or spec["projects"]
            spec["hours"] = args.hours or spec["hours"]
            sbs.log(f"set {set_name}: generating {spec['projects']} "
                    f"projects x {spec['hours']} h and backfilling "
                    f"Prometheus")
            history = sbs.prometheus_history(
                run, spec["projects"], spec["hours"], spec["density"],
                name=set_name)
            results: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.repeat):
                for side in sbs.make_sides(run, storages, upstream_bin):
                    sbs.log(f"set {set_name}: {side.name}")
                    results.setdefault(side.name, []).append(
                        measure(side, history, args.timeout))
            for name, runs in results.items():
                report.info[f"{set_name}: total (qty, rate) {name}"] = \
                    runs[-1]["total_qty_rate"]
            report.info[f"{set_name} set"] = (
                f"{spec['projects']} projects x {spec['hours']} h, "
                f"density {spec['density'] or 'default'}")
            _figures(report, set_name, results)
    return sbs.finish(report, args)


def _best(runs: list[dict[str, Any]], key: str, high: bool) -> float:
    values = [r[key] for r in runs]
    return max(values) if high else min(values)


def _figures(report: sbs.Report, set_name: str,
             results: dict[str, list[dict[str, Any]]]) -> None:
    upstream = results.get("upstream")
    for name, runs in results.items():
        if name == "upstream":
            continue
        for key, label, unit, high in (
                ("points_per_s", "rated points/s", "pts/s", True),
                ("scope_periods_per_s", "scope-periods/s", "/s", True),
                ("points", "rated points", "pts", True),
                ("seconds", "time to caught up", "s", False),
                ("first_period_s", "time to first period stored", "s",
                 False),
                ("processor_rss_mb", "processor peak RSS", "MB", False),
                ("processor_pss_mb", "processor peak PSS", "MB", False),
                ("processor_processes", "processor processes", "n", False),
                ("api_rss_mb", "API peak RSS", "MB", False)):
            up = _best(upstream, key, high) if upstream else None
            ours = _best(runs, key, high)
            report.add(f"{set_name}: {label}", unit, up, ours, high,
                       side=name,
                       compare=key not in ("points", "processor_processes"))


if __name__ == "__main__":
    main()
