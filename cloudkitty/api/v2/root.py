"""Root of API v2 (``/v2``).

To add a resource, write a module in this package with a
:class:`cloudkitty.api.v2.base.Resource` subclass and mount an instance
below as a class attribute named like its path segment (nested paths such
as ``/v2/task/reprocesses`` mount a plain object holding the resource),
then describe it in ``openapi.yaml`` (a test compares the two).
"""
from __future__ import annotations

import pecan

from cloudkitty.api.v2 import dataframes as dataframes_api
from cloudkitty.api.v2 import openapi
from cloudkitty.api.v2 import rating as rating_api
from cloudkitty.api.v2 import scope as scope_api
from cloudkitty.api.v2 import summary as summary_api
from cloudkitty.api.v2 import task as task_api


class V2Controller:
    """``/v2``; unknown paths answer 404 ``{"message": ...}``."""

    dataframes = dataframes_api.DataFramesResource()
    rating = rating_api.RatingResources()
    scope = scope_api.ScopeResource()
    summary = summary_api.SummaryResource()
    task = task_api.TaskResources()


# A path segment with a dot cannot be an attribute name.
pecan.route(V2Controller, "openapi.json", openapi.OpenAPIDocument())
