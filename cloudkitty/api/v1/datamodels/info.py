"""Types of /v1/info."""
from __future__ import annotations

from typing import Any

from wsme import types as wtypes


class MetricInfo(wtypes.Base):
    """A collected metric as the info API shows it."""

    metric_id = wtypes.text
    """Name the metric is rated under (its alt_name)."""

    metadata = [wtypes.text]
    """Metadata keys kept with each collected point."""

    unit = wtypes.text
    """Unit of the collected quantity."""

    @classmethod
    def from_metric(cls, metric: dict[str, Any]) -> MetricInfo:
        """From a validated metric of ``collector.metrics``."""
        return cls(metric_id=metric["alt_name"],
                   metadata=list(metric["metadata"]),
                   unit=metric["unit"])

    @classmethod
    def sample(cls) -> MetricInfo:
        return cls(metric_id="instance", metadata=["flavor_id"],
                   unit="instance")


class MetricInfoCollection(wtypes.Base):
    """Every collected metric."""

    metrics = [MetricInfo]

    @classmethod
    def sample(cls) -> MetricInfoCollection:
        return cls(metrics=[MetricInfo.sample()])
