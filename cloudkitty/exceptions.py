"""The one exception hierarchy of the project.

Domain, storage and configuration code raise these; they never raise HTTP
errors. ``cloudkitty.api.errors`` is the only place that turns them into
HTTP responses, using the ``http_status`` class attribute.
"""
from __future__ import annotations

from typing import Any


class CloudKittyError(Exception):
    """Root of every error this project raises on purpose."""

    #: HTTP status the API answers with when this error escapes a request.
    http_status: int = 500
    #: Message used when none is given.
    default_message: str = "An unexpected error occurred."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class InvalidInput(CloudKittyError):
    """The caller sent a value we cannot use; names the offending field."""

    http_status = 400
    default_message = "Invalid input."

    def __init__(self, message: str | None = None, field: str | None = None,
                 **details: Any) -> None:
        self.field = field
        if message is None and field is not None:
            message = f"Invalid value for field '{field}'."
        super().__init__(message, field=field, **details)


class NotFound(CloudKittyError):
    http_status = 404
    default_message = "Resource not found."


class Conflict(CloudKittyError):
    http_status = 409
    default_message = "Resource already exists."


class Forbidden(CloudKittyError):
    http_status = 403
    default_message = "You are not authorized to perform this action"


class MethodNotAllowed(CloudKittyError):
    http_status = 405
    default_message = "Method not allowed."


class ConfigError(CloudKittyError):
    """A configuration file or value cannot be used.

    ``str()`` gives one line naming the file, the section (or metric), the
    option (or key) and the reason, which is what the console scripts print
    before exiting non-zero.
    """

    def __init__(self, reason: str, *, file: str | None = None,
                 section: str | None = None,
                 option: str | None = None) -> None:
        self.reason = reason
        self.file = file
        self.section = section
        self.option = option
        where = []
        if file:
            where.append(f"file {file}")
        if section:
            where.append(f"section [{section}]")
        if option:
            where.append(f"option {option}")
        prefix = ", ".join(where)
        message = f"{prefix}: {reason}" if prefix else reason
        super().__init__(message)

    def lines(self) -> list[str]:
        """One line per problem, as the console scripts print them."""
        return [self.message]


class InvalidMetricsConfig(ConfigError):
    """metrics.yml is unreadable or does not validate."""


class InvalidMetricsConfigProblems(InvalidMetricsConfig):
    """Several problems in one metrics file, each its own message.

    ``file``, ``section``, ``option`` and ``reason`` are those of the first
    problem; :attr:`problems` holds them all.
    """

    def __init__(self, problems: list[InvalidMetricsConfig]) -> None:
        first = problems[0]
        super().__init__(first.reason, file=first.file,
                         section=first.section, option=first.option)
        self.problems = problems
        self.message = (f"{first.message} (and {len(problems) - 1} more "
                        "problems)")
        self.args = (self.message,)

    def lines(self) -> list[str]:
        return [problem.message for problem in self.problems]


class DataFrameError(InvalidInput):
    """A DataPoint or DataFrame was built from bad values."""


class StorageError(CloudKittyError):
    """The storage backend failed for a reason other than bad input."""

    http_status = 503
    default_message = "The storage backend is unavailable."


class DatabaseError(CloudKittyError):
    """The relational database failed or has an unexpected schema."""

    http_status = 503
    default_message = "The database is unavailable."


class RatingError(CloudKittyError):
    """A rating module could not price a frame; nothing is stored for that
    scope-period. The message names the module and the rule or script."""

    http_status = 500
    default_message = "Rating failed."


class CollectError(CloudKittyError):
    """A collector could not get a metric of a scope for a period (server
    down, timeout, 5xx, error answer, garbage). Nothing of that
    scope-period is handed on; it is retried next cycle."""

    http_status = 503
    default_message = "Collection failed."


class FetchError(CloudKittyError):
    """A fetcher could not list the scopes to rate."""

    http_status = 503
    default_message = "Scope discovery failed."


class NoDataCollected(CloudKittyError):
    """A collector found nothing for a metric in a period."""

    def __init__(self, collector: str, metric: str) -> None:
        self.collector = collector
        self.metric = metric
        super().__init__(f"Collector '{collector}' returned no data for "
                         f"metric '{metric}'.")


class StaleProgress(Conflict):
    """A scope-period was handed over for storage, but the scope's progress
    (state or reprocessing schedule) is no longer where the collector saw
    it (another worker, a reset or a retry moved it). Nothing was written."""

    default_message = "The scope's progress moved; the frame is stale."


class ProcessorError(CloudKittyError):
    """The processor could not hand a frame over or get it rated (RPC
    timeout, no rating worker, transport down)."""

    http_status = 503
    default_message = "The rating processor is unavailable."
