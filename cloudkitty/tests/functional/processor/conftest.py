"""Fixtures of the processor's end-to-end tests.

One private Prometheus holding :class:`History` (two days ending at the
current hour) serves the session; the price list is created once with
the real ``cloudkitty`` client against a real API on a template
PostgreSQL database, which every test clones. :class:`Rig` builds the
processors of a test around its clone.
"""
from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudkitty.db import api as db_api
from cloudkitty.tests import dbutil
from cloudkitty.tests.functional import prometheus_fixture as pf
from cloudkitty.tests.functional.api.conftest import running_api
from cloudkitty.tests.functional.processor import harness
from cloudkitty.tests.functional.processor.history import (
    HOUR,
    HOURS,
    METRICS_YML,
    PRICES,
    History,
    current_hour,
)

#: Projects most tests rate (the scale-out test rates all of them).
SCOPES_COUNT = 4


@pytest.fixture(scope="session")
def history() -> History:
    return History(current_hour() - HOURS * HOUR)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory,
               history: History) -> Iterator[pf.BackfilledPrometheus]:
    server = pf.BackfilledPrometheus(tmp_path_factory.mktemp("prom"),
                                     history.series())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclasses.dataclass(frozen=True)
class PricedTemplate:
    db_url: str
    #: ids of rules tests change (see ``harness.apply_prices``)
    ids: dict[str, str]


@pytest.fixture(scope="session")
def priced_template(tmp_path_factory: pytest.TempPathFactory,
                    history: History) -> Iterator[PricedTemplate]:
    """A migrated PostgreSQL database holding the hashmap rules of
    ``PRICES``, created with the client CLI through a real API.

    A mapping created without ``--start`` prices periods from its
    creation on, and the client cannot create one that starts in the past
    (the API wants ``force``, which the client never sends); the rules
    here must price the history, so their start is moved back before it
    — as if they had been created two days ago.
    """
    tmp = tmp_path_factory.mktemp("template")
    with dbutil.fresh_database("postgresql", str(tmp)) as url:
        with running_api(tmp, url, metrics_yml=METRICS_YML) as api:
            ids = harness.apply_prices(api, PRICES)
        harness.backdate_mappings(url, history.t0 - 24 * HOUR)
        db_api.dispose_engines()
        yield PricedTemplate(url, ids)


@pytest.fixture
def rated_db(priced_template: PricedTemplate) -> Iterator[str]:
    with harness.clone_database(priced_template.db_url) as url:
        yield url


class Rig:
    """What a test needs to run processors on its own database."""

    def __init__(self, tmp_path: Path, history: History, prom_url: str,
                 db_url: str, ids: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.history = history
        self.prom_url = prom_url
        self.db_url = db_url
        self.ids = ids
        self.scopes = history.projects[:SCOPES_COUNT]
        self.metrics = tmp_path / "metrics.yml"
        self.metrics.write_text(METRICS_YML)
        self.control_exchange = f"ck-test-{uuid.uuid4().hex[:10]}"
        self.processors: list[harness.Processor] = []

    @property
    def t0(self) -> datetime.datetime:
        return self.history.t0

    @property
    def end(self) -> datetime.datetime:
        return self.history.end

    def sections(self, transport_url: str, *,
                 coordination_url: str | None = None,
                 scopes: list[str] | None = None,
                 **overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
        sections: dict[str, dict[str, Any]] = {
            "DEFAULT": {"transport_url": transport_url,
                        "control_exchange": self.control_exchange},
            "database": {"connection": self.db_url},
            "storage": {"backend": "sqlalchemy"},
            "collect": {"collector": "prometheus", "period": 3600,
                        "wait_periods": 0, "scope_key": "project_id",
                        "metrics_conf": self.metrics},
            "collector_prometheus": {"prometheus_url": self.prom_url},
            "fetcher": {"backend": "source"},
            "fetcher_source": {
                "sources": ",".join(scopes or self.scopes)},
            "orchestrator": {
                "coordination_url": coordination_url
                or f"file://{self.tmp_path / 'locks'}",
                "max_workers": 1, "max_workers_rating": 1,
                "max_workers_reprocessing": 0, "max_threads": 4,
                "retry_interval": 2, "collector_request_timeout": 30},
        }
        for section, options in overrides.items():
            sections.setdefault(section, {}).update(options)
        return sections

    def processor(self, name: str, transport_url: str, *,
                  coordination_url: str | None = None,
                  scopes: list[str] | None = None,
                  **overrides: dict[str, Any]) -> harness.Processor:
        proc = harness.Processor(
            self.tmp_path / "processors", name,
            self.sections(transport_url, coordination_url=coordination_url,
                          scopes=scopes, **overrides))
        self.processors.append(proc)
        return proc

    def seed(self, proc: harness.Processor,
             scopes: list[str] | None = None) -> None:
        """Make the processor start rating at ``t0``."""
        harness.seed_states(proc.conf(), scopes or self.scopes,
                            self.t0 - HOUR)

    def cleanup(self) -> None:
        for proc in self.processors:
            proc.kill()
        db_api.dispose_engines()


@pytest.fixture
def rig(tmp_path: Path, history: History,
        prometheus: pf.BackfilledPrometheus, rated_db: str,
        priced_template: PricedTemplate) -> Iterator[Rig]:
    setup = Rig(tmp_path, history, prometheus.url, rated_db,
                priced_template.ids)
    try:
        yield setup
    finally:
        setup.cleanup()


@pytest.fixture
def rabbit_url() -> Iterator[str]:
    """A transport URL on the shared RabbitMQ, on a vhost of its own."""
    with harness.rabbit_vhost() as url:
        yield url


@pytest.fixture(params=["rabbit", "fake"])
def transport_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "fake":
        yield "fake://"
        return
    with harness.rabbit_vhost() as url:
        yield url
