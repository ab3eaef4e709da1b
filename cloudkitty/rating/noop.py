"""noop: the rating module that prices nothing.

It returns every frame as it received it, so collected data is stored with
whatever price it already carries (0 unless another module set one). It is
always enabled with priority 1, which guarantees the processor always has
at least one module to run.
"""
from __future__ import annotations

import datetime

from cloudkitty.dataframe import DataFrame
from cloudkitty.rating import RatingProcessor

__all__ = ["Noop"]


class Noop(RatingProcessor):
    """Leaves prices unchanged."""

    module_name = "noop"
    description = "Stores collected data without changing its price."
    hot_config = False
    always_enabled = True

    def reload_config(self, at: datetime.datetime) -> None:
        """Nothing to load: noop has no rules."""

    def process(self, frame: DataFrame) -> DataFrame:
        return frame
