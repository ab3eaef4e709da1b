"""Store the summary benchmark's rated points with one side's own storage
layer.

    <venv>/bin/python _sidebyside_load.py {upstream|ours} CONFIG SPEC_JSON

Run with the Python of the side's virtualenv. SPEC_JSON is
``{"projects": N, "hours": H, "begin": ISO, "seed": S, "shard": [i, n]}``;
the points come from ``_sidebyside_data`` (identical for both sides).
Both sides write through their v2 storage driver's ``push``, one call per
project and day (ours keeps its rollups in the same unit of work); with
``"write": "replace"`` ours uses ``replace_scope_periods`` instead, the
processor's own write (one call per hour for all projects: rated rows,
rollups and scope states). Prints the number of points written.
"""
from __future__ import annotations

import datetime
import json
import sys
from typing import Any

import _sidebyside_data as data

HOUR = datetime.timedelta(hours=1)


def _frames(module: Any, project: str, starts: list[datetime.datetime],
            seed: int) -> tuple[list[Any], int]:
    frames, count = [], 0
    for start in starts:
        usage: dict[str, list[Any]] = {}
        for point in data.project_points(project, start, seed):
            usage.setdefault(point.metric_type, []).append(module.DataPoint(
                point.unit, point.qty, point.price, point.groupby,
                point.metadata))
            count += 1
        frame = module.DataFrame(start=start, end=start + HOUR)
        for metric_type, points in usage.items():
            frame = _add(frame, points, metric_type)
        frames.append(frame)
    return frames, count


def _add(frame: Any, points: list[Any], metric_type: str) -> Any:
    result = frame.add_points(points, metric_type)
    # Upstream's DataFrame changes in place and returns None; ours is
    # immutable and returns the new frame.
    return frame if result is None else result


def load_upstream(config_file: str, spec: dict[str, Any]) -> int:
    from cloudkitty import dataframe, service, storage

    service.prepare_service(["load", "--config-file", config_file])
    backend = storage.get_storage()
    begin = datetime.datetime.fromisoformat(spec["begin"])
    starts = list(data.hours(begin, spec["hours"]))
    total = 0
    for project in _shard(spec):
        for day in range(0, len(starts), 24):
            frames, count = _frames(dataframe, project, starts[day:day + 24],
                                    spec["seed"])
            backend.push(frames, project)
            total += count
    return total


def load_ours(config_file: str, spec: dict[str, Any]) -> int:
    from oslo_config import cfg

    from cloudkitty import dataframe, service, storage
    from cloudkitty.storage.v2.base import ScopePeriod

    conf = service.prepare_service(["--config-file", config_file],
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False)
    backend = storage.get_storage(conf)
    begin = datetime.datetime.fromisoformat(spec["begin"])
    starts = list(data.hours(begin, spec["hours"]))
    projects = _shard(spec)
    total = 0
    if spec.get("write") == "replace":
        for start in starts:
            items = []
            for project in projects:
                frames, count = _frames(dataframe, project, [start],
                                        spec["seed"])
                items.append(ScopePeriod(project, frames))
                total += count
            backend.replace_scope_periods(start, start + HOUR, items)
        return total
    for project in projects:
        for day in range(0, len(starts), 24):
            frames, count = _frames(dataframe, project, starts[day:day + 24],
                                    spec["seed"])
            backend.push(frames, project)
            total += count
    return total


def _shard(spec: dict[str, Any]) -> list[str]:
    index, count = spec.get("shard", [0, 1])
    projects = data.project_ids(spec["projects"], spec["seed"])
    return projects[index::count]


def main() -> None:
    side, config_file, spec = sys.argv[1], sys.argv[2], json.loads(
        sys.argv[3])
    loader = load_upstream if side == "upstream" else load_ours
    print(loader(config_file, spec))


if __name__ == "__main__":
    main()
