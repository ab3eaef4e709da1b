"""HashMap rating module: prices from services, fields, groups, mappings
and thresholds.

The arithmetic lives in :mod:`cloudkitty.rating.hash.pricing` (standard
library only), the rule loading in :mod:`cloudkitty.rating.hash.rules`; this
class ties them to the processor interface. Its configuration API is
``cloudkitty.api.v1.controllers.hashmap``.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.db import api as db_api
from cloudkitty.rating import RatingProcessor
from cloudkitty.rating.hash import rules
from cloudkitty.rating.hash.pricing import Pricer

__all__ = ["HashMap"]


class HashMap(RatingProcessor):
    """Prices points with the hashmap rules of one scope.

    A scope's own rules (``tenant_id`` = scope id) override global rules
    with the same key in the same group; quotes (``scope_id`` None) use the
    global rules only.
    """

    module_name = "hashmap"
    description = "HashMap rating module."
    hot_config = True

    _pricer: Pricer | None = None
    _loaded_at: datetime.datetime | None = None

    @classmethod
    def load_many(cls, conf: cfg.ConfigOpts, scope_ids: Sequence[str],
                  at: datetime.datetime,
                  engine: sa.Engine | None = None) -> dict[str, HashMap]:
        """One instance per scope with the rules active at ``at``, read
        for all scopes at once; scopes without rules of their own share
        one compiled :class:`Pricer`."""
        engine = engine or db_api.get_engine(conf)
        try:
            rule_sets = rules.load_rules_many(engine, scope_ids, at)
        except sa.exc.SQLAlchemyError as err:
            raise exceptions.DatabaseError(
                f"hashmap: cannot load the rules of {len(scope_ids)} "
                f"scopes: {err.__class__.__name__}") from err
        loaded_at = rules.naive_utc(at)
        pricers: dict[int, Pricer] = {}
        loaded: dict[str, HashMap] = {}
        for scope_id, rule_set in rule_sets.items():
            pricer = pricers.get(id(rule_set))
            if pricer is None:
                pricer = pricers[id(rule_set)] = Pricer(rule_set)
            processor = cls(conf, scope_id=scope_id, engine=engine)
            processor._pricer = pricer
            processor._loaded_at = loaded_at
            loaded[scope_id] = processor
        return loaded

    def reload_config(self, at: datetime.datetime) -> None:
        """Load the rules active at ``at`` (aware, or naive UTC)."""
        engine = self._engine or db_api.get_engine(self.conf)
        try:
            rule_set = rules.load_rules(engine, self.scope_id, at)
        except sa.exc.SQLAlchemyError as err:
            raise exceptions.DatabaseError(
                f"hashmap: cannot load the rules of scope "
                f"{self.scope_id!r}: {err.__class__.__name__}") from err
        self._pricer = Pricer(rule_set)
        self._loaded_at = rules.naive_utc(at)

    @property
    def loaded_at(self) -> datetime.datetime | None:
        """Processing time of the loaded rules (naive UTC), if any."""
        return self._loaded_at

    def process(self, frame: DataFrame) -> DataFrame:
        """Add the hashmap price of every point to its price.

        Points whose metric type has no hashmap service keep their price.
        Rules are loaded at the frame's start if :meth:`reload_config` was
        never called.
        """
        if self._pricer is None:
            self.reload_config(frame.start)
        assert self._pricer is not None
        return self._pricer.price_frame(frame)
