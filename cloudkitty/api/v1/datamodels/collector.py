"""Types of the deprecated /v1/collector API."""
from __future__ import annotations

from wsme import types as wtypes

from cloudkitty.api.v1.datamodels.report import Boolean
from cloudkitty.db.collectors import ServiceMapping

__all__ = ["CollectorInfos", "ServiceToCollectorMapping",
           "ServiceToCollectorMappingCollection"]


class CollectorInfos(wtypes.Base):
    """Whether a collector is enabled. In a PUT body, ``enabled`` is
    required and ``name`` may replace the name of the URL."""

    name = wtypes.wsattr(wtypes.text, mandatory=False)
    """Name of the collector."""

    enabled = wtypes.wsattr(Boolean(), mandatory=True)
    """Whether the collector is enabled."""

    @classmethod
    def sample(cls) -> CollectorInfos:
        return cls(name="gnocchi", enabled=True)


class ServiceToCollectorMapping(wtypes.Base):
    """The collector a service is mapped to."""

    service = wtypes.text
    """Name of the service."""

    collector = wtypes.text
    """Name of the collector."""

    @classmethod
    def from_db(cls, mapping: ServiceMapping) -> ServiceToCollectorMapping:
        return cls(service=mapping.service, collector=mapping.collector)

    @classmethod
    def sample(cls) -> ServiceToCollectorMapping:
        return cls(service="instance", collector="gnocchi")


class ServiceToCollectorMappingCollection(wtypes.Base):
    """Service to collector mappings."""

    mappings = [ServiceToCollectorMapping]

    @classmethod
    def sample(cls) -> ServiceToCollectorMappingCollection:
        return cls(mappings=[ServiceToCollectorMapping.sample()])
