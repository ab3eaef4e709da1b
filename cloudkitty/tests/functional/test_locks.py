"""The scope locks on the tooz backends processors share across hosts:
Redis and etcd (real servers started by tools/services.sh)."""
from __future__ import annotations

import os
import socket

from cloudkitty.tests import services
from cloudkitty.tests.unit.processor.test_locks import exercise


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@services.needs(_listening(6379), "Redis is not running")
def test_redis_backend(make_conf) -> None:
    exercise(os.environ.get("CLOUDKITTY_TEST_REDIS_URL",
                            "redis://127.0.0.1:6379"), make_conf)


@services.needs(_listening(2379), "etcd is not running")
def test_etcd_backend(make_conf) -> None:
    exercise(os.environ.get("CLOUDKITTY_TEST_ETCD_URL",
                            "etcd3+http://127.0.0.1:2379"), make_conf)
