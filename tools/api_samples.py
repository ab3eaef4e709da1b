#!/usr/bin/env python3
"""Write the request/response samples of the API reference.

Builds the deployed WSGI application (``noauth`` pipeline, a temporary
SQLite database, file locks, in-process messaging), seeds a small price
list through the API itself and rated data priced by the hashmap module,
then runs a list of representative requests and writes each exchange as
two text files in HTTP form under the output directory
(``doc/source/api-reference/samples`` by default)::

    <name>.request     the request line (and JSON body)
    <name>.response    the status line (and JSON body)

Everything is deterministic: data times are fixed, and the ids and times
the server draws at run time (UUIDs, creation times) are replaced by
stable stand-ins, so that re-running the generator on an unchanged tree
writes identical files. ``cloudkitty/tests/unit/test_api_samples.py``
checks that the committed samples are up to date.

Usage: ``python tools/api_samples.py [OUTPUT_DIR]``
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "doc" / "source" / "api-reference" / "samples"
PASTE_FILE = REPO / "etc" / "cloudkitty" / "api_paste.ini"

UTC = datetime.timezone.utc
#: The first rated period of the sample data.
T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
#: What a server-drawn time of this run is shown as.
STAND_IN_TIME = "2024-01-02T09:30:00"

#: Two projects (scopes), as Keystone would name them.
PROJECT_A = "8a2f5c0e4d1b4f7a9c3e6b2d5f8a1c4e"
PROJECT_B = "3c7e1a9d5b2f4e8c6a0d9b7f1e3c5a2d"

METRICS_YML = """\
metrics:
  openstack_instance_uptime_seconds:
    alt_name: instance
    unit: instance
    groupby: [id, project_id]
    metadata: [flavor_name]
  openstack_volume_size_gb:
    alt_name: volume.size
    unit: GiB
    groupby: [id, project_id]
    metadata: [volume_type]
"""

#: The price list of the samples (and of the user guide's worked
#: example): instances priced by flavor, volumes per GiB with 20% off from
#: 100 GiB on. Rules start at T0 (``force=true``: T0 is in the past).
START = T0.strftime("%Y-%m-%dT%H:%M:%S")

UUID_RE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})([T ])(\d{2}:\d{2}:\d{2})(\.\d+)?")

REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
           302: "Found"}


@dataclasses.dataclass
class Step:
    """One request: ``name`` names the sample files (None: run, do not
    write); ``path`` and ``body`` may hold ``{placeholders}`` filled from
    the values captured so far; ``capture`` maps a placeholder to the key
    of the response's JSON object to read it from."""

    name: str | None
    method: str
    path: str
    body: Any = None
    status: int = 200
    capture: Mapping[str, str] = dataclasses.field(default_factory=dict)


class StandIns:
    """Replaces what the server draws at run time with stable values:
    each UUID by ``00000000-0000-4000-8000-<n>`` in order of appearance,
    each time within two days of now by :data:`STAND_IN_TIME`."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self.uuids: dict[str, str] = {}

    def _uuid(self, match: re.Match[str]) -> str:
        real = match.group(0)
        if real not in self.uuids:
            self.uuids[real] = (f"00000000-0000-4000-8000-"
                                f"{len(self.uuids) + 1:012d}")
        return self.uuids[real]

    def _time(self, match: re.Match[str]) -> str:
        day, sep, clock, fraction = match.groups()
        try:
            when = datetime.datetime.fromisoformat(f"{day}T{clock}")
        except ValueError:
            return match.group(0)
        if abs(when.replace(tzinfo=UTC) - self.now) > 2 * 24 * HOUR:
            return match.group(0)
        stand_in = STAND_IN_TIME.replace("T", sep)
        return stand_in + (".000000" if fraction else "")

    def __call__(self, text: str) -> str:
        return TIME_RE.sub(self._time, UUID_RE.sub(self._uuid, text))


def steps() -> list[Step]:
    """The requests, in the order they run (later ones see the data the
    earlier ones made)."""
    hashmap = "/v1/rating/module_config/hashmap"
    july = "begin=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z"
    window = ("begin=2024-01-01T00:00:00&end=2024-01-02T00:00:00")
    instance = {"service": "instance", "volume": "1",
                "desc": {"groupby": {"id": "vm-1"},
                         "metadata": {"flavor_name": "m1.large"}}}
    small = {"service": "instance", "volume": "1",
             "desc": {"groupby": {"id": "vm-2"},
                      "metadata": {"flavor_name": "m1.small"}}}
    volume_50 = {"service": "volume.size", "volume": "50",
                 "desc": {"groupby": {"id": "vol-1"},
                          "metadata": {"volume_type": "ssd"}}}
    volume_200 = {"service": "volume.size", "volume": "200",
                  "desc": {"groupby": {"id": "vol-2"},
                           "metadata": {"volume_type": "ssd"}}}
    return [
        # Versions and v1 information.
        Step("versions", "GET", "/"),
        Step("v1-info-config", "GET", "/v1/info/config"),
        Step("v1-info-metrics", "GET", "/v1/info/metrics"),
        Step("v1-info-metric", "GET", "/v1/info/metrics/instance"),
        # Rating modules.
        Step("v1-modules-list", "GET", "/v1/rating/modules"),
        Step("v1-module-enable", "PUT", "/v1/rating/modules/hashmap",
             {"module_id": "hashmap", "enabled": True, "priority": 1},
             status=302),
        Step("v1-module-show", "GET", "/v1/rating/modules/hashmap"),
        # The hashmap price list.
        Step("hashmap-types", "GET", f"{hashmap}/types"),
        Step("hashmap-service-create", "POST", f"{hashmap}/services",
             {"name": "instance"}, status=201,
             capture={"instance_id": "service_id"}),
        Step(None, "POST", f"{hashmap}/services", {"name": "volume.size"},
             status=201, capture={"volume_id": "service_id"}),
        Step("hashmap-services-list", "GET", f"{hashmap}/services"),
        Step("hashmap-field-create", "POST", f"{hashmap}/fields",
             {"service_id": "{instance_id}", "name": "flavor_name"},
             status=201, capture={"flavor_id": "field_id"}),
        Step("hashmap-group-create", "POST", f"{hashmap}/groups",
             {"name": "compute"}, status=201,
             capture={"group_id": "group_id"}),
        Step("hashmap-mapping-create", "POST",
             f"{hashmap}/mappings?force=true",
             {"field_id": "{flavor_id}", "value": "m1.large", "type": "flat",
              "cost": "1.00", "group_id": "{group_id}", "start": START,
              "name": "m1-large-hour",
              "description": "m1.large, per hour"},
             status=201, capture={"large_id": "mapping_id"}),
        Step(None, "POST", f"{hashmap}/mappings?force=true",
             {"field_id": "{flavor_id}", "value": "m1.small", "type": "flat",
              "cost": "0.25", "group_id": "{group_id}", "start": START,
              "name": "m1-small-hour"}, status=201),
        Step(None, "POST", f"{hashmap}/mappings?force=true",
             {"service_id": "{volume_id}", "type": "flat", "cost": "0.01",
              "start": START, "name": "volume-gib-hour"}, status=201),
        Step("hashmap-threshold-create", "POST", f"{hashmap}/thresholds",
             {"service_id": "{volume_id}", "level": "100", "type": "rate",
              "cost": "0.8"}, status=201),
        Step("hashmap-mappings-list", "GET",
             f"{hashmap}/mappings?field_id={{flavor_id}}"),
        Step("hashmap-mapping-update", "PUT",
             f"{hashmap}/mappings/{{large_id}}",
             {"mapping_id": "{large_id}", "cost": "1.00",
              "end": "2030-12-31"},
             status=302),
        Step("hashmap-mapping-show", "GET",
             f"{hashmap}/mappings/{{large_id}}"),
        Step("hashmap-thresholds-list", "GET",
             f"{hashmap}/thresholds?service_id={{volume_id}}"),
        # Quotes: the worked example of the user guide.
        Step("quote-large", "POST", "/v1/rating/quote",
             {"resources": [instance]}),
        Step("quote-small", "POST", "/v1/rating/quote",
             {"resources": [small]}),
        Step("quote-volume-50", "POST", "/v1/rating/quote",
             {"resources": [volume_50]}),
        Step("quote-volume-200", "POST", "/v1/rating/quote",
             {"resources": [volume_200]}),
        Step("quote-all", "POST", "/v1/rating/quote",
             {"resources": [instance, small, volume_50, volume_200]}),
        # PyScripts.
        Step("pyscripts-create", "POST",
             "/v1/rating/module_config/pyscripts/scripts",
             {"name": "weekend-discount",
              "data": PYSCRIPT, "description": "Half price on weekends"},
             status=201, capture={"script_id": "script_id"}),
        Step("pyscripts-list", "GET",
             "/v1/rating/module_config/pyscripts/scripts?no_data=true"),
        # v1 reports on the rated data.
        Step("v1-report-tenants", "GET", f"/v1/report/tenants?{window}"),
        Step("v1-report-total", "GET", f"/v1/report/total?{window}"),
        Step("v1-report-total-by-service", "GET",
             f"/v1/report/total?{window}&service=instance"),
        Step("v1-report-summary", "GET",
             f"/v1/report/summary?{window}&groupby=res_type"),
        Step("v1-storage-dataframes", "GET",
             f"/v1/storage/dataframes?{window}&tenant_id={PROJECT_B}"),
        # v2 summaries and data frames.
        Step("v2-summary", "GET", f"/v2/summary?{july}"),
        Step("v2-summary-groupby", "GET",
             f"/v2/summary?{july}&groupby=type&groupby=project_id"),
        Step("v2-summary-object", "GET",
             f"/v2/summary?{july}&groupby=type&response_format=object"),
        Step("v2-summary-time", "GET",
             f"/v2/summary?{july}&groupby=time&filters=type:instance"),
        Step("v2-dataframes", "GET",
             f"/v2/dataframes?{july}&filters=project_id:{PROJECT_B}"),
        Step("v2-dataframes-post", "POST", "/v2/dataframes",
             {"dataframes": [{
                 "period": {"begin": "2024-01-01T03:00:00+00:00",
                            "end": "2024-01-01T04:00:00+00:00"},
                 "usage": {"volume.size": [{
                     "vol": {"unit": "GiB", "qty": 20},
                     "rating": {"price": 0.2},
                     "groupby": {"id": "vol-9", "project_id": PROJECT_B},
                     "metadata": {"volume_type": "hdd"}}]}}]},
             status=204),
        # v2 scopes and reprocessing.
        Step("v2-scope-list", "GET", "/v2/scope"),
        Step("v2-scope-patch", "PATCH", "/v2/scope",
             {"scope_id": PROJECT_B, "active": False}),
        Step("v2-scope-reset", "PUT", "/v2/scope",
             {"scope_id": PROJECT_A,
              "last_processed_timestamp": "2024-01-01T01:00:00+00:00"},
             status=202),
        Step("v2-scope-create", "POST", "/v2/scope",
             {"scope_id": "5d9b2e7f1c4a4e6b8d3f0a2c7e9b1d4f",
              "scope_key": "project_id", "fetcher": "source",
              "collector": "prometheus", "active": True,
              "last_processed_timestamp": "2024-01-01T00:00:00+00:00"}),
        Step("v2-reprocess-create", "POST", "/v2/task/reprocesses",
             {"scope_ids": [PROJECT_A],
              "start_reprocess_time": "2024-01-01T00:00:00+00:00",
              "end_reprocess_time": "2024-01-01T00:00:00+00:00",
              "reason": "flavor prices corrected"}, status=202),
        Step("v2-reprocess-list", "GET", "/v2/task/reprocesses"),
        Step("v2-reprocess-scope", "GET",
             f"/v2/task/reprocesses/{PROJECT_A}"),
        # v2 rating modules.
        Step("v2-modules-list", "GET", "/v2/rating/modules"),
        Step("v2-module-update", "PUT", "/v2/rating/modules/hashmap",
             {"enabled": True, "priority": 10}, status=204),
        Step("v2-module-show", "GET", "/v2/rating/modules/hashmap"),
    ]


#: The script of the pyscripts sample: half price on Saturdays and
#: Sundays (the period of the data frame decides).
PYSCRIPT = """\
import decimal

HALF = decimal.Decimal("0.5")
if data["period"]["begin"].weekday() >= 5:
    for points in data["usage"].values():
        for point in points:
            point["rating"]["price"] *= HALF
"""


def _points() -> Iterator[tuple[datetime.datetime, str, dict[str, Any]]]:
    """The usage of the sample data, before rating: two hours of two
    projects (project B has a 200 GiB volume in the second hour)."""
    for hour in (0, 1):
        start = T0 + hour * HOUR
        yield start, "instance", {"qty": "1", "unit": "instance",
                                  "id": "vm-1", "project_id": PROJECT_A,
                                  "flavor_name": "m1.large"}
        yield start, "instance", {"qty": "1", "unit": "instance",
                                  "id": "vm-2", "project_id": PROJECT_B,
                                  "flavor_name": "m1.small"}
        yield start, "volume.size", {"qty": "50", "unit": "GiB",
                                     "id": "vol-1",
                                     "project_id": PROJECT_A,
                                     "volume_type": "ssd"}
        if hour == 1:
            yield start, "volume.size", {"qty": "200", "unit": "GiB",
                                         "id": "vol-2",
                                         "project_id": PROJECT_B,
                                         "volume_type": "ssd"}


def _seed_rated_data(conf: Any) -> None:
    """Price the sample usage with the hashmap rules made through the API
    and store it; create the scope states the processor would have."""
    from cloudkitty.dataframe import DataFrame, DataPoint
    from cloudkitty.rating.hash import HashMap
    from cloudkitty.storage import get_storage
    from cloudkitty.storage.state import StateManager

    frames: dict[tuple[str, datetime.datetime],
                 dict[str, list[DataPoint]]] = {}
    for start, metric, values in _points():
        groupby = {"id": values["id"], "project_id": values["project_id"],
                   "week_of_the_year": start.strftime("%U"),
                   "day_of_the_year": str(start.timetuple().tm_yday),
                   "month": str(start.month), "year": start.strftime("%Y")}
        metadata_key = ("flavor_name" if metric == "instance"
                        else "volume_type")
        point = DataPoint(values["unit"], Decimal(values["qty"]), 0,
                          groupby, {metadata_key: values[metadata_key]})
        usage = frames.setdefault((values["project_id"], start), {})
        usage.setdefault(metric, []).append(point)
    storage = get_storage(conf)
    for (scope_id, start), usage in sorted(frames.items()):
        pricer = HashMap(conf, scope_id)
        pricer.reload_config(start)
        frame = pricer.process(DataFrame(start, start + HOUR, usage))
        storage.push([frame], scope_id)
    states = StateManager(conf)
    for scope_id in (PROJECT_A, PROJECT_B):
        states.create_state(scope_id, T0 + 2 * HOUR)


def _fill(template: Any, values: Mapping[str, str]) -> Any:
    if isinstance(template, str):
        return template.format_map(values)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


def _request_text(method: str, path: str, body: Any) -> str:
    text = f"{method} {path} HTTP/1.1\n"
    if body is None:
        return text
    return f"{text}Content-Type: application/json\n\n{_json_text(body)}\n"


def _response_text(status: int, content_type: str | None,
                   location: str | None, body: bytes) -> str:
    text = f"HTTP/1.1 {status} {REASONS.get(status, '')}".rstrip() + "\n"
    if location:
        text += f"Location: {location}\n"
    if not body:
        return text
    if content_type and "json" in content_type:
        shown = _json_text(json.loads(body))
    else:
        shown = body.decode()
    return f"{text}Content-Type: {content_type}\n\n{shown}\n"


def _write_conf(path: Path, sections: Mapping[str, Mapping[str, Any]]
                ) -> None:
    lines = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in options.items())
    path.write_text("\n".join(lines) + "\n")


def _configuration(workdir: Path) -> Any:
    from oslo_config import cfg

    from cloudkitty import service

    metrics = workdir / "metrics.yml"
    metrics.write_text(METRICS_YML)
    conf_file = workdir / "cloudkitty.conf"
    _write_conf(conf_file, {
        "DEFAULT": {"auth_strategy": "noauth",
                    "api_paste_config": PASTE_FILE,
                    "transport_url": "fake://"},
        "database": {"connection": f"sqlite:///{workdir / 'ck.sqlite'}"},
        "storage": {"backend": "sqlalchemy"},
        "collect": {"collector": "prometheus", "metrics_conf": metrics,
                    "scope_key": "project_id", "period": 3600},
        "fetcher": {"backend": "source"},
        "orchestrator": {"coordination_url": f"file://{workdir / 'locks'}"},
    })
    return service.prepare_service(["--config-file", str(conf_file)],
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False, source_auth=False)


def generate(output: Path,
             now: Callable[[], datetime.datetime] = lambda:
             datetime.datetime.now(UTC)) -> list[str]:
    """Run every step against a fresh application and write the samples
    into ``output`` (created if needed); returns the file names written.
    Raises ``AssertionError`` when a request does not get its status."""
    import webtest

    from cloudkitty.api import app
    from cloudkitty.db import api as db_api
    from cloudkitty.db import migration
    from cloudkitty.processor import reset

    output.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    stand_ins = StandIns(now())
    with tempfile.TemporaryDirectory(prefix="ck-api-samples-") as tmp:
        workdir = Path(tmp)
        conf = _configuration(workdir)
        engine = db_api.create_engine(conf.database.connection)
        try:
            migration.upgrade(engine)
        finally:
            engine.dispose()
        client = webtest.TestApp(app.build_wsgi_app(conf))
        captured: dict[str, str] = {}
        seeded = False
        try:
            for step in steps():
                if step.name == "pyscripts-create" and not seeded:
                    _seed_rated_data(conf)
                    seeded = True
                path = _fill(step.path, captured)
                body = _fill(step.body, captured)
                if body is None:
                    response = client.request(path, method=step.method,
                                              expect_errors=True)
                else:
                    response = client.request(
                        path, method=step.method,
                        body=json.dumps(body).encode(),
                        content_type="application/json",
                        expect_errors=True)
                if response.status_int != step.status:
                    raise AssertionError(
                        f"{step.method} {path}: {response.status} "
                        f"(expected {step.status}): {response.text}")
                for key, field in step.capture.items():
                    captured[key] = response.json[field]
                if step.name is None:
                    continue
                files = {
                    f"{step.name}.request":
                        _request_text(step.method, path, body),
                    f"{step.name}.response":
                        _response_text(response.status_int,
                                       response.content_type,
                                       response.location,
                                       response.body),
                }
                for file_name, text in files.items():
                    (output / file_name).write_text(stand_ins(text))
                    written.append(file_name)
        finally:
            reset.stop_shared_coordinators()
            db_api.dispose_engines()
    return written


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    written = generate(output)
    print(f"{len(written)} sample files written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
