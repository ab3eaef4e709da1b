"""The ``influxdb`` v2 storage backend (InfluxDB 1.x, upstream's layout).

See :mod:`cloudkitty.storage.v2.influx.backend`.
"""
from cloudkitty.storage.v2.influx.backend import InfluxStorage

__all__ = ["InfluxStorage"]
