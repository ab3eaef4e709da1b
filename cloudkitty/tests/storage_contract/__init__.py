"""The v2 storage contract (:mod:`cloudkitty.storage.v2.base`) as tests,
written once against the :class:`BaseStorage` API and run unchanged on
every backend.

A test module runs the suite by importing everything from here and
defining a ``backend_kind`` fixture whose parameters are keys of
:data:`OPENERS` (``tests/unit/test_storage_contract.py``: SQLite and the
in-memory reference model; ``tests/functional/test_storage_contract.py``:
PostgreSQL, MariaDB and InfluxDB). Each test gets an initialised, empty
backend (fixture ``storage``) and its configuration (``conf``), whose
``[database]`` holds the scope states; SQL databases are migrated once per
test process and emptied between tests (:class:`DatabasePool`).

Observations go through the API only (a row count is ``retrieve()``'s
total), so nothing here knows how a backend stores points.
:class:`MemoryStorage` is the contract in plain Python: it runs the suite
too (which keeps the suite free of SQL assumptions and exercises the base
class's default units of work, as a backend without transactions uses
them) and is the reference the summary shapes are compared with.
"""
from cloudkitty.tests.storage_contract import (
    _data,
    backends,
    model,
    reads,
    summaries,
    writes,
)
from cloudkitty.tests.storage_contract._data import *  # noqa: F403
from cloudkitty.tests.storage_contract.backends import *  # noqa: F403
from cloudkitty.tests.storage_contract.model import *  # noqa: F403
from cloudkitty.tests.storage_contract.reads import *  # noqa: F403
from cloudkitty.tests.storage_contract.summaries import *  # noqa: F403
from cloudkitty.tests.storage_contract.writes import *  # noqa: F403

__all__ = [*_data.__all__, *backends.__all__, *model.__all__, *reads.__all__,
           *summaries.__all__, *writes.__all__]
