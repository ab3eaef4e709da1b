"""Types of /v1/rating (and its alias /v1/billing)."""
from __future__ import annotations

from wsme import types as wtypes

from cloudkitty.api.v1.types import AnyJSON
from cloudkitty.rating.modules import ModuleInfo


class CloudkittyModule(wtypes.Base):
    """A rating module. In a PUT body only ``module_id`` is required;
    ``enabled`` and ``priority`` change the module when given, the other
    attributes are accepted and ignored (clients send back what they
    read)."""

    module_id = wtypes.wsattr(wtypes.text, mandatory=True)
    """Name of the module (its entry point)."""

    description = wtypes.wsattr(wtypes.text)
    """What the module does."""

    enabled = wtypes.wsattr(bool)
    """Whether the module rates collected data."""

    hot_config = wtypes.wsattr(bool, name="hot-config")
    """Whether rule changes apply without restarting the processor."""

    priority = wtypes.wsattr(int)
    """Modules with a higher priority run first."""

    @classmethod
    def from_info(cls, info: ModuleInfo) -> CloudkittyModule:
        return cls(module_id=info.module_id, description=info.description,
                   enabled=info.enabled, hot_config=info.hot_config,
                   priority=info.priority)

    @classmethod
    def sample(cls) -> CloudkittyModule:
        return cls(module_id="hashmap", description="Rules by service.",
                   enabled=True, hot_config=True, priority=2)


class CloudkittyModuleCollection(wtypes.Base):
    """Every installed rating module."""

    modules = [CloudkittyModule]

    @classmethod
    def sample(cls) -> CloudkittyModuleCollection:
        return cls(modules=[CloudkittyModule.sample()])


class CloudkittyResource(wtypes.Base):
    """A resource to price: ``volume`` units of ``service`` described by
    ``desc``; only ``desc["groupby"]`` and ``desc["metadata"]`` (both
    mappings) are read, as the processor would see a collected point."""

    service = wtypes.text
    """Metric type, as rated (the metric's alt_name)."""

    volume = AnyJSON()
    """Quantity: a JSON number or a decimal string."""

    desc = AnyJSON()
    """``{"groupby": {...}, "metadata": {...}}``."""


class CloudkittyResourceCollection(wtypes.Base):
    """Body of a quote request."""

    resources = [CloudkittyResource]
