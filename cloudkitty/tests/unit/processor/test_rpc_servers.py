"""How a worker process starts and stops its RPC servers
(``processor.service._Servers``): after its loops, retried while the
broker is unreachable, and never left running after a stop."""
from __future__ import annotations

import threading
import time

import pytest

from cloudkitty.processor import service


class _Server:
    """Stands in for an oslo.messaging server: counts its calls; its
    start fails ``failures`` times, or waits for ``gate`` if given."""

    def __init__(self, failures: int = 0,
                 gate: threading.Event | None = None) -> None:
        self.failures = failures
        self.gate = gate
        self.starts = 0
        self.running = False
        self.stops = 0

    def start(self) -> None:
        self.starts += 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        self.running = True

    def stop(self) -> None:
        self.running = False
        self.stops += 1

    def wait(self) -> None:
        """Nothing to wait for."""


@pytest.fixture
def fast_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service._Servers, "RETRY", 0.01)


def test_servers_start_in_order_and_stop_together(fast_retry: None) -> None:
    first, second = _Server(), _Server(failures=2)
    servers = service._Servers(first, second)
    servers.serve()
    assert (first.starts, second.starts) == (1, 3)
    assert first.running and second.running
    servers.stop()
    assert not first.running and not second.running
    assert (first.stops, second.stops) == (1, 1)


def test_stop_ends_the_retries(fast_retry: None) -> None:
    never = _Server(failures=10**6)
    servers = service._Servers(never)
    thread = threading.Thread(target=servers.serve)
    thread.start()
    servers.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert not never.running


def test_a_server_that_starts_after_the_stop_is_stopped() -> None:
    gate = threading.Event()
    slow = _Server(gate=gate)
    servers = service._Servers(slow)
    thread = threading.Thread(target=servers.serve)
    thread.start()
    while not slow.starts:
        threading.Event().wait(0.01)
    servers.stop()  # while start() is still connecting
    gate.set()
    thread.join(5)
    assert not thread.is_alive()
    assert slow.starts == 1 and slow.stops == 1 and not slow.running


class _Stuck(_Server):
    """A server whose broker went away: stopping it never returns."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def stop(self) -> None:
        self.stops += 1
        self.release.wait(30)


def test_a_server_that_never_stops_does_not_hold_the_stop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service._Servers, "STOP_TIMEOUT", 0.2)
    stuck, fine = _Stuck(), _Server()
    servers = service._Servers(stuck, fine)
    servers.serve()
    started = time.monotonic()
    servers.stop()
    assert time.monotonic() - started < 5
    assert stuck.stops == 1 and fine.stops == 1 and not fine.running
    stuck.release.set()
