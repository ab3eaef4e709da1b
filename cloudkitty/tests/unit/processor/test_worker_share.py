"""How the workers the configuration asks for are shared out between the
worker processes."""
from __future__ import annotations

from typing import Any

import pytest

from cloudkitty.processor.service import Share, share_of


def shares(make_conf: Any, processes: int, collectors: int, rating: int,
           reprocessors: int) -> list[Share]:
    conf = make_conf({"orchestrator": {
        "worker_processes": processes, "max_workers": collectors,
        "max_workers_rating": rating,
        "max_workers_reprocessing": reprocessors}})
    return [share_of(conf, index) for index in range(processes)]


def test_one_process_hosts_every_worker(make_conf: Any) -> None:
    assert shares(make_conf, 1, 2, 2, 2) == [Share(2, 2, 2)]


@pytest.mark.parametrize("processes,counts", [
    (2, (4, 4, 2)), (3, (4, 2, 1)), (4, (2, 8, 0)), (3, (0, 3, 5))])
def test_workers_are_spread_evenly_and_none_is_lost(
        make_conf: Any, processes: int, counts: tuple[int, int, int]
        ) -> None:
    collectors, rating, reprocessors = counts
    got = shares(make_conf, processes, collectors, rating, reprocessors)
    assert sum(s.collectors for s in got) == collectors
    assert sum(s.reprocessors for s in got) == reprocessors
    for field in ("collectors", "reprocessors"):
        values = [getattr(s, field) for s in got]
        assert max(values) - min(values) <= 1, (field, got)
    assert sum(s.rating for s in got) >= rating


def test_a_process_that_collects_rates_its_own_frames(make_conf: Any
                                                      ) -> None:
    # One rating worker for three processes: each process that collects
    # still gets one, so none of them sends its frames over the bus.
    got = shares(make_conf, 3, 3, 1, 0)
    assert [s.rating for s in got] == [1, 1, 1]


def test_without_rating_workers_frames_go_elsewhere(make_conf: Any
                                                    ) -> None:
    assert shares(make_conf, 2, 2, 0, 0) == [Share(1, 0, 0),
                                             Share(1, 0, 0)]
