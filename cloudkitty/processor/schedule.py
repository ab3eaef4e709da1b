"""Which period of a scope is due (COMPAT §7.1).

A scope never rated starts at the beginning of the current month (UTC).
After that, the period following the last rated one is due once it has
ended and ``wait_periods`` more periods have passed, which leaves late
samples time to reach the metrics source.
"""
from __future__ import annotations

import datetime

from oslo_config import cfg

__all__ = ["month_start", "next_timestamp", "utcnow"]

UTC = datetime.timezone.utc


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def month_start(now: datetime.datetime) -> datetime.datetime:
    """Midnight UTC of the first day of ``now``'s month."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_timestamp(conf: cfg.ConfigOpts, last: datetime.datetime | None,
                   now: datetime.datetime | None = None,
                   ) -> datetime.datetime | None:
    """Start of the next period to rate after ``last`` (the start of the
    last rated period; None when the scope was never rated), or None when
    that period is not due yet."""
    now = now or utcnow()
    if last is None:
        return month_start(now)
    period = datetime.timedelta(seconds=conf.collect.period)
    candidate = last + period
    # Upstream's rule (strictly more than wait_periods periods after the
    # period's start), and never before the period has ended, which
    # upstream allows with wait_periods = 0.
    waited = candidate + conf.collect.wait_periods * period < now
    ended = candidate + period <= now
    return candidate if waited and ended else None
