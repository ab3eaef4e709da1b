"""/v1/info: the metrics configuration, COMPAT.md §2.4."""
from __future__ import annotations

from pathlib import Path

import pytest
import webtest

INSTANCE = {"metric_id": "instance", "metadata": ["flavor_name",
                                                  "flavor_id"],
            "unit": "instance"}
IMAGE = {"metric_id": "image.size", "metadata": ["disk_format"],
         "unit": "MiB"}
VOLUME = {"metric_id": "volume.size", "metadata": [], "unit": "GiB"}


@pytest.mark.parametrize("path", ["/v1/info/metrics", "/v1/info/metrics/",
                                  "/v1/info/services/"])
def test_metric_list_names_metrics_by_alt_name(
        noauth_app: webtest.TestApp, path: str) -> None:
    response = noauth_app.get(path)
    assert response.json == {"metrics": [INSTANCE, IMAGE, VOLUME]}


@pytest.mark.parametrize("path", ["/v1/info/metrics/image.size",
                                  "/v1/info/metrics/image.size/",
                                  "/v1/info/services/image.size"])
def test_one_metric_by_its_id(noauth_app: webtest.TestApp,
                              path: str) -> None:
    assert noauth_app.get(path).json == IMAGE


def test_metric_is_found_by_alt_name_not_source_name(
        noauth_app: webtest.TestApp) -> None:
    assert noauth_app.get("/v1/info/metrics/instance").json == INSTANCE
    response = noauth_app.get("/v1/info/metrics/cpu", status=404)
    assert response.json == {"faultcode": "Client", "faultstring": "cpu",
                             "debuginfo": None}


def test_config_is_the_raw_file_as_json(noauth_app: webtest.TestApp) -> None:
    for path in ("/v1/info/config", "/v1/info/config/"):
        document = noauth_app.get(path).json
        # Unvalidated: no defaults filled in, values as written.
        assert document["metrics"]["image.size"] == {
            "unit": "MiB", "factor": "1/1048576", "groupby": ["id"],
            "metadata": ["disk_format"]}
        assert document["metrics"]["volume.size"] == {"unit": "GiB"}


def test_invalid_metrics_file_makes_metric_endpoints_405(
        noauth_app: webtest.TestApp, metrics_file: Path) -> None:
    metrics_file.write_text("metrics:\n  cpu:\n    alt_name: instance\n")
    for path in ("/v1/info/metrics", "/v1/info/metrics/instance",
                 "/v1/info/services"):
        response = noauth_app.get(path, status=405)
        assert response.json == {
            "faultcode": "Client",
            "faultstring": "Invalid endpoint: no metrics in current "
                           "configuration.",
            "debuginfo": None}
    # The raw document is still served: it is not validated.
    assert noauth_app.get("/v1/info/config").json == {
        "metrics": {"cpu": {"alt_name": "instance"}}}


def test_unreadable_metrics_file_is_a_server_error_without_details(
        noauth_app: webtest.TestApp, metrics_file: Path) -> None:
    metrics_file.unlink()
    response = noauth_app.get("/v1/info/config", status=500)
    assert response.json == {
        "faultcode": "Server",
        "faultstring": "The metrics configuration cannot be read.",
        "debuginfo": None}


def test_changes_to_the_metrics_file_are_seen_without_restart(
        noauth_app: webtest.TestApp, metrics_file: Path) -> None:
    metrics_file.write_text("metrics:\n  ram:\n    unit: MiB\n")
    assert noauth_app.get("/v1/info/metrics").json == {
        "metrics": [{"metric_id": "ram", "metadata": [], "unit": "MiB"}]}


def test_unknown_query_argument_is_rejected(
        noauth_app: webtest.TestApp) -> None:
    response = noauth_app.get("/v1/info/metrics?foo=bar", status=400)
    assert response.json == {"faultcode": "Client",
                             "faultstring": 'Unknown argument: "foo"',
                             "debuginfo": None}


def test_metric_id_may_come_from_the_query_string(
        noauth_app: webtest.TestApp) -> None:
    # WSME binding: the path argument may be repeated as a query argument,
    # as python-cloudkittyclient does for other resources.
    response = noauth_app.get("/v1/info/metrics/instance",
                              params={"metric_name": "instance"})
    assert response.json == INSTANCE


def test_extra_path_segments_are_not_found(
        noauth_app: webtest.TestApp) -> None:
    noauth_app.get("/v1/info/metrics/instance/extra", status=404)
