"""Quotes: price usage that was not collected, with global rules only."""
from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.rating import modules

__all__ = ["quote_total"]


def quote_total(conf: Any, usage: Mapping[str, Sequence[DataPoint]],
                now: datetime.datetime | None = None) -> decimal.Decimal:
    """Total price of ``usage`` (``{service: [points]}``) for one collect
    period from ``now``, rated by the enabled modules' quote step.

    A module that cannot price the usage raises :class:`InvalidInput`
    (the usage is what the caller sent).
    """
    start = now or datetime.datetime.now(datetime.timezone.utc)
    end = start + datetime.timedelta(seconds=conf.collect.period)
    frame = DataFrame(start, end, {k: list(v) for k, v in usage.items()})
    manager = modules.ModuleManager(conf)
    try:
        rated = modules.quote(frame, manager.load_enabled(None, start))
    except exceptions.RatingError as exc:
        raise exceptions.InvalidInput(exc.message,
                                      field="resources") from None
    return sum((point.price for _, point in rated.iterpoints()),
               decimal.Decimal(0))
