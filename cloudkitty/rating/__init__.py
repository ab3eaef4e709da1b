"""Rating modules: what turns collected quantities into prices.

A rating module (processor) is a :class:`RatingProcessor` subclass exposed
through the ``cloudkitty.rating.processors`` entry point group. The module
manager (``cloudkitty.rating.modules``) keeps their enabled flag and
priority in the ``modules_state`` table and runs the enabled ones in
descending priority, each receiving the frame the previous one returned.

Modules never import the API: their configuration controllers live under
``cloudkitty.api.v1.controllers``.
"""
from __future__ import annotations

import abc
import datetime
from collections.abc import Mapping, Sequence
from typing import ClassVar

import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty.dataframe import DataFrame

__all__ = ["RatingProcessor"]


class RatingProcessor(abc.ABC):
    """Base of every rating module.

    An instance prices the frames of one scope (``scope_id``; ``None`` for
    quotes, which only use global rules). Its rules are those active at the
    time given to :meth:`reload_config`, which is called before the first
    :meth:`process` and whenever the processing time moves.
    """

    #: Name of the entry point and of the ``modules_state`` row.
    module_name: ClassVar[str]
    #: One-line description shown by ``GET /v1/rating/modules``.
    description: ClassVar[str]
    #: Whether rule changes apply without a restart (shown as
    #: ``hot-config`` / ``hot_config``).
    hot_config: ClassVar[bool] = False
    #: A module that cannot be disabled (noop).
    always_enabled: ClassVar[bool] = False

    def __init__(self, conf: cfg.ConfigOpts, scope_id: str | None = None,
                 engine: sa.Engine | None = None) -> None:
        self.conf = conf
        self.scope_id = scope_id
        self._engine = engine

    @classmethod
    def load_many(cls, conf: cfg.ConfigOpts, scope_ids: Sequence[str],
                  at: datetime.datetime,
                  engine: sa.Engine | None = None
                  ) -> Mapping[str, RatingProcessor]:
        """One instance per scope of ``scope_ids``, each with the rules
        active at ``at`` loaded: what ``cls(conf, scope_id, engine)``
        followed by :meth:`reload_config` gives for each scope.

        This default does exactly that, scope by scope; a module that can
        read the rules of many scopes at once overrides it (hashmap,
        pyscripts). Raises what :meth:`reload_config` raises.
        """
        loaded: dict[str, RatingProcessor] = {}
        for scope_id in scope_ids:
            if scope_id not in loaded:
                processor = cls(conf, scope_id=scope_id, engine=engine)
                processor.reload_config(at)
                loaded[scope_id] = processor
        return loaded

    @abc.abstractmethod
    def reload_config(self, at: datetime.datetime) -> None:
        """Load the rules active at ``at`` (aware or naive UTC)."""

    @abc.abstractmethod
    def process(self, frame: DataFrame) -> DataFrame:
        """Return ``frame`` with this module's prices applied.

        Raises a :class:`cloudkitty.exceptions.CloudKittyError` subclass
        when the frame cannot be priced; the caller then stores nothing for
        that scope-period.
        """

    def quote(self, frame: DataFrame) -> DataFrame:
        """Price a frame submitted for a quote (global rules only)."""
        return self.process(frame)
