"""The pyscripts rating module: prices set by administrators' Python.

Scripts are stored through the v1 configuration API
(``/v1/rating/module_config/pyscripts/scripts``, admin only) and run on
every frame by :class:`PyScripts`: those active at the processing time,
one after the other, ordered by creation time (then by insertion order
for scripts created in the same instant). Each script receives the frame
left by the previous one; see :mod:`cloudkitty.rating.pyscripts.runner`
for what a script sees and how its result is checked.

Scripts are trusted code with the processor's privileges: never let
anyone but an administrator write one.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.db import api as db_api
from cloudkitty.rating import RatingProcessor
from cloudkitty.rating.pyscripts import db, runner

__all__ = ["PyScripts"]

LOG = log.getLogger(__name__)


def _naive_utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


class PyScripts(RatingProcessor):
    """Runs the scripts active at the time given to :meth:`reload_config`.

    Compiled code is kept per (script, checksum), so a reload only
    compiles scripts that are new or whose source changed.
    """

    module_name = "pyscripts"
    description = "PyScripts rating module."
    hot_config = True

    def __init__(self, conf: cfg.ConfigOpts, scope_id: str | None = None,
                 engine: sa.Engine | None = None) -> None:
        super().__init__(conf, scope_id=scope_id, engine=engine)
        self._scripts: tuple[runner.CompiledScript, ...] = ()
        self._compiled: dict[tuple[str, str], runner.CompiledScript] = {}

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db_api.get_engine(self.conf)
        return self._engine

    @property
    def scripts(self) -> tuple[runner.CompiledScript, ...]:
        """The scripts :meth:`process` runs, in order."""
        return self._scripts

    @classmethod
    def load_many(cls, conf: cfg.ConfigOpts, scope_ids: Sequence[str],
                  at: datetime.datetime,
                  engine: sa.Engine | None = None) -> dict[str, PyScripts]:
        """One instance per scope; scripts are the same for every scope,
        so they are read and compiled once and shared."""
        first: PyScripts | None = None
        loaded: dict[str, PyScripts] = {}
        for scope_id in scope_ids:
            if scope_id in loaded:
                continue
            processor = cls(conf, scope_id=scope_id, engine=engine)
            if first is None:
                processor.reload_config(at)
                first = processor
            else:
                processor._compiled = first._compiled
                processor._scripts = first._scripts
            loaded[scope_id] = processor
        return loaded

    def reload_config(self, at: datetime.datetime) -> None:
        """Load and compile the scripts active at ``at``.

        A script that does not compile raises RatingError (logged): the
        scope-period must fail rather than be priced without it.
        """
        compiled: dict[tuple[str, str], runner.CompiledScript] = {}
        for script in db.active_scripts(self.engine, _naive_utc(at)):
            key = (script.script_id, script.checksum)
            code = self._compiled.get(key)
            if code is None:
                try:
                    code = runner.compile_script(
                        script.script_id, script.name, script.data,
                        script.checksum)
                except exceptions.RatingError as exc:
                    LOG.error("%s", exc.message)
                    raise
            compiled[key] = code
        self._compiled = compiled
        self._scripts = tuple(compiled.values())

    def process(self, frame: DataFrame) -> DataFrame:
        """Run the loaded scripts on ``frame``.

        Raises RatingError naming the first failing script (logged once,
        with the script's traceback when it raised); ``frame`` is left as
        it was and nothing of the other scripts' work is returned.
        """
        if not self._scripts:
            return frame
        try:
            return runner.run_scripts(self._scripts, frame)
        except exceptions.RatingError as exc:
            LOG.error("%s (scope %s, period %s - %s)", exc.message,
                      self.scope_id, frame.start.isoformat(),
                      frame.end.isoformat(), exc_info=exc.__cause__)
            raise
