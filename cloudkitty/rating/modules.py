"""The rating module manager: which modules exist, which run, in what order.

Installed modules are the classes of the ``cloudkitty.rating.processors``
entry point group; listing them imports the classes but creates no
instance. Their enabled flag and priority live in the ``modules_state``
table (one row per module, created on first change):

* enabled: the row's ``state``; ``False`` without a row;
* priority: the row's ``priority``; 1 without a row, and NULL or 0 (which
  old releases could store) also read as 1. Higher runs first.

A module whose class sets ``always_enabled`` (noop) is reported enabled with
priority 1 whatever the table says. Asking to disable it or to change its
priority is refused with :class:`~cloudkitty.exceptions.Conflict`; a
request that keeps those values is accepted and writes nothing.

Rating a frame (``at`` is the processing time the modules select their
active rules with)::

    manager = ModuleManager(conf)
    processors = manager.load_enabled(scope_id, at)
    frame = rate(frame, processors)

A batch of scopes rated for the same period loads with
``manager.load_enabled_many(scope_ids, at)`` (``{scope_id: processors}``):
one read of the module states and, per module, one read of the rules of
all those scopes.

Loading reads ``modules_state`` and each module's rules again, so a caller
that loads per scope-period sees changes without being notified.
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log
from stevedore import extension

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.db import api as db_api
from cloudkitty.db.models.core import ModuleState
from cloudkitty.rating import RatingProcessor

LOG = log.getLogger(__name__)

__all__ = ["DEFAULT_PRIORITY", "MAX_PRIORITY", "NAMESPACE", "ModuleInfo",
           "ModuleManager", "installed_processors", "quote", "rate",
           "run_order"]

NAMESPACE = "cloudkitty.rating.processors"
DEFAULT_PRIORITY = 1
#: ``modules_state.priority`` is a 32-bit SQL integer on every backend.
MAX_PRIORITY = 2**31 - 1

ProcessorClasses = Mapping[str, type[RatingProcessor]]


@dataclasses.dataclass(frozen=True)
class ModuleInfo:
    """What the API shows of a rating module."""

    module_id: str
    description: str
    enabled: bool
    hot_config: bool
    priority: int


def _load_failed(_manager: object, entry_point: object,
                 exc: BaseException) -> None:
    # One broken plugin must not hide the others; it is simply not
    # installed as far as the API and the processor are concerned.
    LOG.error("Rating module %s cannot be loaded: %s", entry_point, exc)


@functools.cache
def installed_processors(namespace: str = NAMESPACE) -> ProcessorClasses:
    """The rating module classes of ``namespace``, by entry point name.

    Loaded once per process. Entry points that fail to import, or that do
    not name a :class:`RatingProcessor` subclass, are logged and left out.
    """
    manager: extension.ExtensionManager = extension.ExtensionManager(
        namespace, invoke_on_load=False,
        on_load_failure_callback=_load_failed)
    classes: dict[str, type[RatingProcessor]] = {}
    for ext in manager:
        plugin = ext.plugin
        if not (isinstance(plugin, type)
                and issubclass(plugin, RatingProcessor)):
            LOG.error("Rating module %s is not a RatingProcessor: %r",
                      ext.name, plugin)
            continue
        classes[ext.name] = plugin
    return dict(sorted(classes.items()))


def run_order(modules: Iterable[ModuleInfo]) -> list[ModuleInfo]:
    """``modules`` in the order they rate: descending priority, then by
    name so equal priorities always run in the same order."""
    return sorted(modules, key=lambda m: (-m.priority, m.module_id))


def _check_priority(priority: object) -> int:
    # bool is an int in Python; JSON ``true`` is not a priority.
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise exceptions.InvalidInput(
            "'priority' must be an integer.", field="priority")
    if not DEFAULT_PRIORITY <= priority <= MAX_PRIORITY:
        raise exceptions.InvalidInput(
            f"'priority' must be between {DEFAULT_PRIORITY} and "
            f"{MAX_PRIORITY}, not {priority}.", field="priority")
    return priority


class ModuleManager:
    """Rating modules and their state in ``modules_state``.

    ``processors`` replaces the installed classes (an embedding program or
    a test choosing its own set); ``engine`` defaults to the engine of
    ``[database] connection``.
    """

    def __init__(self, conf: cfg.ConfigOpts,
                 engine: sa.Engine | None = None,
                 processors: ProcessorClasses | None = None) -> None:
        self.conf = conf
        self._engine = engine
        self._classes: ProcessorClasses = dict(sorted(
            (processors if processors is not None
             else installed_processors()).items()))

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db_api.get_engine(self.conf)
        return self._engine

    # -- reading --------------------------------------------------------

    def _class(self, module_id: str) -> type[RatingProcessor]:
        try:
            return self._classes[module_id]
        except KeyError:
            raise exceptions.NotFound(
                f"Module '{module_id}' not found", module_id=module_id
            ) from None

    def _states(self, names: Sequence[str]
                ) -> dict[str, tuple[bool, int | None]]:
        query = sa.select(ModuleState.name, ModuleState.state,
                          ModuleState.priority).where(
            ModuleState.name.in_(names))
        with self.engine.connect() as connection:
            return {row.name: (bool(row.state), row.priority)
                    for row in connection.execute(query)}

    def _info(self, module_id: str,
              state: tuple[bool, int | None] | None) -> ModuleInfo:
        cls = self._classes[module_id]
        if cls.always_enabled:
            enabled, priority = True, DEFAULT_PRIORITY
        elif state is None:
            enabled, priority = False, DEFAULT_PRIORITY
        else:
            enabled, priority = state[0], state[1] or DEFAULT_PRIORITY
        return ModuleInfo(module_id=module_id,
                          description=cls.description,
                          enabled=enabled,
                          hot_config=bool(cls.hot_config),
                          priority=priority)

    def list_modules(self) -> list[ModuleInfo]:
        """Every installed module, enabled or not, by name."""
        names = list(self._classes)
        states = self._states(names) if names else {}
        return [self._info(name, states.get(name)) for name in names]

    def get_module(self, module_id: str) -> ModuleInfo:
        """One module; :class:`~cloudkitty.exceptions.NotFound` if it is
        not installed."""
        self._class(module_id)
        return self._info(module_id, self._states([module_id]).get(
            module_id))

    def enabled_modules(self) -> list[ModuleInfo]:
        """The enabled modules in the order they rate."""
        return run_order(m for m in self.list_modules() if m.enabled)

    # -- writing --------------------------------------------------------

    def update(self, module_id: str, *, enabled: bool | None = None,
               priority: int | None = None) -> ModuleInfo:
        """Change what is given (``None`` keeps the current value) and
        return the module as it now is.

        Raises NotFound for an unknown module, InvalidInput (field
        ``enabled`` or ``priority``) for a bad value, Conflict when asked
        to disable an always-enabled module or change its priority.
        """
        cls = self._class(module_id)
        if enabled is not None and not isinstance(enabled, bool):
            raise exceptions.InvalidInput("'enabled' must be a boolean.",
                                          field="enabled")
        if priority is not None:
            priority = _check_priority(priority)
        if cls.always_enabled:
            return self._keep_fixed(module_id, enabled, priority)
        if enabled is None and priority is None:
            return self.get_module(module_id)
        self._write(module_id, enabled, priority)
        return self.get_module(module_id)

    def set_enabled(self, module_id: str, enabled: bool) -> ModuleInfo:
        """Enable or disable a module."""
        return self.update(module_id, enabled=enabled)

    def set_priority(self, module_id: str, priority: int) -> ModuleInfo:
        """Set a module's priority (1 or more; higher runs first)."""
        return self.update(module_id, priority=priority)

    def _keep_fixed(self, module_id: str, enabled: bool | None,
                    priority: int | None) -> ModuleInfo:
        if enabled is False:
            raise exceptions.Conflict(
                f"Module '{module_id}' is always enabled and cannot be "
                f"disabled.", field="enabled")
        if priority is not None and priority != DEFAULT_PRIORITY:
            raise exceptions.Conflict(
                f"Module '{module_id}' always runs with priority "
                f"{DEFAULT_PRIORITY}; its priority cannot be changed.",
                field="priority")
        return self.get_module(module_id)

    def _write(self, module_id: str, enabled: bool | None,
               priority: int | None) -> None:
        values: dict[str, object] = {}
        if enabled is not None:
            values["state"] = enabled
        if priority is not None:
            values["priority"] = priority
        for attempt in (1, 2):
            try:
                with self.engine.begin() as connection:
                    updated = connection.execute(
                        sa.update(ModuleState)
                        .where(ModuleState.name == module_id)
                        .values(**values)).rowcount
                    if not updated:
                        connection.execute(sa.insert(ModuleState).values(
                            name=module_id,
                            state=values.get("state", False),
                            priority=values.get("priority",
                                                DEFAULT_PRIORITY)))
                return
            except sa.exc.IntegrityError:
                # Another request created the row between our UPDATE and
                # INSERT; the second attempt updates it.
                if attempt == 2:
                    raise

    # -- running --------------------------------------------------------

    def load_enabled(self, scope_id: str | None,
                     at: datetime.datetime) -> list[RatingProcessor]:
        """New instances of the enabled modules for ``scope_id`` (``None``
        for quotes: global rules only), in run order, each with the rules
        active at ``at`` loaded."""
        processors = []
        for info in self.enabled_modules():
            processor = self._classes[info.module_id](
                self.conf, scope_id=scope_id, engine=self.engine)
            processor.reload_config(at)
            processors.append(processor)
        return processors

    def load_enabled_many(self, scope_ids: Sequence[str],
                          at: datetime.datetime
                          ) -> dict[str, list[RatingProcessor]]:
        """:meth:`load_enabled` for each of ``scope_ids``: the module
        states are read once and each module loads the rules of all the
        scopes together (:meth:`RatingProcessor.load_many`), so a batch
        of scopes costs a few queries instead of a few per scope. The
        processors price exactly as those :meth:`load_enabled` returns.

        Raises what loading raises (for any scope: the whole batch).
        """
        wanted = list(dict.fromkeys(scope_ids))
        loaded: dict[str, list[RatingProcessor]] = {
            scope_id: [] for scope_id in wanted}
        if not wanted:
            return loaded
        for info in self.enabled_modules():
            by_scope = self._classes[info.module_id].load_many(
                self.conf, wanted, at, engine=self.engine)
            for scope_id in wanted:
                loaded[scope_id].append(by_scope[scope_id])
        return loaded


def rate(frame: DataFrame, processors: Iterable[RatingProcessor]
         ) -> DataFrame:
    """Run ``processors`` in turn, each on the previous one's output."""
    for processor in processors:
        frame = processor.process(frame)
    return frame


def quote(frame: DataFrame, processors: Iterable[RatingProcessor]
          ) -> DataFrame:
    """:func:`rate` for a quote (each module's ``quote``)."""
    for processor in processors:
        frame = processor.quote(frame)
    return frame
