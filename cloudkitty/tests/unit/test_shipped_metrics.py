"""The metrics files shipped in ``etc/cloudkitty``: each validates with the
collector it is written for, and the default one with the default
configuration."""
from __future__ import annotations

import pathlib
import re
from decimal import Decimal
from typing import Any

import pytest
from oslo_upgradecheck import upgradecheck

from cloudkitty import exceptions
from cloudkitty.cli import status
from cloudkitty.collector import metrics

ROOT = pathlib.Path(__file__).parents[3]
ETC = ROOT / "etc" / "cloudkitty"
DEFAULT_FILE = ETC / "metrics.yml"
PROMETHEUS_FILE = ETC / "metrics-prometheus.yml"
#: Each shipped file and the collector it is written for.
SHIPPED = [(DEFAULT_FILE, "gnocchi"), (PROMETHEUS_FILE, "prometheus")]
#: What both files rate (the usual OpenStack set).
COMMON_TYPES = {"instance", "image.size", "volume.size",
                "network.incoming.bytes", "network.outgoing.bytes",
                "ip.floating"}


def _load(make_conf: Any, path: pathlib.Path,
          collector: str | None = None) -> dict[str, dict[str, Any]]:
    collect: dict[str, object] = {"metrics_conf": str(path)}
    if collector is not None:
        collect["collector"] = collector
    return metrics.load_metrics(make_conf({"collect": collect}))


def _by_type(result: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["alt_name"]: m for m in result.values()}


@pytest.mark.parametrize(("path", "collector"), SHIPPED,
                         ids=[name for _, name in SHIPPED])
def test_file_validates_with_its_collector(
        make_conf: Any, path: pathlib.Path, collector: str) -> None:
    result = _load(make_conf, path, collector)
    assert COMMON_TYPES <= set(_by_type(result))
    for key, metric in result.items():
        # The scope key is in every groupby: every point has a scope.
        assert "project_id" in metric["groupby"], key
        # The collector's extra_args schema ran and filled its defaults.
        assert "aggregation_method" in metric["extra_args"], key
        assert metric["description"], key


@pytest.mark.parametrize(("path", "other"), [
    (DEFAULT_FILE, "prometheus"), (PROMETHEUS_FILE, "gnocchi")])
def test_file_is_refused_by_the_other_collector(
        make_conf: Any, path: pathlib.Path, other: str) -> None:
    with pytest.raises(exceptions.InvalidMetricsConfig,
                       match="option extra_args"):
        _load(make_conf, path, other)


def test_default_file_is_for_the_default_collector(make_conf: Any) -> None:
    conf = make_conf({"collect": {"metrics_conf": str(DEFAULT_FILE)}})
    assert conf.collect.collector == "gnocchi"
    by_type = _by_type(metrics.load_metrics(conf))
    assert set(by_type) == COMMON_TYPES | {"radosgw.objects.size"}
    for name, metric in by_type.items():
        # Gnocchi defaults filled in: the resource id is a groupby key.
        assert metric["extra_args"]["resource_key"] == "id", name
        assert metric["extra_args"]["resource_type"], name
    assert metrics.convert_quantity(
        5 * 2**20, by_type["image.size"]) == Decimal(5)
    assert metrics.convert_quantity(
        3 * 2**30, by_type["radosgw.objects.size"]) == Decimal(3)
    assert metrics.convert_quantity(
        2_500_000, by_type["network.outgoing.bytes"]) == Decimal("2.5")
    for counted in ("instance", "ip.floating"):
        assert metrics.convert_quantity(
            7, by_type[counted]) == Decimal(1), counted


def test_status_check_passes_with_the_defaults(make_conf: Any) -> None:
    # Only the file's path differs from the defaults (it is not installed
    # under /etc here).
    conf = make_conf({"collect": {"metrics_conf": str(DEFAULT_FILE)}})
    result = status.Checks(conf).metrics_conf()
    assert result.code == upgradecheck.Code.SUCCESS, result.details


def test_quickstart_pairs_prometheus_with_the_prometheus_file(
        make_conf: Any) -> None:
    script = (ROOT / "tools" / "quickstart.sh").read_text()
    collect = re.search(r"^\[collect\]\n(.*?)\n\n", script, re.M | re.S)
    assert collect is not None
    options = dict(line.split(" = ", 1)
                   for line in collect.group(1).splitlines())
    assert options["collector"] == "prometheus"
    path = options["metrics_conf"].replace("$ROOT", str(ROOT))
    assert pathlib.Path(path) == PROMETHEUS_FILE
    assert _load(make_conf, PROMETHEUS_FILE, "prometheus")
