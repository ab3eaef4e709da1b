"""Scraping a service-metrics endpoint the way Prometheus does, and
reading the result with real parsers.

* :func:`scrape` — one HTTP GET asking for OpenMetrics (or the classic
  text format), the body parsed by prometheus_client's parser for that
  format into :class:`Scrape`;
* :func:`promtool_check` — ``promtool check metrics`` on a classic text
  body (Prometheus' own linter), when promtool is installed.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

from prometheus_client import parser as text_parser
from prometheus_client.openmetrics import parser as om_parser

OPENMETRICS = ("application/openmetrics-text; version=1.0.0,"
               "text/plain;version=0.0.4;q=0.5")
CLASSIC = "text/plain;version=0.0.4"


@dataclasses.dataclass
class Scrape:
    content_type: str
    body: str
    #: ``(sample name, sorted label items) -> value``
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    #: family name -> type
    types: dict[str, str]

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def number(self, name: str, **labels: str) -> float:
        """The value of a sample that must be there."""
        found = self.value(name, **labels)
        assert found is not None, f"no sample {name} {labels}"
        return found

    def matching(self, name: str, **labels: str
                 ) -> dict[tuple[tuple[str, str], ...], float]:
        """Samples of ``name`` whose labels include ``labels``."""
        return {key: value for (sample, key), value in self.samples.items()
                if sample == name
                and all(dict(key).get(k) == v for k, v in labels.items())}

    def total(self, name: str, **labels: str) -> float:
        return sum(self.matching(name, **labels).values())

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(key)[label] for (sample, key) in self.samples
                if sample == name and label in dict(key)}


def scrape(url: str, *, classic: bool = False, timeout: float = 10
           ) -> Scrape:
    request = urllib.request.Request(
        url, headers={"Accept": CLASSIC if classic else OPENMETRICS})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        content_type = response.headers["Content-Type"]
        body = response.read().decode()
    parse = text_parser.text_string_to_metric_families if classic \
        else om_parser.text_string_to_metric_families
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    types: dict[str, str] = {}
    for family in parse(body):
        types[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = sample.value
    return Scrape(content_type, body, samples, types)


def wait_for_endpoint(url: str, timeout: float = 30) -> Scrape:
    """The first scrape that answers within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return scrape(url)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def promtool_check(body: str) -> None:
    """``promtool check metrics`` accepts ``body`` (classic format)."""
    if shutil.which("promtool") is None:
        return
    result = subprocess.run(["promtool", "check", "metrics"],
                            input=body, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def histogram_consistent(found: Scrape, name: str,
                         labels: Mapping[str, str]) -> float:
    """Check that the buckets of one histogram series are cumulative and
    end with ``+Inf`` equal to ``_count``; return the count."""
    buckets = sorted(
        ((float(dict(key)["le"]), value) for key, value in
         found.matching(name + "_bucket", **labels).items()),
        key=lambda item: item[0])
    assert buckets, f"no buckets for {name} {dict(labels)}"
    values = [value for _, value in buckets]
    assert values == sorted(values)
    assert buckets[-1][0] == float("inf")
    count = found.number(name + "_count", **labels)
    assert count == values[-1]
    return count
