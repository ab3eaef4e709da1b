"""The worker loop: cycles start one period apart whatever a cycle
takes, sooner after a failure, and a failing cycle is not fatal."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from cloudkitty.processor import loop as loop_mod


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class Recorder(threading.Event):
    """Records every wait and advances the fake clock instead of
    sleeping; sets itself after ``cycles`` waits."""

    def __init__(self, clock: FakeClock, cycles: int) -> None:
        super().__init__()
        self.clock = clock
        self.cycles = cycles
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        self.clock.now += timeout
        if len(self.waits) >= self.cycles:
            self.set()
        return self.is_set()


class Scripted(loop_mod.Loop):
    def __init__(self, conf: Any, clock: FakeClock,
                 outcomes: list[tuple[float, Any]]) -> None:
        super().__init__(conf)
        self.clock = clock
        self.outcomes = list(outcomes)

    def run_cycle(self) -> bool:
        took, result = self.outcomes.pop(0)
        self.clock.now += took
        if isinstance(result, Exception):
            raise result
        return bool(result)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(loop_mod.time, "monotonic", fake.monotonic)
    return fake


def test_cycles_start_one_period_apart(make_conf, clock) -> None:
    conf = make_conf({"collect": {"period": 600},
                      "orchestrator": {"retry_interval": 30}})
    worker = Scripted(conf, clock, [(120, True), (0.5, True),
                                    (900, True)])
    worker.stopping = Recorder(clock, 3)
    worker.run()
    # 600 s from one start to the next; a cycle longer than the period
    # is followed at once.
    assert worker.stopping.waits == [480, 599.5, 0.0]


def test_failed_cycles_are_retried_sooner_and_never_fatal(make_conf,
                                                          clock) -> None:
    conf = make_conf({"collect": {"period": 600},
                      "orchestrator": {"retry_interval": 30}})
    worker = Scripted(conf, clock, [(10, False), (5, RuntimeError("boom")),
                                    (1, True)])
    worker.stopping = Recorder(clock, 3)
    worker.run()
    assert worker.stopping.waits == [20, 25, 599]


def test_stop_ends_the_loop_before_the_next_cycle(make_conf, clock) -> None:
    conf = make_conf({"collect": {"period": 600}})
    worker = Scripted(conf, clock, [(1, True)])
    worker.stop()
    worker.run()
    assert worker.outcomes == [(1, True)]
