"""Root of API v1 (``/v1``).

To add a resource, write ``controllers/<resource>.py`` (a
``pecan.rest.RestController`` whose methods use
:func:`cloudkitty.api.v1.expose.wsexpose`, WSME types in
``datamodels/<resource>.py``) and mount it below as a class attribute.
"""
from __future__ import annotations

import inspect
from typing import Any

import pecan
from pecan import rest

from cloudkitty.api.v1.controllers import collector as collector_api
from cloudkitty.api.v1.controllers import info as info_api
from cloudkitty.api.v1.controllers import rating as rating_api
from cloudkitty.api.v1.controllers import report as report_api
from cloudkitty.api.v1.controllers import storage as storage_api


class V1Controller(rest.RestController):
    """``/v1`` itself answers 405; its children are the resources."""

    collector = collector_api.CollectorController()
    info = info_api.InfoController()
    rating = rating_api.RatingController()
    #: Historical name of /v1/rating, still used by clients.
    billing = rating
    report = report_api.ReportController()
    storage = storage_api.StorageController()

    @pecan.expose()
    def _route(self, args: list[str], request: Any = None) -> Any:
        # RestController answers 405 for a path segment it does not know;
        # an unknown resource is a 404.
        name = next((a for a in args if a), None)
        if name is not None:
            child = getattr(self, name, None)
            if child is None or inspect.isroutine(child):
                pecan.abort(404)
        return super()._route(args, request)
