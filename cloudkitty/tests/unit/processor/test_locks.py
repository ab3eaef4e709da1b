"""Lock names and the coordinator on the ``file://`` backend (the other
backends run under tests/functional/test_locks.py)."""
from __future__ import annotations

import hashlib
import threading
import time

import pytest

from cloudkitty import exceptions
from cloudkitty.processor import locks


def test_scope_lock_name_is_upstreams() -> None:
    expected = hashlib.sha256(
        b"cloudkitty-p1-prometheus-keystone-project_id").hexdigest()
    assert locks.scope_lock_name("p1", "prometheus", "keystone",
                                 "project_id") == expected


def test_password_is_hidden_in_messages() -> None:
    assert locks._redact("redis://:s3cret@host:6379?x=1") == \
        "redis://:***@host:6379?x=1"
    assert locks._redact("file:///var/lib/locks") == "file:///var/lib/locks"


def exercise(url: str, make_conf) -> None:
    """Two coordinators on ``url`` exclude each other."""
    conf = make_conf({"orchestrator": {"coordination_url": url}})
    name = f"test-{time.monotonic_ns()}"
    with locks.Coordinator(conf) as one, locks.Coordinator(conf) as two:
        with one.try_lock(name) as taken:
            assert taken
            with two.try_lock(name) as again:
                assert not again
            with pytest.raises(exceptions.Conflict):
                with two.lock(name, timeout=0.3):
                    pass
        with two.try_lock(name) as taken:
            assert taken
        # A blocking lock waits for the holder to let go.
        released = threading.Event()

        def hold() -> None:
            with one.lock(name):
                released.wait(5)

        holder = threading.Thread(target=hold)
        holder.start()
        time.sleep(0.2)
        threading.Timer(0.3, released.set).start()
        started = time.monotonic()
        with two.lock(name, timeout=10):
            waited = time.monotonic() - started
        holder.join()
        assert waited >= 0.05


def test_file_backend(make_conf, tmp_path) -> None:
    exercise(f"file://{tmp_path}/new/locks", make_conf)
    assert (tmp_path / "new" / "locks").is_dir()


def test_unusable_backend_is_a_config_error(make_conf, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    conf = make_conf({"orchestrator": {
        "coordination_url": f"file://{blocker}/locks"}})
    with pytest.raises(exceptions.ConfigError) as info:
        locks.Coordinator(conf)
    assert info.value.option == "coordination_url"
    conf = make_conf({"orchestrator": {
        "coordination_url": "nosuchdriver://x"}})
    with pytest.raises(exceptions.ConfigError) as info:
        locks.Coordinator(conf)
    assert "nosuchdriver" in str(info.value)
