"""/v1/info: the metrics configuration and the collected metrics."""
from __future__ import annotations

from typing import Any

import pecan
from oslo_log import log
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api import policy
from cloudkitty.api.v1.datamodels import info as models
from cloudkitty.api.v1.expose import wsexpose
from cloudkitty.api.v1.types import AnyJSON
from cloudkitty.collector import metrics as ck_metrics

LOG = log.getLogger(__name__)

_NO_METRICS = "Invalid endpoint: no metrics in current configuration."


def _validated_metrics() -> dict[str, dict[str, Any]]:
    """The metrics file as the collector validates it; 405 when it does
    not validate, as upstream answers."""
    try:
        return ck_metrics.load_metrics(pecan.request.conf)
    except exceptions.InvalidMetricsConfig as exc:
        LOG.warning("Metrics configuration rejected: %s", exc)
        raise exceptions.MethodNotAllowed(_NO_METRICS) from None


def _list_metrics() -> models.MetricInfoCollection:
    policy.authorize(pecan.request.context, "info:list_metrics_info", {})
    return models.MetricInfoCollection(
        metrics=[models.MetricInfo.from_metric(metric)
                 for metric in _validated_metrics().values()])


def _get_metric(metric_id: str) -> models.MetricInfo:
    policy.authorize(pecan.request.context, "info:get_metric_info", {})
    for metric in _validated_metrics().values():
        if metric["alt_name"] == metric_id:
            return models.MetricInfo.from_metric(metric)
    raise exceptions.NotFound(metric_id)


class MetricInfoController(rest.RestController):
    """/v1/info/metrics[/<metric_id>]."""

    @wsexpose(models.MetricInfoCollection)
    def get_all(self) -> models.MetricInfoCollection:
        """Every metric of the configuration."""
        return _list_metrics()

    @wsexpose(models.MetricInfo, wtypes.text)
    def get_one(self, metric_name: str) -> models.MetricInfo:
        """One metric, by the name it is rated under."""
        return _get_metric(metric_name)


class ServiceInfoController(rest.RestController):
    """/v1/info/services[/<id>]: deprecated aliases of the metrics."""

    @wsexpose(models.MetricInfoCollection)
    def get_all(self) -> models.MetricInfoCollection:
        LOG.warning("/v1/info/services is deprecated, use "
                    "/v1/info/metrics")
        return _list_metrics()

    @wsexpose(models.MetricInfo, wtypes.text)
    def get_one(self, service_name: str) -> models.MetricInfo:
        LOG.warning("/v1/info/services is deprecated, use "
                    "/v1/info/metrics")
        return _get_metric(service_name)


class InfoController(rest.RestController):
    """/v1/info."""

    metrics = MetricInfoController()
    services = ServiceInfoController()

    _custom_actions = {"config": ["GET"]}

    @wsexpose(AnyJSON())
    def config(self) -> Any:
        """The metrics file as JSON, unvalidated."""
        policy.authorize(pecan.request.context, "info:get_config", {})
        conf = pecan.request.conf
        path = ck_metrics.metrics_path(conf)
        try:
            return ck_metrics.read_metrics_file(path)
        except exceptions.InvalidMetricsConfig as exc:
            LOG.error("Cannot serve the metrics configuration: %s", exc)
            raise exceptions.CloudKittyError(
                "The metrics configuration cannot be read.") from None
