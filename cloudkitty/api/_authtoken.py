"""keystonemiddleware's auth_token with public paths, for the keystone
pipeline. Imported only by that pipeline (through
``cloudkitty.api.middleware:AuthTokenMiddleware.factory``)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import webob
from keystonemiddleware import auth_token

from cloudkitty.api import middleware

__all__ = ["AuthTokenMiddleware"]


class AuthTokenMiddleware(auth_token.AuthProtocol):
    """keystonemiddleware auth_token that lets public paths through.

    A request whose path, without its trailing slash, is one of
    ``public_routes`` needs no token; its identity headers are still
    stripped so they cannot be forged.
    """

    def __init__(self, app: middleware.WSGIApp, conf: dict[str, Any],
                 public_routes: Iterable[str]) -> None:
        self.public_routes = frozenset(middleware.normalise_path(p)
                                       for p in public_routes)
        super().__init__(app, conf)

    def process_request(self, request: webob.Request) -> Any:
        if middleware.normalise_path(request.path_info) in self.public_routes:
            request.remove_auth_headers()
            return None
        return super().process_request(request)

    @classmethod
    def factory(cls, global_conf: Mapping[str, Any],
                **local_conf: Any) -> middleware.Filter:
        """Paste filter factory; ``acl_public_routes`` is a comma-separated
        list of paths, the other options are keystonemiddleware's (they
        override ``[keystone_authtoken]``)."""
        conf = middleware.conf_from_paste(global_conf)
        routes = [p.strip() for p in
                  local_conf.pop("acl_public_routes", "").split(",")
                  if p.strip()]
        options: dict[str, Any] = dict(local_conf)
        options["oslo_config_config"] = conf
        return lambda app: cls(app, dict(options), routes)
