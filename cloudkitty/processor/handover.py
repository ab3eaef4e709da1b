"""What collector and reprocessing workers hand their frames to: the
rating workers of their own process (:class:`~cloudkitty.processor.local.
LocalRating`) or, over the message bus, those of other processors
(:class:`~cloudkitty.processor.rpcapi.RatingClient`)."""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Protocol

from cloudkitty.dataframe import DataFrame
from cloudkitty.processor.rpcapi import BatchReply, ScopeFrame

__all__ = ["Rating"]


class Rating(Protocol):
    def rate_frame(self, scope_id: str, frame: DataFrame,
                   expected: datetime.datetime | None,
                   schedule_id: int | None = None) -> dict[str, Any]:
        """Rate and store one scope-period, moving its progress from
        ``expected``; raises StaleProgress or ProcessorError."""

    def rate_frames(self, begin: datetime.datetime,
                    end: datetime.datetime,
                    items: Sequence[ScopeFrame]) -> BatchReply:
        """Rate and store the frames of one period in bulk."""
